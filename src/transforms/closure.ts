/**
 * Closure conversion for higher-order primitives: values a traced body closes over become explicit
 * operands (consts), so that transforms see them (gradients flow to captured weights, vmap
 * batches captured batched values). Literals and iotas stay inline.
 */
import { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { freshId, inputNode, topoSort } from "../core/node.js";
import type { CallInfo } from "../core/primitives.js";
import { dependents, substitute } from "./trace.js";

function isStatic(n: Node, memo: Map<number, boolean>): boolean {
  const hit = memo.get(n.id);
  if (hit !== undefined) return hit;
  const r =
    n.prim === "const" || n.prim === "iota" || (n.prim !== "input" && n.prim !== "buffer" && n.inputs.length > 0 && n.inputs.every((i) => isStatic(i, memo)));
  memo.set(n.id, r);
  return r;
}

/** Lifts free values of `graph` into leading inputs; returns the new graph and the lifted nodes. */
export function closeOver(graph: Graph): { graph: Graph; consts: Node[] } {
  const dep = dependents(graph.outputs, new Set(graph.inputs.map((n) => n.id)));
  const statics = new Map<number, boolean>();
  const free: Node[] = [];
  const seen = new Set<number>();
  const consider = (n: Node): void => {
    if (dep.has(n.id) || seen.has(n.id) || isStatic(n, statics)) return;
    seen.add(n.id);
    free.push(n);
  };
  for (const n of topoSort(graph.outputs, (m) => !dep.has(m.id))) {
    if (dep.has(n.id)) for (const i of n.inputs) consider(i);
  }
  for (const o of graph.outputs) consider(o);
  if (!free.length) return { graph, consts: [] };
  const env = new Map<number, Node>();
  const phs = free.map((n) => {
    const ph = inputNode(n.shape, n.dtype);
    env.set(n.id, ph);
    return ph;
  });
  const outs = substitute(graph.outputs, env);
  return { graph: new Graph([...phs, ...graph.inputs], outs), consts: free };
}

/** Wraps a graph as a call. */
export function callInfo(graph: Graph): CallInfo {
  return { id: freshId(), graph };
}
