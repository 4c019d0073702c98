/**
 * Plan execution: binds slots to buffers, encodes one compute pass per kernel (pipelines cached by
 * WGSL source), runs scans as loops of their body plan (slicing xs and stacking ys with buffer
 * copies), runs plans with whileLoop/cond steps asynchronously (submitting, reading the predicate
 * or index back, then encoding the chosen plan; later runs wait for them, and buffers their owners
 * release meanwhile return to the pool only afterwards), and recycles every intermediate as soon
 * as its last reader is encoded. Validation and
 * out-of-memory errors are collected from error scopes and reported by the next read.
 */
import type { Node } from "../../core/node.js";
import { sizeOf } from "../../core/shape.js";
import type { GpuBuffer, GpuCommandEncoder, GpuComputePipeline, GpuContext } from "./gpu.js";
import type { BufferPool } from "./memory.js";
import { ensureOnDevice, readBuffer } from "./memory.js";
import type { Plan, Step } from "./plan.js";
import { LruCache } from "../../core/lru.js";

/** Compiled pipelines kept per device (least recently used evicted first). */
export const PIPELINE_CACHE_LIMIT = 1024;

/** Runs plans on one device. */
/** Bind groups kept per executor (LRU). */
const BIND_GROUP_CACHE_LIMIT = 4096;

const ids = new WeakMap<object, number>();
let nextId = 0;
/** A stable number for a GPU object (bind-group cache keys). */
function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

export class Executor {
  readonly #pipelines = new LruCache<string, GpuComputePipeline>(PIPELINE_CACHE_LIMIT);
  readonly #groups = new LruCache<string, unknown>(BIND_GROUP_CACHE_LIMIT);
  /** Errors raised by the device for earlier submissions (reported by the next read). */
  readonly pending: Promise<string | undefined>[] = [];
  /** Kernels dispatched so far (for tests and benchmarks). */
  dispatches = 0;

  constructor(
    readonly ctx: GpuContext,
    readonly pool: BufferPool,
  ) {}

  /** Number of distinct compiled pipelines. */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  /** Most pipelines cached. */
  get pipelineCapacity(): number {
    return this.#pipelines.capacity;
  }

