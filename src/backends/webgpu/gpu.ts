/**
 * The slice of the WebGPU API this backend uses (minimal local interfaces, so neither the DOM lib
 * nor @webgpu/types is needed), and device acquisition: `navigator.gpu` in browsers and Deno, the
 * `webgpu` package (Dawn) in Node, loaded on demand. Failure modes raise errors that say what to
 * install or do.
 */

/** Buffer usage flags (the values of `GPUBufferUsage`). */
export const BufferUsage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;
/** `GPUMapMode.READ`. */
export const MAP_READ = 0x1;

/** A device buffer. */
export interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
/** A compute pipeline. */
export interface GpuComputePipeline {
  getBindGroupLayout(index: number): unknown;
}
/** A compute pass. */
export interface GpuComputePass {
  setPipeline(p: GpuComputePipeline): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
/** A command encoder. */
export interface GpuCommandEncoder {
  beginComputePass(): GpuComputePass;
  copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void;
  finish(): unknown;
}
/** The device queue. */
export interface GpuQueue {
  submit(buffers: readonly unknown[]): void;
  writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferView): void;
  onSubmittedWorkDone(): Promise<void>;
}
/** A compilation message of a shader module. */
export interface GpuCompilationMessage {
  readonly type: string;
  readonly message: string;
  readonly lineNum: number;
}
/** A logical device. */
export interface GpuDevice {
  readonly limits: Readonly<Record<string, number>>;
  readonly queue: GpuQueue;
  readonly lost: Promise<{ readonly reason: string; readonly message: string }>;
  createBuffer(desc: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer;
  createShaderModule(desc: { code: string }): { getCompilationInfo?(): Promise<{ messages: readonly GpuCompilationMessage[] }> };
  createComputePipeline(desc: { layout: "auto"; compute: { module: unknown; entryPoint: string } }): GpuComputePipeline;
  createBindGroup(desc: { layout: unknown; entries: readonly { binding: number; resource: { buffer: GpuBuffer; offset?: number; size?: number } }[] }): unknown;
  createCommandEncoder(): GpuCommandEncoder;
  pushErrorScope(filter: "validation" | "out-of-memory" | "internal"): void;
  popErrorScope(): Promise<{ readonly message: string } | null>;
  destroy(): void;
}
/** An adapter. */
export interface GpuAdapter {
  readonly limits: Readonly<Record<string, number>>;
  readonly features: ReadonlySet<string>;
  requestDevice(desc?: { requiredLimits?: Record<string, number>; requiredFeatures?: string[] }): Promise<GpuDevice>;
}
/** `navigator.gpu`. */
export interface Gpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapter | null>;
}

/** The limits this backend adapts to. */
export interface GpuLimits {
  /** Invocations per workgroup used for 1-D kernels (≤ the device's maximum, ≤ 256). */
  readonly workgroupSize: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxComputeWorkgroupStorageSize: number;
  /** Byte alignment of a storage binding's offset (chunked kernels bind parts of a buffer). */
  readonly minStorageBufferOffsetAlignment: number;
}

/** An acquired device with its limits. */
export interface GpuContext {
  /** The GPU object the adapter came from (held so it is never collected before the device). */
  readonly gpu: Gpu;
  readonly device: GpuDevice;
  readonly limits: GpuLimits;
  readonly features: readonly string[];
  /** Whether the device has `shader-f16` (float16 tensors are then stored as f16). */
  readonly f16: boolean;
  /** Set when the device is lost: the reason, reported by the next call. */
  lostReason: string | undefined;
}

const INSTALL_HELP =
  "No WebGPU adapter found. In a browser, use one with WebGPU enabled (Chrome/Edge ≥ 113, or a flag). " +
  "In Node, install the Dawn binding with `npm i webgpu` and a Vulkan driver (on Debian/Ubuntu without a GPU: " +
  "`apt-get install -t bookworm-backports mesa-vulkan-drivers` for lavapipe, then set " +
  "VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json). See docs/webgpu.md.";

async function findGpu(): Promise<Gpu> {
  const nav = (globalThis as { navigator?: { gpu?: Gpu } }).navigator;
  if (nav?.gpu) return nav.gpu;
  let mod: { create(flags: string[]): Gpu; globals?: object };
  try {
    const name = "webgpu";
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch (e) {
    throw new Error(`${INSTALL_HELP} (loading the "webgpu" package failed: ${(e as Error).message})`);
  }
  if (mod.globals) {
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
  }
  // Keep the Dawn instance reachable: when it is garbage collected, devices made from it crash
  // the process (segfaults or "std::system_error" aborts) at the next dispatch.
  dawnInstance ??= mod.create([]);
  return dawnInstance;
}

let dawnInstance: Gpu | undefined;

/** Requests an adapter and a device, raising the limits this backend benefits from. */
export async function acquireDevice(): Promise<GpuContext> {
  const gpu = await findGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error(INSTALL_HELP);
  const al = adapter.limits;
  const want = [
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxStorageBuffersPerShaderStage",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
    "maxComputeWorkgroupStorageSize",
    "minStorageBufferOffsetAlignment",
  ];
  const requiredLimits: Record<string, number> = {};
  for (const k of want) if (typeof al[k] === "number") requiredLimits[k] = al[k];
  // float16 tensors use f16 storage where the adapter supports it (else they are f32).
  const f16 = adapter.features.has("shader-f16");
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: f16 ? ["shader-f16"] : [] });
  const dl = device.limits;
  const num = (k: string, d: number): number => (typeof dl[k] === "number" ? dl[k] : d);
  const limits: GpuLimits = {
    workgroupSize: Math.min(256, num("maxComputeInvocationsPerWorkgroup", 256), num("maxComputeWorkgroupSizeX", 256)),
    maxStorageBufferBindingSize: num("maxStorageBufferBindingSize", 128 << 20),
    maxBufferSize: num("maxBufferSize", 256 << 20),
    maxStorageBuffersPerShaderStage: num("maxStorageBuffersPerShaderStage", 8),
    maxComputeWorkgroupsPerDimension: num("maxComputeWorkgroupsPerDimension", 65535),
    maxComputeWorkgroupStorageSize: num("maxComputeWorkgroupStorageSize", 16384),
    minStorageBufferOffsetAlignment: num("minStorageBufferOffsetAlignment", 256),
  };
  const ctx: GpuContext = { gpu, device, limits, features: [...adapter.features], f16, lostReason: undefined };
  void device.lost.then((info) => {
    ctx.lostReason = `${info.reason || "unknown"}: ${info.message}`;
  });
  return ctx;
}

/** Throws the device-lost error when the device is gone. */
export function checkAlive(ctx: GpuContext): void {
  if (ctx.lostReason !== undefined) {
    throw new Error(`WebGPU device lost (${ctx.lostReason}). Tensors on it are gone; call await setBackend("webgpu") to create a new device.`);
  }
}
