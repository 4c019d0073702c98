// The native whileLoop primitive (a traced carry without maxIterations): its trip count is decided
// at run time on the reference and cpu backends (values against plain JS loops), forward-mode
// derivatives against float64 finite differences, reverse mode's clear error, vmap == loop with
// batched and unbatched predicates, nesting inside scan/cond, and the primitive in the graph.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { assertAllClose, checkGrads } from "../../laws/index.js";

const { add, astype, divide, equal, floor, greater, jit, jvp, less, multiply, scan, sin, subtract, sum, tensor, vmap, whileLoop, where } = tf;

afterAll(async () => {
  await tf.setBackend("cpu");
});

const tripled = (x: Tensor): Tensor =>
  whileLoop(
    (v: Tensor) => less(v, 100),
    (v: Tensor) => multiply(v, 3),
    x,
  );
function jsTripled(x: number): number {
  while (x < 100) x *= 3;
  return x;
}

/** Collatz steps of n (int32 carry pair). */
const collatz = (n: Tensor): Tensor =>
  whileLoop(
    ([, x]: Tensor[]) => greater(x!, 1),
    ([k, x]: Tensor[]) => {
      const half = floor(divide(x!, 2));
      return [add(k!, 1), where(equal(subtract(x!, multiply(half, 2)), 0), half, add(multiply(x!, 3), 1))];
    },
    [tensor(0, { dtype: "int32" }), n],
  )[0]!;
const f32 = (xs: number[]): Tensor => tensor(xs);
function jsCollatz(n: number): number {
  let k = 0;
  while (n > 1) {
    n = n % 2 === 0 ? n / 2 : 3 * n + 1;
    k++;
  }
  return k;
}

for (const backend of ["reference", "cpu"]) {
  describe(`whileLoop under jit on ${backend}`, () => {
    it("builds a whileLoop primitive (no scan, no unrolling)", async () => {
      await tf.setBackend(backend);
      const prims = tf
        .makeGraph(tripled)(tensor(2))
        .nodes()
        .map((n) => n.prim);
      expect(prims).toContain("whileLoop");
      expect(prims).not.toContain("scan");
    });
    it("the trip count is decided at run time", async () => {
      await tf.setBackend(backend);
      const f = jit(tripled);
      for (const x of [2, 50, 99, 100, 500, 0.5]) expect(f(tensor(x)).itemSync()).toBeCloseTo(jsTripled(x), 3);
      expect(f.stats.traces).toBe(1); // one compiled loop for every trip count
      const g = jit(collatz);
      for (const n of [1, 2, 6, 7, 27]) expect(g(tensor(n)).itemSync()).toBe(jsCollatz(n));
    });
    it("captured tensors and a tuple carry", async () => {
      await tf.setBackend(backend);
      const w = tensor([1, 2]);
      const f = jit((x: Tensor, lim: Tensor) =>
        whileLoop(
          ([v]: Tensor[]) => less(sum(v!), lim),
          ([v, i]: Tensor[]) => [add(v!, w), add(i!, 1)],
          [x, tensor(0, { dtype: "int32" })],
        ),
      );
      const [v, i] = f(tensor([0, 0]), tensor(10)) as Tensor[];
      // sums 0, 3, 6, 9, 12: four steps
      expect(Array.from(v!.dataSync())).toEqual([4, 8]);
      expect(i!.itemSync()).toBe(4);
      const [v2, i2] = f(tensor([20, 0]), tensor(10)) as Tensor[];
      expect(Array.from(v2!.dataSync())).toEqual([20, 0]);
      expect(i2!.itemSync()).toBe(0);
    });
    it("nests inside scan and around cond", async () => {
      await tf.setBackend(backend);
      const f = jit(
        (xs: Tensor) =>
          scan(
            (c: Tensor, x: Tensor) => {
              const y = whileLoop(
                (v: Tensor) => less(v, 100),
                (v: Tensor) =>
                  tf.cond(
                    greater(v, 10),
                    (u: Tensor) => multiply(u, 3),
                    (u: Tensor) => add(u, 5),
                    v,
                  ),
                add(x, c),
              );
              return [multiply(c, 0), y] as [Tensor, Tensor];
            },
            tensor(1),
            xs,
          )[1],
      );
      const js = (v: number): number => {
        while (v < 100) v = v > 10 ? v * 3 : v + 5;
        return v;
      };
      const xs = [1, 7, 40, 120];
      expect(Array.from(f(tensor(xs)).dataSync())).toEqual([js(2), js(7), js(40), js(120)]);
    });
  });
}

