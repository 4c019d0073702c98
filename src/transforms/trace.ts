/**
 * Tracing and substitution. Because every op builds graph nodes lazily, tracing a function is
 * just calling it on placeholder tensors; substituting a traced graph's placeholders with other
 * tensors (re-building nodes through the same constructors) is how transformed graphs are applied,
 * whether those tensors are concrete or the placeholders of an outer trace.
 */
import type { DType } from "../core/dtype.js";
import { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { inputNode, makeNode, topoSort, withNodeTable } from "../core/node.js";
import type { Shape } from "../core/shape.js";
import { Tensor } from "../core/tensor.js";
import type { TreeDef } from "../core/tree.js";
import { flatten, unflatten } from "../core/tree.js";
import { asTensor, constant } from "../ops/base.js";

/** Abstract value: shape and dtype. */
export interface Aval {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** A traced function with its input and output structures. */
export interface Traced {
  readonly graph: Graph;
  readonly outDef: TreeDef;
}

/** Converts a leaf (Tensor or number) to a Tensor. */
export function leafTensor(x: unknown, what: string): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === "number") return constant(x, "float32");
  if (typeof x === "boolean") return constant(x ? 1 : 0, "bool");
  throw new TypeError(`${what}: expected a Tensor or number leaf, got ${typeof x}`);
}

/** Traces `f` on placeholders with the given avals; `f` takes and returns flat tensor lists. */
export function traceFlat(f: (args: Tensor[]) => unknown, avals: readonly Aval[], what: string): Traced {
  return withNodeTable(() => {
    const inputs = avals.map((a) => inputNode(a.shape, a.dtype));
    const out = f(inputs.map((n) => new Tensor(n)));
    const [leaves, outDef] = flatten<unknown>(out);
    const outs = leaves.map((l) => leafTensor(l, `${what}: output`).node);
    return { graph: new Graph(inputs, outs), outDef };
  });
}

/** Nodes of `outputs` that depend on any node in `roots` (by id). */
export function dependents(outputs: readonly Node[], roots: ReadonlySet<number>): Set<number> {
  const dep = new Set<number>();
  for (const n of topoSort(outputs)) {
    if (roots.has(n.id) || n.inputs.some((i) => dep.has(i.id))) dep.add(n.id);
  }
  return dep;
}

/**
 * Re-builds `outputs` with nodes in `env` replaced (by id). Nodes that do not depend on replaced
 * ones are kept as they are (closed-over values).
 */
export function substitute(outputs: readonly Node[], env: ReadonlyMap<number, Node>): Node[] {
  const memo = new Map<number, Node>(env);
  for (const n of topoSort(outputs, (m) => memo.has(m.id))) {
    if (memo.has(n.id)) continue;
    let changed = false;
    const ins = n.inputs.map((i) => {
      const r = memo.get(i.id) ?? i;
      if (r !== i) changed = true;
      return r;
    });
    memo.set(n.id, changed ? makeNode(n.prim, n.params, ins) : n);
  }
  return outputs.map((o) => memo.get(o.id)!);
}

/** Applies a traced graph to tensors (inlining it). */
export function applyGraph(graph: Graph, args: readonly Tensor[]): Tensor[] {
  const env = new Map<number, Node>();
  graph.inputs.forEach((n, i) => env.set(n.id, args[i]!.node));
  return substitute(graph.outputs, env).map((n) => new Tensor(n));
}

/** Flattens a list of arguments into tensor leaves (numbers become float32 scalars). */
export function flattenArgs(args: readonly unknown[], what: string): { leaves: Tensor[]; def: TreeDef } {
  const [ls, def] = flatten<unknown>(args);
  return { leaves: ls.map((l) => leafTensor(l, what)), def };
}

/** Rebuilds a tree from a structure and tensors. */
export function rebuild(def: TreeDef, leaves: readonly Tensor[]): unknown {
  return unflatten(def, leaves);
}

export { asTensor };
