/**
 * Fusion and scheduling: decides which nodes are materialized (kernel outputs) and which are
 * inlined into their consumers, builds one kernel per materialized node, and plans memory
 * (intermediates share pool buffers once their last reader has run).
 *
 * Fusion rules: views are index arithmetic; elementwise nodes inline into consumers; a node
 * with several consumers is recomputed when cheap (at most 3 fused ops, no reduction inside),
 * else materialized; a reduction fuses its elementwise prologue and a single-consumer elementwise
 * epilogue; a matmul reads strided views of its operands and takes an elementwise epilogue.
 * A call node (scan, whileLoop, cond: a multi-output node) is one opaque kernel writing the slots
 * of its live `proj` nodes; a projection costs nothing (it is the slot).
 */
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { isPrimIn, isTuple } from "../core/node.js";
import type { Primitive, ReductionPrim } from "../core/primitives.js";
import { ELEMENTWISE_PRIMS, META, REDUCTION_PRIMS } from "../core/primitives.js";
import { sizeOf } from "../core/shape.js";
import type { DType } from "../core/dtype.js";
import type { Kernel, Program, Slot } from "./ir.js";
import { ivar } from "./ir.js";
import { BodyBuilder, VIEW_PRIMS, stridedView } from "./build.js";

type Cls = "source" | "free" | "view" | "elementwise" | "reduce" | "matmul" | "opaque" | "proj";
/** Fusable elementwise primitives: derived from META (the random-bit generator runs as its own kernel). */
const EW = new Set<Primitive>([...ELEMENTWISE_PRIMS].filter((p) => META[p].kind !== "random"));
const RED: ReadonlySet<Primitive> = REDUCTION_PRIMS;

function classify(n: Node): Cls {
  if (n.prim === "input" || n.prim === "buffer") return "source";
  if (n.prim === "const" || n.prim === "iota") return "free";
  if (VIEW_PRIMS.has(n.prim)) return "view";
  if (EW.has(n.prim)) return "elementwise";
  if (RED.has(n.prim)) return "reduce";
  if (n.prim === "matmul") return "matmul";
  if (n.prim === "proj") return "proj";
  return "opaque";
}

/** Largest recomputation (fused ops) allowed for a node with several consumers. */
const RECOMPUTE_OPS = 3;
/** Largest number of fused ops in one kernel. */
const MAX_FUSED_OPS = 48;

