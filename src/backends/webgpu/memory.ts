/**
 * Device memory of the WebGPU backend: a pool of storage buffers reused by size class, device
 * handles that return their buffer to the pool on `free()`, a FinalizationRegistry that frees the
 * buffers of tensors the user dropped, uploads and async readback.
 */
import type { DType, TypedArray } from "../../core/dtype.js";
import type { DeviceHandle, Storage } from "../../core/node.js";
import { anchorOf } from "../../core/node.js";
import type { GpuBuffer, GpuContext } from "./gpu.js";
import { BufferUsage, MAP_READ, checkAlive } from "./gpu.js";
import { checkBudget, memoryBudget } from "../../core/memory.js";

const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
/** Pooled bytes kept for reuse at most (more is destroyed). */
const POOL_CAP_BYTES = 256 << 20;

/** Counters for tests and diagnostics. */
export interface MemoryStats {
  /** Bytes in live (handed out) buffers. */
  liveBytes: number;
  /** Number of live buffers. */
  liveBuffers: number;
  /** Bytes idle in the pool. */
  pooledBytes: number;
  /** Buffers created since the device was acquired. */
  created: number;
}

/** A pool of storage buffers keyed by size class. */
export class BufferPool {
  readonly stats: MemoryStats = { liveBytes: 0, liveBuffers: 0, pooledBytes: 0, created: 0 };
  readonly #free = new Map<number, GpuBuffer[]>();

  constructor(readonly ctx: GpuContext) {}

  /** Bytes per element of `dtype` in device buffers (float16 is f16 where the device has it). */
  bytesOf(dtype: DType): number {
    return dtype === "float16" && this.ctx.f16 ? 2 : 4;
  }

  /** Size class for a request: powers of two (≥ 256 B) up to 1 MiB, then 1 MiB steps, within limits. */
  sizeClass(bytes: number): number {
    const b = Math.max(256, Math.ceil(bytes / 4) * 4);
    const rounded = b <= 1 << 20 ? 2 ** Math.ceil(Math.log2(b)) : Math.ceil(b / (1 << 20)) * (1 << 20);
    return Math.max(b, Math.min(rounded, this.ctx.limits.maxStorageBufferBindingSize));
  }

  /** Largest storage binding (bytes): a kernel reads or writes at most this much of one buffer. */
  get bindLimit(): number {
    return Math.min(this.ctx.limits.maxStorageBufferBindingSize, this.ctx.limits.maxBufferSize);
  }

  /**
   * Throws a clear error when `bytes` cannot be bound as one storage buffer (`binding`), or cannot
   * be allocated at all (`buffer`: larger buffers are only written and read in chunks).
   */
  checkSize(bytes: number, what: string, limit: "binding" | "buffer" = "binding"): void {
    if (limit === "buffer") {
      const max = this.ctx.limits.maxBufferSize;
      if (bytes > max) {
        throw new Error(
          `webgpu: ${what} needs ${bytes} bytes, over this device's buffer size limit of ${max} bytes (maxBufferSize). ` +
            "Split the work into smaller pieces (e.g. smaller batches), or use the cpu backend.",
        );
      }
      return;
    }
    const lim = this.bindLimit;
    if (bytes > lim) {
      throw new Error(
        `webgpu: ${what} needs ${bytes} bytes, over this device's storage buffer limit of ${lim} bytes ` +
          "(maxStorageBufferBindingSize), and this kernel cannot be split. Split the work into smaller pieces " +
          "(e.g. smaller batches), or use the cpu backend.",
      );
    }
  }

  /**
   * A buffer of at least `bytes` bytes (4-byte words) for `what` (named when the memory budget,
   * `setMemoryBudget`, refuses it).
   */
  alloc(bytes: number, what = "a buffer"): GpuBuffer {
    checkAlive(this.ctx);
    const size = this.sizeClass(bytes);
    if (memoryBudget() !== Infinity) checkBudget("webgpu", this.stats.liveBytes, size, what);
    const list = this.#free.get(size);
    let buf = list?.pop();
    if (buf) this.stats.pooledBytes -= size;
    else {
      buf = this.ctx.device.createBuffer({ size, usage: STORAGE_USAGE });
      this.stats.created++;
    }
    this.stats.liveBytes += size;
    this.stats.liveBuffers++;
    return buf;
  }

  /**
   * A fresh buffer holding `words`, written through a mapping at creation: unlike
   * `queue.writeBuffer` this cannot be reordered before commands still being encoded that use a
   * recycled buffer.
   */
  upload(words: Float32Array | Int32Array | Uint32Array | Uint16Array): GpuBuffer {
    checkAlive(this.ctx);
    const size = this.sizeClass(Math.max(4, words.byteLength));
    if (memoryBudget() !== Infinity) checkBudget("webgpu", this.stats.liveBytes, size, `an upload of ${words.length} elements`);
    const buf = this.ctx.device.createBuffer({ size, usage: STORAGE_USAGE, mappedAtCreation: true });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength));
    buf.unmap();
    this.stats.created++;
    this.stats.liveBytes += size;
    this.stats.liveBuffers++;
    return buf;
  }

  #hold: Promise<void> | undefined;

  /**
   * While `work` (deferred device work, exec.ts) is pending, buffers released by their owners
   * return to the pool only after it settles: that work may still read them.
   */
  holdReleases(work: Promise<void>): void {
    this.#hold = work;
    void work.finally(() => {
      if (this.#hold === work) this.#hold = undefined;
    });
  }

  /**
   * Returns a buffer to the pool (or destroys it when the pool is full or the device is lost).
   * `now`: the executor's own temporaries, released in encoding order even while work is deferred.
   */
  release(buf: GpuBuffer, now = false): void {
    const hold = this.#hold;
    if (hold && !now) {
      void hold.finally(() => this.release(buf));
      return;
    }
    this.stats.liveBytes -= buf.size;
    this.stats.liveBuffers--;
    if (this.ctx.lostReason !== undefined || this.stats.pooledBytes + buf.size > POOL_CAP_BYTES) {
      buf.destroy();
      return;
    }
    let list = this.#free.get(buf.size);
    if (!list) this.#free.set(buf.size, (list = []));
    list.push(buf);
    this.stats.pooledBytes += buf.size;
  }

  /** Destroys every pooled buffer. */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.stats.pooledBytes = 0;
  }
}

