/**
 * Planning: turns output nodes into a list of steps over numbered value slots. customVjp and
 * checkpoint calls are inlined; each node is either materialized (a kernel writes a buffer) or
 * computed inline by its consumers (views, constants, iota, single-use elementwise ops and
 * gathers); the inline choice respects the device's storage-binding limit. Each slot is released
 * after its last use, so intermediates are recycled through the buffer pool while encoding.
 */
import type { Node } from "../../core/node.js";
import { makeNode, topoSort } from "../../core/node.js";
import { sizeOf } from "../../core/shape.js";
import { isInlinable, isView } from "./codegen.js";
import type { KernelLimits, KernelSpec } from "./kernels.js";
import { argmaxKernel, cumsumKernel, mapKernel, matmulKernel, reduceKernel, scatterAddKernel } from "./kernels.js";
import type { DType } from "../../core/dtype.js";
import type { Program } from "../../scheduler/ir.js";
import type { GenOptions, Operand } from "./wgsl.js";
import { kernelWgsl } from "./wgsl.js";

/** One step of a plan. */
export type Step =
  | { readonly kind: "kernel"; readonly spec: { readonly wgsl: string; readonly groups: readonly [number, number, number] }; readonly ins: readonly number[]; readonly out: number; readonly bytes: number }
  | { readonly kind: "alloc"; readonly out: number; readonly bytes: number }
  | { readonly kind: "copy"; readonly src: number; readonly out: number; readonly bytes: number }
  | { readonly kind: "scan"; readonly node: Node<"scan">; readonly body: Plan; readonly ins: readonly number[]; readonly outs: readonly number[] };

/** An executable plan: slots 0..leaves.length-1 are the leaves (inputs, then constant buffers). */
export interface Plan {
  readonly leaves: readonly Node[];
  /** How many leading leaves are supplied by the caller (the rest carry their own storage). */
  readonly numInputs: number;
  readonly steps: readonly Step[];
  /** Slots to release after each step. */
  readonly frees: readonly (readonly number[])[];
  readonly outputs: readonly number[];
  readonly numSlots: number;
}

/** What planning needs from the backend. */
export interface PlanEnv {
  readonly limits: KernelLimits;
  /** Code generation options (limits and whether float16 is stored as f16). */
  readonly gen: GenOptions;
  /** Bytes per element of a dtype in device buffers. */
  bytesOf(dtype: DType): number;
  /** Storage buffers a kernel may bind (inputs plus the output). */
  readonly maxBindings: number;
  /** Throws when a buffer of `bytes` cannot be bound. */
  checkSize(bytes: number, what: string): void;
}

const isLeaf = (n: Node): boolean => n.prim === "buffer" || n.prim === "input";

/** Rewrites `outputs` with customVjp and checkpoint calls replaced by their bodies. */
export function inlineCalls(outputs: readonly Node[], env: Map<Node, Node> = new Map()): Node[] {
  const memo = new Map<string, Node[]>();
  const order = topoSort(outputs, (n) => env.has(n) || isLeaf(n));
  for (const n of order) {
    if (env.has(n)) continue;
    if (isLeaf(n)) {
      env.set(n, n);
      continue;
    }
    const ins = n.inputs.map((i) => env.get(i)!);
    if (n.prim === "customVjp" || n.prim === "checkpoint") {
      const p = (n as Node<"customVjp" | "checkpoint">).params;
      const g = "info" in p ? p.info.graph : p.body.graph;
      const key = `${"info" in p ? p.info.id : p.body.id}|${ins.map((i) => i.id).join(",")}`;
      let outs = memo.get(key);
      if (!outs) {
        outs = inlineCalls(g.outputs, new Map(g.inputs.map((gi, k) => [gi, ins[k]!])));
        memo.set(key, outs);
      }
      env.set(n, outs[p.index]!);
      continue;
    }
    if (n.prim === "customVjpLinear") {
      const name = (n as Node<"customVjpLinear">).params.info.name;
      throw new Error(`forward-mode differentiation (jvp/jacfwd) of customVjp function "${name}" is not supported: a custom VJP defines only the reverse mode. Use grad/vjp/jacrev.`);
    }
    env.set(n, ins.every((x, k) => x === n.inputs[k]) ? n : makeNode(n.prim, n.params, ins));
  }
  return outputs.map((o) => env.get(o)!);
}

const HEAVY = new Set(["matmul", "scatterAdd"]);