describe("whileLoop derivatives", () => {
  it("jvp: the tangent follows the body's jvp, the predicate only the primal", async () => {
    await tf.setBackend("cpu");
    // x -> x * 3^k with k decided by x: derivative 3^k
    for (const [x, k] of [
      [2, 4],
      [50, 1],
      [150, 0],
    ] as const) {
      const [y, t] = jvp(jit(tripled), [tensor(x)], [tensor(1)]) as [Tensor, Tensor];
      expect(y.itemSync()).toBeCloseTo(jsTripled(x), 3);
      expect(t.itemSync()).toBeCloseTo(3 ** k, 4);
    }
  });
  it("forward mode against float64 finite differences (reference backend)", async () => {
    await tf.setBackend("reference");
    // a counter-driven loop: smooth in x and in the captured w
    const f = (x: Tensor, w: Tensor): Tensor =>
      whileLoop(
        ([i]: Tensor[]) => less(i!, 4),
        ([i, v]: Tensor[]) => [add(i!, 1), add(sin(multiply(v!, w)), x)],
        [tensor(0, { dtype: "int32" }), x],
      )[1]!;
    // checkGrads takes its finite differences in float64 on the host
    checkGrads(jit(f), [f32([0.3, -0.7]), f32([1.1, 0.9])], { modes: ["fwd"], order: 2, atol: 1e-2, rtol: 1e-2 });
    checkGrads(f, [f32([0.3, -0.7]), f32([1.1, 0.9])], { modes: ["fwd"], order: 1, atol: 1e-2, rtol: 1e-2 });
    await tf.setBackend("cpu");
  });
  it("reverse mode throws a clear error naming whileLoop and maxIterations", async () => {
    await tf.setBackend("cpu");
    expect(() => tf.grad(tripled)(tensor(2))).toThrow(/whileLoop.*maxIterations/s);
    // the bounded form is reverse-differentiable
    expect(
      tf
        .grad((x: Tensor) =>
          whileLoop(
            (v: Tensor) => less(v, 100),
            (v: Tensor) => multiply(v, 3),
            x,
            { maxIterations: 10 },
          ),
        )(tensor(2))
        .itemSync(),
    ).toBe(81);
    // a loop that does not depend on the differentiated input is fine
    const g = tf.grad((x: Tensor) => multiply(x, tripled(tensor(2))))(tensor(1));
    expect(g.itemSync()).toBe(162);
  });
});

describe("whileLoop under vmap == loop", () => {
  it("batched predicate: loops while any lane runs, finished lanes frozen", async () => {
    await tf.setBackend("cpu");
    const xs = [2, 50, 200, 1, 0.5];
    const got = vmap(tripled)(tensor(xs));
    assertAllClose(got, xs.map(jsTripled), { rtol: 1e-5 });
    assertAllClose(jit(vmap(tripled))(tensor(xs)), xs.map(jsTripled), { rtol: 1e-5 });
    const ns = [1, 6, 7, 27];
    expect(Array.from(vmap(collatz)(tensor(ns)).dataSync())).toEqual(ns.map(jsCollatz));
    // a batched captured limit with an unbatched initial carry
    const lims = [10, 100, 1000];
    const h = vmap((lim: Tensor) =>
      whileLoop(
        (v: Tensor) => less(v, lim),
        (v: Tensor) => multiply(v, 3),
        tensor(2),
      ),
    );
    expect(Array.from(h(tensor(lims)).dataSync())).toEqual([18, 162, 1458]);
  });
  it("unbatched predicate: stays a plain loop over a batched carry", async () => {
    await tf.setBackend("cpu");
    const f = (x: Tensor): Tensor =>
      whileLoop(
        ([i]: Tensor[]) => less(i!, 3),
        ([i, v]: Tensor[]) => [add(i!, 1), multiply(v!, 2)],
        [tensor(0, { dtype: "int32" }), x],
      )[1]!;
    const xs = tensor([
      [1, 2],
      [3, 4],
    ]);
    assertAllClose(vmap(f)(xs), [
      [8, 16],
      [24, 32],
    ]);
    const prims = tf
      .makeGraph(vmap(f))(xs)
      .nodes()
      .map((n) => n.prim);
    expect(prims).toContain("whileLoop");
    // the batched jvp of a while: vmap(jvp) == loop
    const jv = (x: Tensor): Tensor => (jvp(tripled, [x], [tensor(1)]) as Tensor[])[1]!;
    expect(Array.from(vmap(jv)(tensor([2, 50, 150])).dataSync())).toEqual([81, 3, 1]);
  });
  it("a cast predicate and a float carry of several shapes", async () => {
    await tf.setBackend("cpu");
    const f = jit((x: Tensor) =>
      whileLoop(
        (v: Tensor) => astype(less(sum(v), 20), "float32"),
        (v: Tensor) => add(v, 1),
        x,
      ),
    );
    expect(Array.from(f(tensor([[1, 2, 3]])).dataSync())).toEqual([6, 7, 8]); // sums 6, 9, ..., 21: five steps
  });
});
