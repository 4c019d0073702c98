/**
 * The WebGPU device of the engine driver (src/scheduler/engine.ts): it turns scheduled programs
 * into plans of WGSL dispatches (plan.ts) and runs them (exec.ts); `read` copies device data back
 * asynchronously (and keeps the host copy), `readSync` refuses with a clear error, `adopt` uploads
 * host data. The driver does the optimizing, scheduling and budget checks.
 */
import type { Backend } from "../../core/backend.js";
import { resetBackendInstance } from "../../core/backend.js";
import type { Node, Storage } from "../../core/node.js";
import type { TypedArray } from "../../core/dtype.js";
import { sizeOf } from "../../core/shape.js";
import type { GpuBuffer, GpuContext } from "./gpu.js";
import { checkAlive } from "./gpu.js";
import type { MemoryStats } from "./memory.js";
import { BufferPool, WebGpuHandle, deviceStorage, ensureOnDevice, readBuffer } from "./memory.js";
import { Executor } from "./exec.js";
import type { Plan, PlanEnv } from "./plan.js";
import { planProgram } from "./plan.js";
import type { Graph } from "../../core/graph.js";
import type { Device } from "../../scheduler/engine.js";
import { engineBackend } from "../../scheduler/engine.js";

/** The WebGPU backend instance, with diagnostics beyond the Backend contract. */
export interface WebGpuBackend extends Backend {
  /** False once the device is lost (a new `setBackend("webgpu")` creates a fresh one). */
  readonly alive: boolean;
  /** Buffer pool counters. */
  readonly memory: MemoryStats;
  /** Kernels dispatched and pipelines compiled so far. */
  readonly counters: { readonly dispatches: number; readonly pipelines: number };
  /** The device limits and features in use. */
  readonly info: {
    readonly limits: GpuContext["limits"];
    readonly features: readonly string[];
    /** Whether float16 tensors are stored as f16 (the device has `shader-f16`); else as f32. */
    readonly f16: boolean;
  };
  /** Waits until submitted work finished (and reports device errors). */
  sync(): Promise<void>;
  /** Destroys the device (tests use it to simulate a lost device). */
  destroyDevice(): void;
}

const SYNC_READ_ERROR =
  "webgpu: dataSync()/arraySync()/itemSync() cannot read GPU memory synchronously. " +
  "Use `await x.data()` (or `await x.array()`, `await x.item()`); after that the synchronous readers work on that tensor.";

/** Creates the backend over an acquired device. */
export function createWebGpuBackend(ctx: GpuContext): WebGpuBackend {
  const pool = new BufferPool(ctx);
  const exec = new Executor(ctx, pool);
  // 64-wide 1-D workgroups: plenty on GPUs, and much faster to compile on CPU Vulkan drivers.
  const wg = Math.min(64, 2 ** Math.floor(Math.log2(ctx.limits.workgroupSize)));
  const env: PlanEnv = {
    maxBindings: Math.min(ctx.limits.maxStorageBuffersPerShaderStage, 16),
    checkSize: (bytes, what, limit) => pool.checkSize(bytes, what, limit),
    bindLimit: pool.bindLimit,
    align: ctx.limits.minStorageBufferOffsetAlignment,
    gen: { wg, maxInvocations: ctx.limits.workgroupSize, maxGroups: ctx.limits.maxComputeWorkgroupsPerDimension, f16: ctx.f16 },
    bytesOf: (d) => pool.bytesOf(d),
  };
  const alive = (): void => {
    if (ctx.lostReason !== undefined) resetBackendInstance("webgpu");
    checkAlive(ctx);
  };
  const wrap = (bufs: readonly GpuBuffer[]): Storage[] => {
    const made = new Map<GpuBuffer, Storage>();
    return bufs.map((b) => {
      let s = made.get(b);
      if (!s) made.set(b, (s = deviceStorage(pool, b)));
      return s;
    });
  };
  const device: Device<Plan> = {
    name: "webgpu",
    get alive() {
      return ctx.lostReason === undefined;
    },
    compile(program, inputs, body) {
      const bodies = new Map<Graph, Plan>();
      const bodyPlan = (g: Graph): Plan => {
        let p = bodies.get(g);
        if (!p) bodies.set(g, (p = body(g)));
        return p;
      };
      return planProgram(program, inputs, env, bodyPlan);
    },
    execute(plan, inputs) {
      alive();
      const bufs = inputs.map((s, i) => ensureOnDevice(pool, s, plan.leaves[i]!.dtype, plan.leaves[i]!.shape));
      return wrap(exec.run(plan, bufs));
    },
    async read(s: Storage, n: Node): Promise<TypedArray> {
      if (s.host) return s.host;
      alive();
      const h = s.device.get("webgpu");
      if (!(h instanceof WebGpuHandle)) throw new Error(`webgpu: tensor of shape [${n.shape.join(", ")}] has no WebGPU data`);
      if (h.pool !== pool) throw new Error("webgpu: this tensor lives on a WebGPU device that was replaced (device lost or backend reset); recreate it");
      await exec.idle();
      const data = await readBuffer(pool, h.buffer, sizeOf(n.shape), n.dtype);
      await exec.flushErrors();
      s.host = data;
      return data;
    },
    readSync(s: Storage): TypedArray {
      if (s.host) return s.host;
      throw new Error(SYNC_READ_ERROR);
    },
    adopt(s: Storage, n: Node): void {
      alive();
      ensureOnDevice(pool, s, n.dtype, n.shape);
    },
    memory: () => ({ backend: "webgpu", ...pool.stats, programs: exec.pipelineCount, programCapacity: exec.pipelineCapacity }),
  };
  const backend = engineBackend(device) as WebGpuBackend;
  Object.defineProperties(backend, {
    memory: { get: () => ({ ...pool.stats }) },
    counters: { get: () => ({ dispatches: exec.dispatches, pipelines: exec.pipelineCount }) },
    info: { value: { limits: ctx.limits, features: ctx.features, f16: ctx.f16 } },
    sync: {
      value: async () => {
        alive();
        await exec.idle();
        await ctx.device.queue.onSubmittedWorkDone();
        await exec.flushErrors();
      },
    },
    destroyDevice: {
      value: () => {
        pool.trim();
        ctx.device.destroy();
      },
    },
  });
  return backend;
}
