/**
 * The schedule of a graph as backends see it: a list of kernels. This first version emits one
 * kernel per computing node (views and leaves cost none); the fusing scheduler refines it.
 */
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { META } from "../core/primitives.js";

/** One kernel of a schedule. */
export interface KernelInfo {
  /** A short name, e.g. `k3_add_exp`. */
  readonly name: string;
  /** The primitives fused into this kernel, in order. */
  readonly ops: readonly string[];
  /** Output shape and dtype. */
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** An optimized schedule. */
export interface Lowered {
  readonly kernels: readonly KernelInfo[];
  readonly graph: Graph;
  toString(): string;
}

const isView = (n: Node): boolean => META[n.prim].kind === "movement" || META[n.prim].kind === "leaf";

/** Lowers a graph to a schedule. */
export function lowerGraph(graph: Graph): Lowered {
  const kernels: KernelInfo[] = [];
  for (const n of graph.nodes()) {
    if (isView(n)) continue;
    kernels.push({ name: `k${kernels.length}_${n.prim}`, ops: [n.prim], shape: n.shape, dtype: n.dtype });
  }
  return {
    kernels,
    graph,
    toString: () => kernels.map((k) => `${k.name}: ${k.ops.join(" -> ")} => ${k.dtype}[${k.shape.join(",")}]`).join("\n"),
  };
}