/** The handle a realized tensor's Storage keeps under `device.get("webgpu")`. */
export class WebGpuHandle implements DeviceHandle {
  readonly backend = "webgpu";
  #buffer: GpuBuffer | undefined;
  constructor(
    readonly pool: BufferPool,
    buffer: GpuBuffer,
  ) {
    this.#buffer = buffer;
  }
  /** The buffer (throws once freed). */
  get buffer(): GpuBuffer {
    if (!this.#buffer) throw new Error("webgpu: this tensor's device buffer was freed (dispose() was called)");
    return this.#buffer;
  }
  get freed(): boolean {
    return this.#buffer === undefined;
  }
  free(): void {
    const b = this.#buffer;
    if (!b) return;
    this.#buffer = undefined;
    this.pool.release(b);
  }
}

const finalizer = new FinalizationRegistry<WebGpuHandle>((h) => h.free());

/** A Storage owning `buffer` on the device; the buffer is freed when the Storage is collected. */
export function deviceStorage(pool: BufferPool, buffer: GpuBuffer): Storage {
  const handle = new WebGpuHandle(pool, buffer);
  const s: Storage = { device: new Map([["webgpu", handle]]) };
  finalizer.register(anchorOf(s), handle);
  return s;
}

/** The device buffer of a storage (uploading host data once and caching the device copy). */
export function ensureOnDevice(pool: BufferPool, s: Storage, dtype: DType, shape: readonly number[]): GpuBuffer {
  const h = s.device.get("webgpu");
  if (h instanceof WebGpuHandle && h.pool === pool) {
    if (h.freed) throw new Error("webgpu: a tensor used here was disposed: its data can no longer be used");
    return h.buffer;
  }
  if (h) throw new Error("webgpu: this tensor lives on a WebGPU device that was replaced (device lost or backend reset); recreate it");
  const host = s.host;
  if (!host) throw new Error(`webgpu: tensor of shape [${shape.join(", ")}] has neither host nor device data`);
  const words = toWords(host, dtype, pool.ctx.f16);
  pool.checkSize(words.byteLength, `a tensor of shape [${shape.join(", ")}]`, "buffer");
  const buf = pool.upload(words);
  const handle = new WebGpuHandle(pool, buf);
  s.device.set("webgpu", handle);
  finalizer.register(anchorOf(s), handle);
  return buf;
}

/** Host data as device words (bool widened to u32, float16 narrowed to f16 bits when `f16`). */
function toWords(host: TypedArray, dtype: DType, f16: boolean): Float32Array | Int32Array | Uint32Array | Uint16Array {
  if (dtype === "bool") return Uint32Array.from(host);
  if (dtype === "float16" && f16) return toHalf(host as Float32Array);
  return host as Float32Array | Int32Array;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half bits, rounding to nearest even (overflow to ±Inf, NaN kept). */
export function toHalf(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    f32[0] = x[i]!;
    const b = u32[0]!;
    const sign = (b >>> 16) & 0x8000;
    const exp = (b >>> 23) & 0xff;
    let man = b & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (man ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      man |= 0x800000;
      const shift = 14 - e;
      let h = man >>> shift;
      const rem = man & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && h & 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (man >>> 13);
    const rem = man & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent (correct)
    out[i] = sign | h;
  }
  return out;
}

/** IEEE half bits → float32 values. */
export function fromHalf(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const v = h[i]!;
    const sign = v & 0x8000 ? -1 : 1;
    const e = (v >>> 10) & 0x1f;
    const m = v & 0x3ff;
    out[i] = e === 0 ? sign * m * 2 ** -24 : e === 0x1f ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** Reads `count` elements of `buffer` back to the host as the typed array of `dtype`. */
export async function readBuffer(pool: BufferPool, buffer: GpuBuffer, count: number, dtype: DType): Promise<TypedArray> {
  const { device } = pool.ctx;
  const bytes = count * pool.bytesOf(dtype);
  if (bytes === 0) return dtype === "bool" ? new Uint8Array(0) : dtype === "int32" ? new Int32Array(0) : new Float32Array(0);
  const padded = Math.ceil(bytes / 4) * 4; // copies move whole 4-byte words
  const staging = device.createBuffer({ size: padded, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, staging, 0, padded);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(MAP_READ);
    checkAlive(pool.ctx);
    const raw = staging.getMappedRange().slice(0);
    staging.unmap();
    if (dtype === "bool") return Uint8Array.from(new Uint32Array(raw));
    if (dtype === "int32") return new Int32Array(raw);
    if (bytes !== count * 4) return fromHalf(new Uint16Array(raw, 0, count));
    return new Float32Array(raw);
  } catch (e) {
    checkAlive(pool.ctx);
    throw e;
  } finally {
    staging.destroy();
  }
}