  #pipeline(wgsl: string): GpuComputePipeline {
    let p = this.#pipelines.get(wgsl);
    if (!p) {
      const { device } = this.ctx;
      device.pushErrorScope("validation");
      const module = device.createShaderModule({ code: wgsl });
      p = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
      this.pending.push(device.popErrorScope().then((e) => (e ? `webgpu: kernel failed to compile: ${e.message}\n--- WGSL ---\n${wgsl}` : undefined)));
      this.#pipelines.set(wgsl, p);
    }
    return p;
  }

  /** The deferred work (plans that read values back), in submission order; undefined when idle. */
  #tail: Promise<void> | undefined;

  /** Resolves once every deferred plan has been submitted. */
  async idle(): Promise<void> {
    while (this.#tail) await this.#tail;
  }

  /**
   * Executes `plan` and submits the work; returns the output buffers (owned by the caller). A plan
   * with whileLoop/cond steps reads values back between submissions, so it runs asynchronously:
   * its outputs are allocated now and filled when it finishes, and every later run waits for it
   * (queue order is submission order). Its errors are reported by the next read.
   */
  run(plan: Plan, inputs: readonly GpuBuffer[]): GpuBuffer[] {
    if (plan.async || this.#tail) return this.#defer(plan, inputs);
    const { device } = this.ctx;
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    const enc = device.createCommandEncoder();
    let outs: GpuBuffer[];
    try {
      outs = this.#exec(plan, inputs, enc);
    } catch (e) {
      // Nothing was submitted (e.g. the memory budget refused a buffer): close the error scopes.
      void device.popErrorScope();
      void device.popErrorScope();
      throw e;
    }
    device.queue.submit([enc.finish()]);
    this.pending.push(device.popErrorScope().then((e) => (e ? `webgpu: ${e.message}` : undefined)));
    this.pending.push(device.popErrorScope().then((e) => (e ? `webgpu: out of device memory: ${e.message}` : undefined)));
    return outs;
  }

  #defer(plan: Plan, inputs: readonly GpuBuffer[]): GpuBuffer[] {
    const outs: GpuBuffer[] = [];
    try {
      for (const [i, b] of plan.outBytes.entries()) outs.push(this.pool.alloc(Math.max(4, b), `output ${i} of a program with whileLoop/cond`));
    } catch (e) {
      for (const b of outs) this.pool.release(b, true);
      throw e;
    }
    const prev = this.#tail ?? Promise.resolve();
    const work = prev.then(async () => {
      const { device } = this.ctx;
      device.pushErrorScope("out-of-memory");
      device.pushErrorScope("validation");
      const cur = { enc: device.createCommandEncoder() };
      try {
        const res = await this.#execAsync(plan, inputs, cur);
        res.forEach((b, i) => {
          if (plan.outBytes[i]! > 0) cur.enc.copyBufferToBuffer(b, 0, outs[i]!, 0, Math.ceil(plan.outBytes[i]! / 4) * 4);
        });
        device.queue.submit([cur.enc.finish()]);
        for (const b of res) this.pool.release(b, true);
      } catch (e) {
        this.pending.push(Promise.resolve(`webgpu: ${e instanceof Error ? e.message : String(e)}`));
      } finally {
        this.pending.push(device.popErrorScope().then((e) => (e ? `webgpu: ${e.message}` : undefined)));
        this.pending.push(device.popErrorScope().then((e) => (e ? `webgpu: out of device memory: ${e.message}` : undefined)));
      }
    });
    this.#tail = work;
    void work.then(() => {
      if (this.#tail === work) this.#tail = undefined;
    });
    this.pool.holdReleases(work);
    return outs;
  }

  /** Submits what was encoded so far and starts a new encoder (before a read-back). */
  #flush(cur: { enc: GpuCommandEncoder }): void {
    this.ctx.device.queue.submit([cur.enc.finish()]);
    cur.enc = this.ctx.device.createCommandEncoder();
  }

  /** Reads one scalar of a buffer back (submitting the work encoded so far first). */
  async #scalar(buf: GpuBuffer, dtype: Node["dtype"], cur: { enc: GpuCommandEncoder }): Promise<number> {
    this.#flush(cur);
    return Number((await readBuffer(this.pool, buf, 1, dtype))[0]);
  }

  /** Runs a plan inside deferred work: synchronously encoded unless it has read-backs itself. */
  async #runPlan(plan: Plan, inputs: readonly GpuBuffer[], cur: { enc: GpuCommandEncoder }): Promise<GpuBuffer[]> {
    return plan.async ? this.#execAsync(plan, inputs, cur) : this.#exec(plan, inputs, cur.enc);
  }

  async #execAsync(plan: Plan, inputs: readonly GpuBuffer[], cur: { enc: GpuCommandEncoder }): Promise<GpuBuffer[]> {
    const slots: (GpuBuffer | undefined)[] = new Array<GpuBuffer | undefined>(plan.numSlots);
    plan.leaves.forEach((leaf, i) => {
      slots[i] = i < plan.numInputs ? inputs[i]! : ensureOnDevice(this.pool, leaf.storage!, leaf.dtype, leaf.shape);
    });
    try {
      for (const [k, step] of plan.steps.entries()) {
        if (step.kind === "while") await this.#while(step, slots, cur);
        else if (step.kind === "cond") await this.#cond(step, slots, cur);
        else this.#step(step, slots, cur.enc);
        for (const s of plan.frees[k]!) {
          this.pool.release(slots[s]!, true);
          slots[s] = undefined;
        }
      }
    } catch (e) {
      for (let s = plan.leaves.length; s < slots.length; s++) if (slots[s]) this.pool.release(slots[s]!, true);
      throw e;
    }
    return plan.outputs.map((s) => slots[s]!);
  }

  async #while(step: Extract<Step, { kind: "while" }>, slots: (GpuBuffer | undefined)[], cur: { enc: GpuCommandEncoder }): Promise<void> {
    const nK = step.node.params.numConsts;
    const ins = step.ins.map((s) => slots[s]!);
    const consts = ins.slice(0, nK);
    let carry = ins.slice(nK);
    let owned = false;
    for (;;) {
      const [pred] = await this.#runPlan(step.cond, [...consts, ...carry], cur);
      const go = await this.#scalar(pred!, "bool", cur);
      this.pool.release(pred!, true);
      if (!go) break;
      const next = await this.#runPlan(step.body, [...consts, ...carry], cur);
      if (owned) for (const b of carry) this.pool.release(b, true);
      carry = next;
      owned = true;
    }
    if (!owned) carry = carry.map((c, j) => this.#copyOf(c, step.node.inputs[nK + j]!, cur.enc));
    carry.forEach((b, k) => (slots[step.outs[k]!] = b));
  }

  async #cond(step: Extract<Step, { kind: "cond" }>, slots: (GpuBuffer | undefined)[], cur: { enc: GpuCommandEncoder }): Promise<void> {
    const ins = step.ins.map((s) => slots[s]!);
    const i = await this.#scalar(ins[0]!, "int32", cur);
    const n = step.branches.length;
    const outs = await this.#runPlan(step.branches[i < 0 ? 0 : i >= n ? n - 1 : i]!, ins.slice(1), cur);
    outs.forEach((b, k) => (slots[step.outs[k]!] = b));
  }

  /** A fresh copy of a buffer holding a value of node `n`'s shape. */
  #copyOf(src: GpuBuffer, n: Node, enc: GpuCommandEncoder): GpuBuffer {
    const bytes = sizeOf(n.shape) * this.pool.bytesOf(n.dtype);
    const buf = this.pool.alloc(Math.max(4, bytes), "a loop carry");
    if (bytes > 0) enc.copyBufferToBuffer(src, 0, buf, 0, Math.ceil(bytes / 4) * 4);
    return buf;
  }

  /** Throws the first error reported by the device since the last check. */
  async flushErrors(): Promise<void> {
    const all = this.pending.splice(0);
    const msgs = (await Promise.all(all)).filter((m): m is string => m !== undefined);
    if (msgs.length) throw new Error(msgs[0]);
  }

  #exec(plan: Plan, inputs: readonly GpuBuffer[], enc: GpuCommandEncoder): GpuBuffer[] {
    const slots: (GpuBuffer | undefined)[] = new Array<GpuBuffer | undefined>(plan.numSlots);
    plan.leaves.forEach((leaf, i) => {
      slots[i] = i < plan.numInputs ? inputs[i]! : ensureOnDevice(this.pool, leaf.storage!, leaf.dtype, leaf.shape);
    });
    try {
      plan.steps.forEach((step, k) => {
        this.#step(step, slots, enc);
        for (const s of plan.frees[k]!) {
          this.pool.release(slots[s]!, true);
          slots[s] = undefined;
        }
      });
    } catch (e) {
      // Return what this plan allocated, so a refused call leaves the live counters unchanged.
      for (let s = plan.leaves.length; s < slots.length; s++) if (slots[s]) this.pool.release(slots[s]!, true);
      throw e;
    }
    return plan.outputs.map((s) => slots[s]!);
  }

  /**
   * The bind group of a dispatch, cached by pipeline, buffers and ranges: in a steady jitted loop
   * the pool hands out the same buffers, so a step reuses its bind groups instead of creating new
   * ones that Dawn can only reclaim once the event loop runs.
   */
  #bindGroup(pipe: GpuComputePipeline, bufs: readonly GpuBuffer[], ranges: Extract<Step, { kind: "kernel" }>["ranges"]): unknown {
    const key = `${idOf(pipe)}:${bufs.map((b, i) => {
      const r = ranges?.[i];
      return r ? `${idOf(b)}@${r[0]}+${r[1]}` : idOf(b);
    })}`;
    let g = this.#groups.get(key);
    if (g === undefined) {
      g = this.ctx.device.createBindGroup({
        layout: pipe.getBindGroupLayout(0),
        entries: bufs.map((buffer, binding) => {
          const r = ranges?.[binding];
          return { binding, resource: r ? { buffer, offset: r[0], size: r[1] } : { buffer } };
        }),
      });
      this.#groups.set(key, g);
    }
    return g;
  }

  #step(step: Step, slots: (GpuBuffer | undefined)[], enc: GpuCommandEncoder): void {
    switch (step.kind) {
      case "alloc":
        slots[step.out] = this.pool.alloc(step.bytes, step.what ?? "an empty result");
        return;
      case "copy": {
        const buf = this.pool.alloc(step.bytes, "an output copy");
        if (step.bytes > 0) enc.copyBufferToBuffer(slots[step.src]!, 0, buf, 0, Math.ceil(step.bytes / 4) * 4);
        slots[step.out] = buf;
        return;
      }
      case "kernel": {
        const out = step.reuse ? slots[step.out]! : this.pool.alloc(step.bytes, step.what);
        slots[step.out] = out;
        const pipe = this.#pipeline(step.spec.wgsl);
        const bufs = [...step.ins.map((s) => slots[s]!), out];
        const group = this.#bindGroup(pipe, bufs, step.ranges);
        const pass = enc.beginComputePass();
        pass.setPipeline(pipe);
        pass.setBindGroup(0, group);
        const [x, y, z] = step.spec.groups;
        pass.dispatchWorkgroups(x, y, z);
        pass.end();
        this.dispatches++;
        return;
      }
      case "scan":
        this.#scan(step, slots, enc);
        return;
    }
  }

  #scan(step: Extract<Step, { kind: "scan" }>, slots: (GpuBuffer | undefined)[], enc: GpuCommandEncoder): void {
    const { node, body } = step;
    const p = node.params;
    const ins = step.ins.map((s) => slots[s]!);
    const consts = ins.slice(0, p.numConsts);
    let carry = ins.slice(p.numConsts, p.numConsts + p.numCarry);
    const xs = ins.slice(p.numConsts + p.numCarry);
    const bytes = (n: Node, shape = n.shape): number => {
      const b = sizeOf(shape) * this.pool.bytesOf(n.dtype);
      // Slices and stacks are buffer copies, which move whole 4-byte words at 4-byte offsets.
      if (b % 4 !== 0)
        throw new Error(`webgpu: scan over float16 slices of odd size [${shape.join(", ")}] is not supported with shader-f16 storage; use float32`);
      return b;
    };
    const xPer = node.inputs.slice(p.numConsts + p.numCarry).map((x: Node) => bytes(x, x.shape.slice(1)));
    const yPer = p.body.graph.outputs.slice(p.numCarry).map((y: Node) => bytes(y));
    const ys = yPer.map((b) => this.pool.alloc(Math.max(4, b * p.length), "the stacked outputs of scan"));
    let owned = false;
    for (let s = 0; s < p.length; s++) {
      const t = p.reverse ? p.length - 1 - s : s;
      const xt = xs.map((x, j) => {
        const buf = this.pool.alloc(Math.max(4, xPer[j]!), "a scan slice");
        if (xPer[j]! > 0) enc.copyBufferToBuffer(x, t * xPer[j]!, buf, 0, xPer[j]!);
        return buf;
      });
      const outs = this.#exec(body, [...consts, ...carry, ...xt], enc);
      for (const b of xt) this.pool.release(b, true);
      if (owned) for (const b of carry) this.pool.release(b, true);
      carry = outs.slice(0, p.numCarry);
      owned = true;
      outs.slice(p.numCarry).forEach((y, j) => {
        if (yPer[j]! > 0) enc.copyBufferToBuffer(y, 0, ys[j]!, t * yPer[j]!, yPer[j]!);
        this.pool.release(y, true);
      });
    }
    if (!owned) {
      carry = carry.map((c, j) => {
        const n = bytes(node.inputs[p.numConsts + j]!);
        const buf = this.pool.alloc(Math.max(4, n), "a scan carry");
        if (n > 0) enc.copyBufferToBuffer(c, 0, buf, 0, n);
        return buf;
      });
    }
    [...carry, ...ys].forEach((b, k) => (slots[step.outs[k]!] = b));
  }
}
