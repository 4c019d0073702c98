/**
 * The CPU backend (default): graphs are optimized, fused into kernels and compiled to JS over
 * typed arrays (see src/scheduler and ./codegen.ts). `jit` caches the whole compiled program,
 * including its intermediate memory pool; subgraphs that depend only on captured tensors are
 * computed once at compile time.
 */
import type { Backend } from "../../core/backend.js";
import { registerBackend } from "../../core/backend.js";
import type { TypedArray } from "../../core/dtype.js";
import { Graph } from "../../core/graph.js";
import type { Node, Storage } from "../../core/node.js";
import { bufferNode, makeNode, topoSort } from "../../core/node.js";
import { compileGraph } from "./program.js";

function host(a: TypedArray): Storage {
  return { host: a, device: new Map() };
}

function readHost(s: Storage, n: Node): TypedArray {
  if (s.host) return s.host;
  throw new Error(`tensor of shape [${n.shape.join(", ")}] lives on ${[...s.device.keys()].join(", ")}: use await data() or devicePut(x, "cpu")`);
}

const FREE = new Set(["const", "iota", "buffer", "input", "reshape", "broadcast", "permute", "slice", "flip", "pad", "barrier", "stopGradient"]);

/** Whether computing `n` needs a kernel (not only leaves and views of leaves). */
function computes(n: Node): boolean {
  for (const m of topoSort([n])) if (!FREE.has(m.prim)) return true;
  return false;
}

/** Replaces subgraphs that depend only on captured tensors by their precomputed values. */
function hoistConstants(g: Graph, run: (nodes: readonly Node[]) => Storage[]): Graph {
  const nodes = g.nodes();
  const pre = new Set<Node>();
  const need = (x: Node): void => {
    if (!x.traced && x.prim !== "buffer" && !pre.has(x) && computes(x)) pre.add(x);
  };
  for (const n of nodes) if (n.traced) for (const i of n.inputs) need(i);
  for (const o of g.outputs) need(o);
  if (pre.size === 0) return g;
  const list = [...pre];
  const stores = run(list);
  const map = new Map<number, Node>();
  list.forEach((n, i) => map.set(n.id, bufferNode(stores[i]!, n.shape, n.dtype)));
  for (const n of topoSort(g.outputs, (x) => map.has(x.id) || !x.traced)) {
    if (map.has(n.id) || !n.traced) continue;
    const ins = n.inputs.map((i) => map.get(i.id) ?? i);
    map.set(n.id, ins.every((x, k) => x === n.inputs[k]) ? n : makeNode(n.prim, n.params, ins));
  }
  return new Graph(g.inputs, g.outputs.map((o) => map.get(o.id) ?? o));
}

/**
 * Creates the CPU backend.
 * @example
 * ```ts
 * import { setBackend, getBackend, tensor, exp } from "tenfold";
 * await setBackend("cpu");
 * console.log(getBackend(), exp(tensor([0])).arraySync()); // cpu [1]
 * ```
 */
export function cpuBackend(): Backend {
  const run = (nodes: readonly Node[]): Storage[] => compileGraph(new Graph([], nodes)).run([]).map(host);
  return {
    name: "cpu",
    run,
    compile: (graph) => {
      const exe = compileGraph(hoistConstants(graph, run));
      return (inputs) => exe.run(inputs.map((s, i) => readHost(s, graph.inputs[i]!))).map(host);
    },
    read: (s, n) => Promise.resolve(readHost(s, n)),
    readSync: readHost,
  };
}

registerBackend("cpu", cpuBackend);