/** Builds a plan computing `outputs` from `inputs` (plus any buffer nodes found below). */
export function buildPlan(rawOutputs: readonly Node[], inputs: readonly Node[], env: PlanEnv, scanBodies: (n: Node<"scan">) => Plan): Plan {
  const outputs = inlineCalls(rawOutputs);
  const order = topoSort(outputs, isLeaf);
  const outSet = new Set(outputs);
  const consumers = new Map<Node, Node[]>();
  for (const n of order) for (const i of n.inputs) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);

  // Decide materialization, consumers first (reverse topological order).
  const mat = new Set<Node>();
  const eff = new Map<Node, { uses: number; heavy: boolean }>();
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    let uses = 0;
    let heavy = false;
    let scanUse = false;
    for (const c of consumers.get(n) ?? []) {
      if (c.prim === "scan") scanUse = true;
      if (isView(c) && !mat.has(c)) {
        const e = eff.get(c)!;
        uses += e.uses;
        heavy ||= e.heavy;
      } else {
        uses += 1;
        heavy ||= HEAVY.has(c.prim);
      }
    }
    eff.set(n, { uses, heavy });
    let m: boolean;
    if (isLeaf(n) || outSet.has(n) || scanUse || !isInlinable(n)) m = true;
    else if (n.prim === "const" || n.prim === "iota" || isView(n)) m = false;
    else m = uses > 1 || heavy;
    if (m) mat.add(n);
  }

  // Respect the binding limit: an inlined subtree may read at most maxBindings - 1 buffers.
  const maxIn = env.maxBindings - 1;
  const srcs = new Map<Node, Set<Node>>();
  const setOf = (i: Node): Set<Node> => (mat.has(i) ? new Set([i]) : srcs.get(i) ?? new Set());
  for (const n of order) {
    if (isLeaf(n)) continue;
    for (;;) {
      const u = new Set<Node>();
      for (const i of n.inputs) for (const s of setOf(i)) u.add(s);
      if (u.size <= maxIn) {
        srcs.set(n, u);
        break;
      }
      let worst: Node | undefined;
      for (const i of n.inputs) if (!mat.has(i) && (!worst || setOf(i).size > setOf(worst).size)) worst = i;
      if (!worst) throw new Error(`webgpu: ${n.prim} reads more buffers than this device can bind`);
      mat.add(worst);
    }
  }

  // Slots and steps.
  const leaves = [...inputs, ...order.filter((n) => n.prim === "buffer" && !inputs.includes(n))];
  for (const n of order) if (n.prim === "input" && !inputs.includes(n)) throw new Error("webgpu: a traced placeholder is not among the graph inputs");
  const slot = new Map<Node, number>(leaves.map((n, i) => [n, i]));
  let numSlots = leaves.length;
  const steps: Step[] = [];
  const scanSteps = new Map<string, { outs: number[] }>();
  const matPred = (n: Node): boolean => mat.has(n);
  for (const n of order) {
    if (!mat.has(n) || isLeaf(n)) continue;
    const bytes = sizeOf(n.shape) * 4;
    env.checkSize(bytes, `${n.prim} of shape [${n.shape.join(", ")}]`);
    if (n.prim === "scan") {
      const sn = n as Node<"scan">;
      const key = `${sn.params.body.id}|${n.inputs.map((i) => i.id).join(",")}`;
      let st = scanSteps.get(key);
      if (!st) {
        const body = scanBodies(sn);
        const outs = body.outputs.map(() => numSlots++);
        st = { outs };
        scanSteps.set(key, st);
        steps.push({ kind: "scan", node: sn, body, ins: n.inputs.map((i) => slot.get(i)!), outs });
      }
      slot.set(n, st.outs[sn.params.index]!);
      continue;
    }
    const out = numSlots++;
    slot.set(n, out);
    if (bytes === 0) {
      steps.push({ kind: "alloc", out, bytes: 4 });
      continue;
    }
    const spec = kernelFor(n, matPred, env.limits);
    if (spec.inputs.length > maxIn) throw new Error(`webgpu: internal error: kernel for ${n.prim} binds ${spec.inputs.length} buffers`);
    steps.push({ kind: "kernel", spec, ins: spec.inputs.map((i) => slot.get(i)!), out, bytes });
  }
  const outSlots = outputs.map((o) => {
    const s = slot.get(o)!;
    if (s >= leaves.length) return s;
    const out = numSlots++;
    steps.push({ kind: "copy", src: s, out, bytes: sizeOf(o.shape) * 4 });
    return out;
  });

  // Last uses: release each non-leaf slot after the last step that reads it.
  const last = new Map<number, number>();
  steps.forEach((s, k) => {
    const reads = s.kind === "kernel" ? s.ins : s.kind === "scan" ? s.ins : s.kind === "copy" ? [s.src] : [];
    for (const r of reads) last.set(r, k);
    const writes = s.kind === "scan" ? s.outs : [s.out];
    for (const w of writes) if (!last.has(w)) last.set(w, k);
  });
  const keep = new Set(outSlots);
  const frees: number[][] = steps.map(() => []);
  for (const [s, k] of last) if (s >= leaves.length && !keep.has(s)) frees[k]!.push(s);
  return { leaves, numInputs: inputs.length, steps, frees, outputs: outSlots, numSlots };
}