/** Decides the materialized set of a graph. */
function materialize(nodes: readonly Node[], outputs: readonly Node[]): Set<Node> {
  const M = new Set<Node>();
  const users = new Map<Node, number>();
  for (const n of nodes) for (const i of new Set(n.inputs)) users.set(i, (users.get(i) ?? 0) + 1);
  const outs = new Set(outputs);
  const anchorOf = new Map<Node, Node | null>();
  const cost = new Map<Node, number>();
  const anchor = (n: Node): Node | null => (M.has(n) ? null : (anchorOf.get(n) ?? null));
  const costOf = (n: Node): number => (M.has(n) ? 0 : (cost.get(n) ?? 0));
  // A node read through an index-changing edge cannot carry a fused reduction/matmul.
  const plain = (i: Node): void => {
    if (anchor(i)) M.add(i);
  };
  for (const n of nodes) {
    const cls = classify(n);
    let a: Node | null = null;
    let c = 0;
    switch (cls) {
      case "source":
        M.add(n);
        break;
      case "free":
        break;
      case "opaque":
        M.add(n);
        for (const i of n.inputs) M.add(i);
        break;
      case "proj":
        // an output slot of its call's kernel (the call node itself gets no slot)
        M.add(n);
        break;
      case "matmul":
        a = n;
        for (const i of n.inputs) {
          plain(i);
          const sv = stridedView(
            i,
            (x) => M.has(x) || classify(x) === "source" || classify(x) === "free" || classify(x) === "elementwise" || classify(x) === "reduce",
          );
          if (!sv) {
            // A view of a computed value (weights transformed, then broadcast over a batch): the
            // smallest node below it that the operand is a strided view of is materialized.
            let pick = i;
            for (let j = i; VIEW_PRIMS.has(j.prim) && j.inputs.length === 1;) {
              const below = j.inputs[0]!;
              j = below;
              if (sizeOf(below.shape) < sizeOf(pick.shape) && stridedView(i, (x) => x === below)) pick = below;
            }
            M.add(pick);
          } else if (!M.has(sv.base)) M.add(sv.base);
        }
        break;
      case "reduce":
        a = n;
        plain(n.inputs[0]!);
        c = costOf(n.inputs[0]!) + 1;
        break;
      case "view": {
        const i = n.inputs[0]!;
        // A reshape appending size-1 dims (keepdims) keeps the loop variables: a reduction
        // stays fused through it, so the row-wise epilogue (log, mean, rsqrt) joins its kernel.
        if (keepsVars(n) && anchor(i)?.prim !== "matmul") a = anchor(i);
        else plain(i);
        c = costOf(i);
        // Do not recompute an expensive producer for every element of a large broadcast.
        if (n.prim === "broadcast" && c > 0 && sizeOf(n.shape) >= 8 * sizeOf(i.shape)) {
          M.add(i);
          c = 0;
        }
        break;
      }
      case "elementwise": {
        c = 1;
        for (const i of new Set(n.inputs)) {
          const ai = anchor(i);
          if (ai) {
            if (a === null) a = ai;
            else if (ai !== a) M.add(ai);
          }
          c += costOf(i);
        }
        break;
      }
    }
    // Bound the size of one fused kernel (deep chains are split, keeping recursion shallow).
    if (c > MAX_FUSED_OPS && cls === "elementwise") {
      M.add(n);
      c = 0;
    }
    anchorOf.set(n, a);
    cost.set(n, c);
    if (cls === "source" || cls === "free") continue;
    const u = users.get(n) ?? 0;
    if (outs.has(n)) M.add(n);
    else if (u > 1 && (a !== null || cls === "reduce" || cls === "matmul")) M.add(n);
  }
  for (const o of outputs) if (classify(o) !== "source") M.add(o);
  // Reverse pass: an expensive node inlined into several kernels is materialized instead
  // (one inlined into a single kernel through several paths is not recomputed).
  const roots = new Map<Node, Set<Node> | "many">();
  const consumers = new Map<Node, Node[]>();
  for (const n of nodes) for (const i of new Set(n.inputs)) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    if (M.has(n)) {
      roots.set(n, new Set([n]));
      continue;
    }
    const rs = new Set<Node>();
    let many = false;
    for (const u of consumers.get(n) ?? []) {
      const r = roots.get(u);
      if (r === "many") many = true;
      else if (r) for (const x of r) rs.add(x);
    }
    if ((many || rs.size > 1) && classify(n) !== "free" && classify(n) !== "view" && (cost.get(n) ?? 0) > RECOMPUTE_OPS) {
      M.add(n);
      roots.set(n, new Set([n]));
    } else roots.set(n, rs.size > 64 ? "many" : rs);
  }
  return M;
}

/**
 * Whether `n` is a reshape that only appends size-1 dims to its operand's shape (a keepdims
 * reduction result): loop variable `o<d>` means the same element on both sides.
 */
function keepsVars(n: Node): boolean {
  if (n.prim !== "reshape") return false;
  const s = n.inputs[0]!.shape;
  return n.shape.length > s.length && s.every((d, i) => n.shape[i] === d) && n.shape.slice(s.length).every((d) => d === 1);
}

/** The anchor (reduce or matmul) fused inside the kernel rooted at `root`, if any. */
function findAnchor(root: Node, M: Set<Node>): Node<"matmul" | ReductionPrim> | undefined {
  const seen = new Set<Node>();
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const cls = classify(n);
    if (n.prim === "matmul" || isPrimIn(n, REDUCTION_PRIMS)) return n; // cls "reduce" or "matmul"
    if (cls === "elementwise" || keepsVars(n)) for (const i of n.inputs) if (!M.has(i)) stack.push(i);
  }
  return undefined;
}

const outVars = (shape: readonly number[], p: string) => shape.map((s, d) => ivar(`${p}${d}`, s));

/**
 * Schedules an optimized graph into a program of kernels over buffer slots.
 * @example
 * ```ts
 * import { jit, exp, add, tensor } from "tenfold";
 * const f = jit((x) => exp(add(x, 1)));
 * console.log(f.lower(tensor([1, 2])).kernels.length); // 1
 * ```
 */
