// tril/triu, cumprod/cummax/cummin, argsort/sort/topK/searchsorted against plain-JS references
// (stable sort with NaN last, running products/maxima), fast-check properties (printing seeds),
// finite-difference gradients, jit == eager and vmap == loop.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ShapeError, argsort, cummax, cummin, cumprod, jit, random, searchsorted, sort, stack, sum, tensor, topK, tril, triu, vmap } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { checkGrads } from "../../laws/index.js";

const rows = (t: Tensor): number[] => Array.from(t.dataSync());
const f32 = (v: number): number => Math.fround(v);

function refArgsort(a: number[], desc = false): number[] {
  const key = (v: number): number => (Number.isNaN(v) ? Infinity : desc ? -v : v);
  const nanRank = (v: number): number => (Number.isNaN(v) ? 1 : 0);
  return a.map((_, i) => i).sort((i, j) => nanRank(a[i]!) - nanRank(a[j]!) || key(a[i]!) - key(a[j]!) || i - j);
}

describe("tril / triu", () => {
  test("hand values and batches", () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
    expect(tril(x).arraySync()).toEqual([
      [1, 0, 0],
      [4, 5, 0],
      [7, 8, 9],
    ]);
    expect(tril(x, { k: -1 }).arraySync()).toEqual([
      [0, 0, 0],
      [4, 0, 0],
      [7, 8, 0],
    ]);
    expect(triu(x, { k: 1 }).arraySync()).toEqual([
      [0, 2, 3],
      [0, 0, 6],
      [0, 0, 0],
    ]);
    expect(triu(stack([x, x])).shape).toEqual([2, 3, 3]);
    expect(() => tril(tensor([1, 2]))).toThrow(/tril: expected a tensor of rank >= 2/);
    checkGrads((a: Tensor) => tril(a), [x], { atol: 1e-2, rtol: 1e-2 });
  });
});

describe("cumprod / cummax / cummin", () => {
  test("property: equal a JS running scan (fast-check)", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 19 }), fc.boolean(), (a, rev) => {
        const x = tensor(a);
        const seq = rev ? [...a].reverse() : a;
        const run = (op: (p: number, q: number) => number): number[] => {
          const out: number[] = [];
          seq.forEach((v, i) => out.push(i === 0 ? f32(v) : f32(op(out[i - 1]!, f32(v)))));
          return rev ? out.reverse() : out;
        };
        const close = (got: number[], want: number[]): void =>
          got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
        close(
          rows(cumprod(x, { axis: 0, reverse: rev })),
          run((p, q) => p * q),
        );
        expect(rows(cummax(x, { axis: 0, reverse: rev }))).toEqual(run(Math.max));
        expect(rows(cummin(x, { axis: 0, reverse: rev }))).toEqual(run(Math.min));
      }),
      { seed: 42, numRuns: 40 },
    );
  });
  test("axes, flattening, int32, gradients (with a zero), jit and vmap", () => {
    const m = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(cumprod(m, { axis: 0 }).arraySync()).toEqual([
      [1, 2, 3],
      [4, 10, 18],
    ]);
    expect(cumprod(m).arraySync()).toEqual([1, 2, 6, 24, 120, 720]);
    expect(cummax(tensor([3, 1, 7, 2], { dtype: "int32" })).arraySync()).toEqual([3, 3, 7, 7]);
    checkGrads(
      (a: Tensor) => cumprod(a, { axis: 1 }),
      [
        tensor([
          [0.5, 0, 1.5, -2],
          [1.1, 0.9, -0.7, 1.3],
        ]),
      ],
      { atol: 1e-2, rtol: 1e-2 },
    );
    checkGrads(
      (a: Tensor) => cummax(a, { axis: 1 }),
      [
        tensor([
          [0.5, 0.1, 1.5, -2],
          [1.1, 0.9, -0.7, 1.3],
        ]),
      ],
      { atol: 1e-2, rtol: 1e-2 },
    );
    const x = random.normal(random.key(0), [3, 6]);
    const f = (a: Tensor): Tensor => cumprod(a, { axis: -1 });
    expect(rows(jit(f)(x))).toEqual(rows(f(x)));
    expect(rows(vmap(f)(x))).toEqual(rows(stack([0, 1, 2].map((i) => f(tensor(rows(x).slice(6 * i, 6 * i + 6)))))));
  });
});

describe("argsort / sort / topK", () => {
  test("property: stable argsort equals a JS stable sort, NaN last, both directions (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(Number.NaN), fc.float({ min: -5, max: 5, noNaN: true })), {
          minLength: 1,
          maxLength: 21,
        }),
        fc.boolean(),
        (a, desc) => {
          const x = tensor(a.map(f32));
          expect(rows(argsort(x, { descending: desc }))).toEqual(refArgsort(a.map(f32), desc));
        },
      ),
      { seed: 7, numRuns: 60 },
    );
  });
  test("axes, sort values, int inputs, topK", () => {
    const m = tensor([
      [3, 1, 2],
      [0, -1, 5],
    ]);
    expect(sort(m).arraySync()).toEqual([
      [1, 2, 3],
      [-1, 0, 5],
    ]);
    expect(sort(m, { axis: 0 }).arraySync()).toEqual([
      [0, -1, 2],
      [3, 1, 5],
    ]);
    expect(argsort(tensor([2, 2, 1], { dtype: "int32" })).arraySync()).toEqual([2, 0, 1]);
    const [v, i] = topK(
      tensor([
        [1, 5, 3, 5],
        [0, -1, 2, 1],
      ]),
      3,
    );
    expect(v.arraySync()).toEqual([
      [5, 5, 3],
      [2, 1, 0],
    ]);
    expect(i.arraySync()).toEqual([
      [1, 3, 2],
      [2, 3, 0],
    ]);
    expect(() => topK(tensor([1, 2]), 3)).toThrow(/topK: k must be an integer in \[0, 2\]/);
    expect(() => argsort(tensor(1))).toThrow(ShapeError);
  });
  test("gradients flow to the selected entries; jit == eager; vmap == loop", () => {
    const x = tensor([0.3, -1.2, 2.5, 0.7, -0.1]);
    checkGrads((a: Tensor) => sort(a), [x], { atol: 1e-2, rtol: 1e-2 });
    checkGrads((a: Tensor) => sum(topK(a, 2)[0]), [x], { atol: 1e-2, rtol: 1e-2 });
    const xs = random.normal(random.key(1), [4, 7]);
    expect(rows(jit((a: Tensor) => sort(a))(xs))).toEqual(rows(sort(xs)));
    const loop = stack([0, 1, 2, 3].map((r) => argsort(tensor(rows(xs).slice(7 * r, 7 * r + 7)))));
    expect(rows(vmap((a: Tensor) => argsort(a))(xs))).toEqual(rows(loop));
  });
});

describe("searchsorted", () => {
  test("both sides against a JS binary search", () => {
    const a = [-1, 0, 0, 2, 5, 5, 9];
    const vs = [-3, -1, 0, 1, 2, 5, 6, 9, 10];
    const left = vs.map((v) => a.filter((x) => x < v).length);
    const right = vs.map((v) => a.filter((x) => x <= v).length);
    expect(rows(searchsorted(tensor(a), tensor(vs)))).toEqual(left);
    expect(rows(searchsorted(tensor(a), tensor(vs), { side: "right" }))).toEqual(right);
    expect(searchsorted(tensor(a), tensor(vs)).dtype).toBe("int32");
    expect(() => searchsorted(tensor([[1]]), tensor([1]))).toThrow(/searchsorted: sorted must be 1-D/);
  });
});