function kernelFor(n: Node, mat: (n: Node) => boolean, lim: KernelLimits): KernelSpec {
  switch (n.prim) {
    case "sum":
    case "rmax":
    case "rmin":
    case "prod":
      return reduceKernel(n, mat, lim);
    case "argmax":
      return argmaxKernel(n, mat, lim);
    case "cumsum":
      return cumsumKernel(n, mat, lim);
    case "matmul":
      return matmulKernel(n, mat, lim);
    case "scatterAdd":
      return scatterAddKernel(n, mat, lim);
    default:
      return mapKernel(n, mat, lim);
  }
}

/**
 * Builds a plan from the scheduler's program (src/scheduler): one dispatch per kernel the
 * scheduler emits, its WGSL generated from the kernel IR (wgsl.ts). `inputs` are the graph's
 * input nodes; captured buffers become leaves after them; each intermediate is released to the
 * buffer pool after its last reader (the runtime form of the program's memory plan).
 */
export function planProgram(program: Program, inputs: readonly Node[], env: PlanEnv, scanBodies: (n: Node<"scan">) => Plan): Plan {
  const slotMap = new Map<number, number>();
  const consts: Node[] = [];
  program.slots.forEach((s, i) => {
    if (s.kind === "input") slotMap.set(i, s.index);
  });
  program.slots.forEach((s, i) => {
    if (s.kind === "const") slotMap.set(i, inputs.length + consts.push(s.node) - 1);
  });
  const leaves = [...inputs, ...consts];
  let numSlots = leaves.length;
  const slot = (s: number): number => {
    let p = slotMap.get(s);
    if (p === undefined) slotMap.set(s, (p = numSlots++));
    return p;
  };
  const steps: Step[] = [];
  const maxIn = env.maxBindings - 1;
  for (const k of program.kernels) {
    if (k.kind === "opaque" && k.prim === "scan") {
      const n = k.node as Node<"scan">;
      const body = scanBodies(n);
      const outs = body.outputs.map((_, j) => {
        const s = k.outputs?.[j];
        return s === undefined ? numSlots++ : slot(s);
      });
      steps.push({ kind: "scan", node: n, body, ins: k.inputs.map(slot), outs });
      continue;
    }
    const outSlot = program.slots[k.output]!;
    const bytes = outSlot.size * env.bytesOf(outSlot.dtype);
    env.checkSize(bytes, `${k.ops.join("+")} of shape [${k.shape.join(", ")}]`);
    const out = slot(k.output);
    if (bytes === 0) {
      steps.push({ kind: "alloc", out, bytes: 4 });
      continue;
    }
    const operands: Operand[] = k.inputs.map((s) => ({ size: program.slots[s]!.size, dtype: program.slots[s]!.dtype }));
    const gen = kernelWgsl(k, operands, { size: outSlot.size, dtype: outSlot.dtype }, env.gen);
    if (gen.bindings.length > maxIn) {
      throw new Error(
        `webgpu: a fused kernel (${k.ops.join(", ")}) reads ${gen.bindings.length} buffers, over this device's limit of ${maxIn} storage buffers per kernel (maxStorageBuffersPerShaderStage)`,
      );
    }
    steps.push({ kind: "kernel", spec: gen, ins: gen.bindings.map((i) => slot(k.inputs[i]!)), out, bytes });
  }
  const outSlots = program.outputs.map((ps) => {
    const s = slot(ps);
    if (s >= leaves.length) return s;
    const d = program.slots[ps]!;
    const out = numSlots++;
    steps.push({ kind: "copy", src: s, out, bytes: d.size * env.bytesOf(d.dtype) });
    return out;
  });
  const last = new Map<number, number>();
  steps.forEach((s, k) => {
    const reads = s.kind === "kernel" ? s.ins : s.kind === "scan" ? s.ins : s.kind === "copy" ? [s.src] : [];
    for (const r of reads) last.set(r, k);
    const writes = s.kind === "scan" ? s.outs : [s.out];
    for (const w of writes) if (!last.has(w)) last.set(w, k);
  });
  const keep = new Set(outSlots);
  const frees: number[][] = steps.map(() => []);
  for (const [s, k] of last) if (s >= leaves.length && !keep.has(s)) frees[k]!.push(s);
  return { leaves, numInputs: inputs.length, steps, frees, outputs: outSlots, numSlots };
}
