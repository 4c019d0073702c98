/** Vectorizing map: batch a traced graph with the batching table; public `vmap`. */
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { isTuple, makeNode, topoSort } from "../core/node.js";
import type { CallPrim, Primitive } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import type { TreeDef } from "../core/tree.js";
import { flatten } from "../core/tree.js";
import { broadcastTo_ } from "../ops/base.js";
import { moveAxis } from "./axes.js";
import type { BatchRule, BatchedCall, CallBatchRule } from "./batch-rules.js";
import { BATCH } from "./batch-rules.js";
import { flattenArgs, rebuild, traceFlat } from "./trace.js";
import { provide } from "./recurse.js";
import { reshape } from "../ops/shape.js";

/** Batched outputs of a graph: values and where their batch axis is (null = unbatched). */
export interface Batched {
  readonly outs: Tensor[];
  readonly dims: (0 | null)[];
}

/** Applies `graph` to operands batched at axis 0 (or unbatched). */
export function batchGraph(graph: Graph, args: readonly Tensor[], dims: readonly (0 | null)[], B: number): Batched {
  const val = new Map<number, Node>();
  const dim = new Map<number, 0 | null>();
  // Call nodes (multi-output) are batched once; their proj nodes read the result here.
  const calls = new Map<number, BatchedCall>();
  graph.inputs.forEach((n, i) => {
    val.set(n.id, args[i]!.node);
    dim.set(n.id, dims[i]!);
  });
  for (const n of topoSort(graph.outputs, (m) => val.has(m.id))) {
    if (val.has(n.id)) continue;
    const ins = n.inputs.map((i) => val.get(i.id) ?? i);
    const ds = n.inputs.map((i) => dim.get(i.id) ?? null);
    const call = n.prim === "proj" ? calls.get(n.inputs[0]!.id) : undefined;
    if (n.prim === "proj" && call) {
      const r = BATCH.proj(call, n);
      val.set(n.id, r.out.node);
      dim.set(n.id, r.dim);
      continue;
    }
    if (ds.every((d) => d === null)) {
      const changed = ins.some((x, k) => x !== n.inputs[k]);
      val.set(n.id, changed ? makeNode(n.prim, n.params, ins) : n);
      dim.set(n.id, null);
      continue;
    }
    if (isTuple(n)) {
      const rule = BATCH[n.prim] as CallBatchRule<CallPrim>;
      calls.set(
        n.id,
        rule(
          ins.map((x) => new Tensor(x)),
          ds,
          n,
          B,
        ),
      );
      val.set(n.id, n);
      continue;
    }
    const rule = BATCH[n.prim] as BatchRule<Primitive>;
    val.set(
      n.id,
      rule(
        ins.map((x) => new Tensor(x)),
        ds,
        n,
        B,
      ).node,
    );
    dim.set(n.id, 0);
  }
  return {
    outs: graph.outputs.map((o) => new Tensor(val.get(o.id) ?? o)),
    dims: graph.outputs.map((o) => dim.get(o.id) ?? null),
  };
}

type Axes = number | null | readonly Axes[] | { readonly [k: string]: Axes };

/** Broadcasts an axes prefix-tree over a value tree, returning one axis per leaf. */
function axesPerLeaf(axes: Axes | undefined, value: unknown, what: string): (number | null)[] {
  const [leaves, def] = flatten<unknown>(value);
  if (typeof axes === "number" && !Number.isInteger(axes)) throw new ShapeError(`vmap: ${what} entries must be integers or null, got ${axes}`);
  if (axes === undefined || axes === null || typeof axes === "number") return leaves.map(() => (axes === undefined ? 0 : axes));
  const rec = (a: Axes, d: TreeDef, out: (number | null)[]): void => {
    if (a === null || typeof a === "number") {
      const n = countLeaves(d);
      for (let i = 0; i < n; i++) out.push(a);
      return;
    }
    if (typeof a !== "object") throw new ShapeError(`vmap: ${what} entries must be integers or null, got ${String(a)}`);
    if (d.kind === "array" && Array.isArray(a) && a.length === d.children.length) {
      d.children.forEach((c, i) => rec((a as readonly Axes[])[i]!, c, out));
      return;
    }
    if (d.kind === "object" && !Array.isArray(a)) {
      const o = a as { readonly [k: string]: Axes };
      for (const k of Object.keys(o)) {
        if (!d.keys.includes(k)) throw new ShapeError(`vmap: ${what} names key "${k}", which the argument ({ ${d.keys.join(", ")} }) does not have`);
      }
      // a key left out of the prefix tree maps axis 0; an explicit null leaves it unmapped
      d.keys.forEach((k, i) => rec(k in o ? o[k]! : 0, d.children[i]!, out));
      return;
    }
    if (d.kind === "array" && !Array.isArray(a) && d.children.length === 1 && top) {
      // one argument: an object of axes is that argument's prefix tree
      top = false;
      rec(a, d.children[0]!, out);
      return;
    }
    throw new ShapeError(`vmap: ${what} do not match the structure of the arguments`);
  };
  let top = what === "inAxes";
  const out: (number | null)[] = [];
  rec(axes, def, out);
  for (const x of out) {
    if (x !== null && !Number.isInteger(x)) throw new ShapeError(`vmap: ${what} entries must be integers or null, got ${String(x)}`);
  }
  return out;
}

