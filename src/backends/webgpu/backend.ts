/**
 * The WebGPU Backend object: `run` plans and dispatches pending nodes, `compile` plans a jitted
 * graph once and replays it, `read` copies device data back asynchronously (and keeps the host
 * copy), `readSync` refuses with a clear error, `adopt` uploads host data.
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
import { Graph } from "../../core/graph.js";
import { optimizeGraph } from "../../scheduler/passes.js";
import { scheduleGraph } from "../../scheduler/schedule.js";


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
  const plan = (outputs: readonly Node[], inputs: readonly Node[]): Plan =>
    planProgram(scheduleGraph(optimizeGraph(new Graph(inputs, outputs))), inputs, env, scanBody);
  const scanBodies = new WeakMap<object, Plan>();
  const scanBody = (n: Node<"scan">): Plan => {
    let p = scanBodies.get(n.params.body);
    if (!p) {
      const g = n.params.body.graph;
      p = plan(g.outputs, g.inputs);
      scanBodies.set(n.params.body, p);
    }
    return p;
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
  const compile = (graph: Graph): ((inputs: readonly Storage[]) => Storage[]) => {
    let compiled: Plan | undefined;
    return (inputs) => {
      alive();
      compiled ??= plan(graph.outputs, graph.inputs);
      const bufs = inputs.map((s, i) => ensureOnDevice(pool, s, graph.inputs[i]!.dtype, graph.inputs[i]!.shape));
      return wrap(exec.run(compiled, bufs));
    };
  };
  const backend: WebGpuBackend = {
    name: "webgpu",
    get alive() {
      return ctx.lostReason === undefined;
    },
    get memory() {
      return { ...pool.stats };
    },
    get counters() {
      return { dispatches: exec.dispatches, pipelines: exec.pipelineCount };
    },
    info: { limits: ctx.limits, features: ctx.features, f16: ctx.f16 },
    run(nodes) {
      alive();
      return wrap(exec.run(plan(nodes, []), []));
    },
    compile,
    async read(s: Storage, n: Node): Promise<TypedArray> {
      if (s.host) return s.host;
      alive();
      const h = s.device.get("webgpu");
      if (!(h instanceof WebGpuHandle)) throw new Error(`webgpu: tensor of shape [${n.shape.join(", ")}] has no WebGPU data`);
      if (h.pool !== pool) throw new Error("webgpu: this tensor lives on a WebGPU device that was replaced (device lost or backend reset); recreate it");
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
    async sync() {
      alive();
      await ctx.device.queue.onSubmittedWorkDone();
      await exec.flushErrors();
    },
    destroyDevice() {
      pool.trim();
      ctx.device.destroy();
    },
  };
  return backend;
}
