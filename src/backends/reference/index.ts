/** The reference backend: realizes graphs with the reference interpreter over host arrays. */
import type { Backend } from "../../core/backend.js";
import { registerBackend } from "../../core/backend.js";
import type { Node, Storage } from "../../core/node.js";
import { cse } from "../../core/node.js";
import type { TypedArray } from "../../core/dtype.js";
import { evalGraph, interpret } from "./interpret.js";

/** Host storage for a typed array. */
export function hostStorage(a: TypedArray): Storage {
  return { host: a, device: new Map() };
}

/** Ensures every buffer leaf under `nodes` has host data (device buffers must be read first). */
function readHost(s: Storage, n: Node): TypedArray {
  if (s.host) return s.host;
  throw new Error(`tensor of shape [${n.shape.join(", ")}] lives on ${[...s.device.keys()].join(", ")}: use await data() or devicePut(x, "cpu")`);
}

/** Creates the reference backend. */
export function referenceBackend(): Backend {
  return {
    name: "reference",
    run: (nodes) => interpret(cse(nodes)).map(hostStorage),
    compile: (graph) => (inputs) =>
      evalGraph(
        graph.inputs,
        graph.outputs,
        inputs.map((s, i) => readHost(s, graph.inputs[i]!)),
      ).map(hostStorage),
    read: (s, n) => Promise.resolve(readHost(s, n)),
    readSync: readHost,
  };
}

registerBackend("reference", referenceBackend);