function countLeaves(d: TreeDef): number {
  return d.kind === "leaf" ? 1 : d.kind === "static" ? 0 : d.children.reduce((a, c) => a + countLeaves(c), 0);
}

/** Options of `vmap`. */
export interface VmapOptions {
  /** Mapped axis per argument (number, null for unmapped, or pytrees of them); default 0. */
  readonly inAxes?: Axes;
  /** Where the batch axis goes in each output (number or null); default 0. */
  readonly outAxes?: Axes;
}

/**
 * Vectorizes `f` over a batch axis of its arguments.
 * @example
 * ```ts
 * import { vmap, dot, tensor } from "tenfold";
 * const rowDots = vmap((a, b) => dot(a, b), { inAxes: [0, null] });
 * console.log(rowDots(tensor([[1, 2], [3, 4]]), tensor([1, 1])).arraySync()); // [3, 7]
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function vmap<F extends (...args: any[]) => any>(f: F, options: VmapOptions = {}): F {
  const g = (...args: unknown[]): unknown => {
    const a = flattenArgs(args, "vmap");
    const axes =
      options.inAxes === undefined || options.inAxes === null || typeof options.inAxes === "number"
        ? axesPerLeaf(options.inAxes ?? 0, args, "inAxes")
        : axesPerLeaf(options.inAxes, args, "inAxes");
    let B: number | undefined;
    let first = -1;
    const moved = a.leaves.map((t, i) => {
      const ax = axes[i];
      if (ax === null || ax === undefined) return t;
      if (t.ndim === 0) throw new ShapeError(`vmap: leaf ${i} is a scalar but inAxes maps axis ${ax}`);
      const axn = ax < 0 ? ax + t.ndim : ax;
      if (axn < 0 || axn >= t.ndim) throw new ShapeError(`vmap: inAxes ${ax} is out of range for leaf ${i} of shape ${fmtShape(t.shape)}`);
      const n = t.shape[axn]!;
      if (B === undefined) {
        B = n;
        first = i;
      } else if (n !== B) {
        throw new ShapeError(
          `vmap: mismatched batch sizes: leaf ${first} has size ${B} on its mapped axis, leaf ${i} (shape ${fmtShape(t.shape)}) has ${n} on axis ${axn}`,
        );
      }
      return moveAxis(t, axn, 0);
    });
    if (B === undefined) throw new ShapeError("vmap: no argument is mapped (all inAxes are null)");
    const batch = B;
    const dims = axes.map((x) => (x === null || x === undefined ? null : 0));
    const tr = traceFlat(
      (xs) => f(...(rebuild(a.def, xs) as unknown[])),
      moved.map((t, i) => ({ shape: dims[i] === 0 ? t.shape.slice(1) : t.shape, dtype: t.dtype })),
      "vmap",
    );
    const r = batchGraph(tr.graph, moved, dims, batch);
    const outTree = rebuild(tr.outDef, r.outs);
    const outAxes = axesPerLeaf(options.outAxes ?? 0, outTree, "outAxes");
    const outs = r.outs.map((o, i) => {
      const ax = outAxes[i] ?? null;
      if (ax === null) {
        if (r.dims[i] === 0) throw new ShapeError(`vmap: output ${i} depends on the mapped inputs, so its outAxes cannot be null`);
        return o;
      }
      const b = r.dims[i] === 0 ? o : broadcastTo_(reshape(o, [1, ...o.shape]), [batch, ...o.shape]);
      if (ax < -b.ndim || ax >= b.ndim) {
        throw new ShapeError(
          `vmap: outAxes ${ax} is out of range for output ${i} of rank ${b.ndim} (per-example shape ${fmtShape(o.shape.slice(r.dims[i] === 0 ? 1 : 0))}); allowed: ${-b.ndim} to ${b.ndim - 1}`,
        );
      }
      return moveAxis(b, 0, ax < 0 ? ax + b.ndim : ax);
    });
    return rebuild(tr.outDef, outs);
  };
  return g as F;
}

provide("batchGraph", batchGraph);