export function scheduleGraph(g: Graph): Program {
  const nodes = g.nodes();
  const M = materialize(nodes, g.outputs);
  const slots: Slot[] = [];
  const slotOf = new Map<Node, number>();
  const inputPos = new Map<Node, number>();
  g.inputs.forEach((n, i) => inputPos.set(n, i));
  const outs = new Set(g.outputs);
  // An output that only reshapes a kernel's result (a conv's [N, O, P] product as [N, O, H, W])
  // is that kernel's buffer: no copy kernel.
  const aliasOf = new Map<Node, Node>();
  const aliased = new Set<Node>();
  const read = new Set(nodes.flatMap((n) => n.inputs));
  for (const o of outs) {
    if (read.has(o)) continue;
    let b = o;
    while (b.prim === "reshape" && (b === o || !outs.has(b))) b = b.inputs[0]!;
    if (b === o || !M.has(b) || classify(b) === "source" || outs.has(b) || aliased.has(b)) continue;
    aliasOf.set(o, b);
    aliased.add(b);
    M.delete(o);
  }
  // Equal projections of one call (same output) share the first one's slot.
  const firstProj = new Map<string, Node>();
  const dupOf = new Map<Node, Node>();
  const projOut = new Set<Node>();
  for (const n of nodes) {
    if (n.prim !== "proj" || !M.has(n)) continue;
    const key = `${n.inputs[0]!.id}|${n.params.index}`;
    const first = firstProj.get(key);
    if (first) dupOf.set(n, first);
    else firstProj.set(key, n);
    if (outs.has(n) || aliased.has(n)) projOut.add(firstProj.get(key)!);
  }
  for (const n of nodes) {
    if (!M.has(n) || isTuple(n) || dupOf.has(n)) continue;
    const size = sizeOf(n.shape);
    if (n.prim === "input") slots.push({ kind: "input", index: inputPos.get(n)!, size, dtype: n.dtype });
    else if (n.prim === "buffer") slots.push({ kind: "const", node: n, size, dtype: n.dtype });
    else if (outs.has(n) || aliased.has(n) || projOut.has(n)) slots.push({ kind: "output", size, dtype: n.dtype });
    else slots.push({ kind: "temp", size, dtype: n.dtype, pool: -1 });
    slotOf.set(n, slots.length - 1);
  }
  for (const [d, first] of dupOf) slotOf.set(d, slotOf.get(first)!);
  // The slots of each call node's outputs: those of its proj nodes, by output index.
  const callOuts = new Map<Node, (number | undefined)[]>();
  for (const n of firstProj.values()) {
    if (n.prim !== "proj") continue;
    const list = callOuts.get(n.inputs[0]!) ?? callOuts.set(n.inputs[0]!, []).get(n.inputs[0]!)!;
    list[n.params.index] = slotOf.get(n);
  }
  const kernels: Kernel[] = [];
  for (const n of nodes) {
    if (!M.has(n) || n.prim === "input" || n.prim === "buffer" || n.prim === "proj") continue;
    kernels.push(buildKernel(n, M, slotOf, callOuts.get(n)));
  }
  const program = { slots, kernels, outputs: g.outputs.map((o) => slotOf.get(aliasOf.get(o) ?? o)!), pool: [] };
  return { ...program, pool: planMemory(slots, kernels, program.outputs) };
}

