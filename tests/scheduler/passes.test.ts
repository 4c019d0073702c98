// Scheduler passes on random graphs: eval(pass(g)) ≡ eval(g) with the reference interpreter, and
// every pass is idempotent (hash-consing makes "same graph" node identity). Also pins CSE.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Graph, Tensor } from "../../src/index.js";
import { evalGraph } from "../../src/backends/reference/interpret.js";
import { dce, foldConstants, inlineCalls, optimizeGraph, simplify } from "../../src/scheduler/passes.js";
import { apply, close, inputs, progArb, runSeed } from "./gen.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 60);
const evalG = (g: Graph, xs: readonly Tensor[]) =>
  evalGraph(
    g.inputs,
    g.outputs,
    xs.map((x) => x.dataSync()),
  );

const PASSES: [string, (g: Graph) => Graph][] = [
  ["simplify", simplify],
  ["foldConstants", foldConstants],
  ["inlineCalls", inlineCalls],
  ["dce", dce],
  ["optimizeGraph", optimizeGraph],
];

describe("scheduler passes", () => {
  for (const [name, pass] of PASSES) {
    it(`${name}: preserves values and is idempotent on random graphs`, () => {
      const seed = runSeed(name);
      fc.assert(
        fc.property(progArb, (p) => {
          const [x, y] = inputs(p);
          const g = tf.makeGraph((a: Tensor, b: Tensor) => apply(p, a, b))(x, y);
          const once = pass(g);
          const want = evalG(g, [x, y]);
          const got = evalG(once, [x, y]);
          want.forEach((w, i) => expect(close(got[i]!, w), `output ${i}`).toBe(true));
          const twice = pass(once);
          expect(twice.outputs.every((o, i) => o === once.outputs[i])).toBe(true);
        }),
        { seed, numRuns: RUNS },
      );
    });
  }

  it("CSE is hash-consing: structurally equal subexpressions are one node", () => {
    const g = tf.makeGraph((x: Tensor) => tf.add(tf.exp(tf.multiply(x, 2)), tf.exp(tf.multiply(x, 2))))(tf.ones([3]));
    expect(g.nodes().filter((n) => n.prim === "exp").length).toBe(1);
  });

  it("simplify removes identities and folds view chains", () => {
    const g = tf.makeGraph((x: Tensor) => tf.negative(tf.negative(tf.subtract(tf.multiply(tf.permuteDims(tf.permuteDims(x, [1, 0]), [1, 0]), 1), 0))))(
      tf.ones([2, 3]),
    );
    const s = optimizeGraph(g);
    expect(s.outputs[0]).toBe(s.inputs[0]);
  });

  it("simplify keeps rewrites that are wrong under IEEE (float x + 0, x·0, x − x, x / x)", () => {
    for (const f of [(x: Tensor) => tf.add(x, 0), (x: Tensor) => tf.multiply(x, 0), (x: Tensor) => tf.subtract(x, x), (x: Tensor) => tf.divide(x, x)]) {
      const g = tf.makeGraph(f)(tf.ones([2]));
      expect(optimizeGraph(g).outputs[0]!.prim).not.toBe("input");
    }
    // integer x + 0 is exact and goes
    const gi = tf.makeGraph((x: Tensor) => tf.add(x, 0))(tf.ones([2], { dtype: "int32" }));
    expect(optimizeGraph(gi).outputs[0]).toBe(optimizeGraph(gi).inputs[0]);
  });

  it("scalar constant arithmetic folds to one literal", () => {
    const g = tf.makeGraph((x: Tensor) => tf.add(x, tf.multiply(tf.add(2, 3), 4)))(tf.ones([2]));
    const s = optimizeGraph(g);
    const consts = s.nodes().filter((n) => n.prim === "const");
    expect(consts.map((n) => n.params.value)).toEqual([20]);
  });
});
