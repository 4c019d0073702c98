/**
 * Public types the package promises (issue 15): `sequential(...).init` gives one precisely typed
 * entry per layer, aux outputs of grad/valueAndGrad are typed as the Tensors they are at run time,
 * and the internals are no longer on the root entry. Checked by tsc (expectTypeOf) and at run time.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import * as tf from "../../src/index.js";
import { grad, mean, nn, random, sum, tensor, valueAndGrad, zeros, type Tensor } from "../../src/index.js";
import * as internals from "../../src/internals.js";

describe("public types", () => {
  it("sequential init returns a per-layer tuple", () => {
    const mlp = nn.sequential(nn.dense(3, 4), nn.relu, nn.dense(4, 2));
    const p = mlp.init(random.key(0));
    expectTypeOf(p).toEqualTypeOf<[nn.DenseParams, Record<string, never>, nn.DenseParams]>();
    expect(p[0].w.shape).toEqual([3, 4]);
    expect(p[2].w.shape).toEqual([4, 2]);
    expect(p[1]).toEqual({});
    // apply still takes the params back (and any Params[] from an optimizer).
    expect(mlp.apply(p, zeros([5, 3])).shape).toEqual([5, 2]);
    const loose: nn.Params[] = p;
    expect(mlp.apply(loose, zeros([1, 3])).shape).toEqual([1, 2]);
  });

  it("aux outputs are typed as Tensors (numbers are traced into tensors)", () => {
    const f = (x: Tensor) => [sum(x), { m: mean(x), n: 2, tag: "k" }] as const;
    const [g, aux] = grad(f, { hasAux: true })(tensor([1, 3]));
    expectTypeOf(aux.m).toEqualTypeOf<Tensor>();
    expectTypeOf(aux.n).toEqualTypeOf<Tensor>();
    expectTypeOf(aux.tag).toEqualTypeOf<"k">();
    expect(tf.isTensor(aux.m) && tf.isTensor(aux.n)).toBe(true);
    expect([aux.m.itemSync(), aux.n.itemSync(), aux.tag, g.arraySync()]).toEqual([2, 2, "k", [1, 1]]);
    const [[v, aux2]] = valueAndGrad((x: Tensor) => [sum(x), [mean(x), 1]] as const, { hasAux: true })(tensor([2, 4]));
    expectTypeOf(aux2).toEqualTypeOf<[Tensor, Tensor]>();
    expect([v.itemSync(), aux2[0].itemSync(), aux2[1].itemSync()]).toEqual([6, 3, 1]);
  });

  it("internals live in tenfold/internals, not the root entry", () => {
    for (const name of ["META", "PRIMITIVES", "Graph", "resolvePadding"]) {
      expect(Object.keys(tf)).not.toContain(name);
      expect(Object.keys(internals)).toContain(name);
    }
    expect(typeof tf.makeGraph).toBe("function"); // public (API.md)
    expect(internals.PRIMITIVES.length).toBeGreaterThan(10);
  });
});
