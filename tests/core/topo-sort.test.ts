// topoSort (src/core/node.ts) marks visited nodes with its walk's number instead of a set of ids:
// on random lazy graphs it must still return every reachable node once, each after its inputs,
// and not enter the nodes where stopAt holds; a walk started from a stopAt callback (whose marks
// would clash with the outer walk's) is an internal error, not a wrong order.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { add, multiply, tanh, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import type { Node } from "../../src/core/node.js";
import { topoSort } from "../../src/core/node.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 100);

/** Reachable nodes (not entering those where stopAt holds), by a plain recursive walk. */
function reachable(outputs: readonly Node[], stopAt?: (n: Node) => boolean): Set<number> {
  const seen = new Set<number>();
  const go = (n: Node): void => {
    if (seen.has(n.id)) return;
    seen.add(n.id);
    if (!stopAt?.(n)) n.inputs.forEach(go);
  };
  outputs.forEach(go);
  return seen;
}

/** A random lazy graph: each step combines two earlier tensors (or applies tanh to one). */
const graphs = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 40 }).map((steps) => {
  const ts: Tensor[] = [tensor([1, 2]), tensor([3, 4])];
  for (const [a, b, op] of steps) {
    const [x, y] = [ts[a % ts.length]!, ts[b % ts.length]!];
    ts.push(op === 0 ? add(x, y) : op === 1 ? multiply(x, y) : tanh(x));
  }
  return ts.map((t) => t.node);
});

describe("topoSort", () => {
  it("orders every reachable node once, after its inputs, and stops where asked (fast-check; seed printed on failure)", () => {
    fc.assert(
      fc.property(graphs, fc.nat(), fc.nat(), (nodes, k, s) => {
        const outputs = [nodes[nodes.length - 1]!, nodes[k % nodes.length]!];
        const stopId = nodes[s % nodes.length]!.id;
        for (const stopAt of [undefined, (n: Node) => n.id === stopId]) {
          const order = topoSort(outputs, stopAt);
          const ids = order.map((n) => n.id);
          expect(new Set(ids).size).toBe(ids.length);
          expect(new Set(ids)).toEqual(reachable(outputs, stopAt));
          const at = new Map(ids.map((id, i) => [id, i]));
          for (const n of order) if (!stopAt?.(n)) for (const i of n.inputs) expect(at.get(i.id)!).toBeLessThan(at.get(n.id)!);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses a walk started inside another walk's stopAt", () => {
    const x = add(tensor([1]), tensor([2]));
    expect(() => topoSort([x.node], () => topoSort([x.node]).length > 0)).toThrow(/internal: topoSort called from a stopAt/);
    expect(topoSort([x.node]).length).toBe(3); // the failed walk left no state behind
  });
});