function buildKernel(root: Node, M: Set<Node>, slotOf: Map<Node, number>, callOuts: readonly (number | undefined)[] | undefined): Kernel {
  const inputs: number[] = [];
  const inputOf = (x: Node): number => {
    const s = slotOf.get(x)!;
    let i = inputs.indexOf(s);
    if (i < 0) i = inputs.push(s) - 1;
    return i;
  };
  const isLoad = (x: Node): boolean => M.has(x) && x !== root;
  const base = { output: slotOf.get(root)!, shape: root.shape, dtype: root.dtype };
  const cls = classify(root);
  if (cls === "opaque") {
    // Positional (not deduplicated): input i of the kernel is operand i of the primitive.
    for (const i of root.inputs) inputs.push(slotOf.get(i)!);
    if (isTuple(root)) {
      // One kernel computes every output of a call node (scan, whileLoop, cond) into the slots of
      // its live projections; `output` is the first of them (a call has at least one live output).
      const outputs = root.avals!.map((_, i) => callOuts?.[i]);
      const first = outputs.find((s) => s !== undefined)!;
      return { kind: "opaque", prim: root.prim, node: root, inputs, outputs, ops: [root.prim], ...base, output: first };
    }
    return { kind: "opaque", prim: root.prim, node: root, inputs, ops: [root.prim], ...base };
  }
  const anchor = (cls === "view" && !keepsVars(root)) || cls === "free" ? undefined : findAnchor(root, M);
  const epi = new BodyBuilder(isLoad, inputOf, anchor);
  const outView = { multi: outVars(root.shape, "o"), flat: ivar("oi", sizeOf(root.shape)) };
  if (!anchor) {
    epi.expr(root, outView);
    return { kind: "elementwise", inputs, body: epi.instrs, ops: epi.ops.length ? epi.ops : ["copy"], ...base };
  }
  if (anchor.prim === "matmul") {
    const [a, b] = anchor.inputs.map((x) => stridedView(x, isLoad)!);
    epi.expr(root, outView);
    const s = anchor.shape;
    const r = s.length;
    return {
      kind: "matmul",
      inputs,
      ...base,
      epilogue: epi.instrs,
      ops: ["matmul", ...epi.ops.filter((o) => o !== "matmul")],
      batch: s.slice(0, r - 2),
      m: s[r - 2]!,
      n: s[r - 1]!,
      k: anchor.inputs[0]!.shape[r - 1]!,
      a: { input: inputOf(a!.base), offset: a!.offset, strides: a!.strides },
      b: { input: inputOf(b!.base), offset: b!.offset, strides: b!.strides },
    };
  }
  const axes = anchor.params.axes;
  const src = anchor.inputs[0]!;
  const body = new BodyBuilder(isLoad, inputOf);
  let ko = 0;
  let kr = 0;
  const multi = src.shape.map((sz, d) => (axes.includes(d) ? ivar(`r${kr++}`, sz) : ivar(`o${ko++}`, sz)));
  body.expr(src, { multi });
  epi.expr(root, outView);
  return {
    kind: "reduce",
    inputs,
    ...base,
    fn: anchor.prim as "sum",
    reduceShape: axes.map((d) => src.shape[d]!),
    accDtype: src.dtype,
    body: body.instrs,
    epilogue: epi.instrs,
    ops: [...body.ops, anchor.prim, ...epi.ops],
  };
}

/** Assigns temp slots to pool buffers: a buffer is reused once the slot's last reader has run. */
function planMemory(slots: Slot[], kernels: readonly Kernel[], outputs: readonly number[]): { size: number; dtype: DType }[] {
  const last = new Map<number, number>();
  kernels.forEach((k, i) => {
    for (const s of k.inputs) last.set(s, i);
  });
  for (const o of outputs) last.set(o, Infinity);
  const pool: { size: number; dtype: DType }[] = [];
  const free: number[] = [];
  const cls = (d: DType): string => (d === "float16" ? "float32" : d);
  kernels.forEach((k, i) => {
    const written = k.kind === "opaque" && k.outputs ? k.outputs.filter((x): x is number => x !== undefined) : [k.output];
    for (const s of written) {
      const slot = slots[s]!;
      if (slot.kind !== "temp") continue;
      let best = -1;
      for (const f of free) {
        if (cls(pool[f]!.dtype) !== cls(slot.dtype)) continue;
        if (best < 0 || Math.abs(pool[f]!.size - slot.size) < Math.abs(pool[best]!.size - slot.size)) best = f;
      }
      if (best >= 0) {
        free.splice(free.indexOf(best), 1);
        pool[best] = { size: Math.max(pool[best]!.size, slot.size), dtype: pool[best]!.dtype };
      } else best = pool.push({ size: slot.size, dtype: slot.dtype }) - 1;
      slot.pool = best;
      if (!last.has(s)) last.set(s, i);
    }
    for (const s of new Set([...k.inputs, ...written])) {
      const slot = slots[s]!;
      if (slot.kind === "temp" && last.get(s) === i) free.push(slot.pool);
    }
  });
  return pool;
}
