// at(...).set/add/multiply/min/max/get, scatter, segmentSum, gather with batch dims, dynamicSlice and
// dynamicUpdateSlice against plain-JS loops implementing JAX's rules (negative indices wrap,
// out-of-range updates drop, the last duplicate set wins, starts clamp), with finite-difference
// gradients, traced indices under jit, and vmap == loop.
import { describe, expect, test } from "vitest";
import {
  DTypeError,
  ShapeError,
  at,
  dynamicSlice,
  dynamicUpdateSlice,
  gather,
  jit,
  random,
  scatter,
  segmentSum,
  stack,
  sum,
  tensor,
  vmap,
} from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { checkGrads } from "../../laws/index.js";

const i32 = (a: number[]): Tensor => tensor(a, { dtype: "int32" });
const sc = (v: number): Tensor => tensor(new Int32Array([v]), { shape: [], dtype: "int32" });
const rows = (t: Tensor): number[] => Array.from(t.dataSync());

/** Reference of a 1-D update in JS (JAX semantics). */
function ref(x: number[], idx: number[], u: number[], mode: string): number[] {
  const y = [...x];
  idx.forEach((i0, b) => {
    const i = i0 < 0 ? i0 + x.length : i0;
    if (i < 0 || i >= x.length) return;
    const v = u[b]!;
    if (mode === "set") y[i] = v;
    else if (mode === "add") y[i]! += v;
    else if (mode === "multiply") y[i]! *= v;
    else if (mode === "min") y[i] = Math.min(y[i]!, v);
    else y[i] = Math.max(y[i]!, v);
  });
  return y;
}

describe("at / scatter", () => {
  const x = [1, -2, 3, 4, 0.5];
  const idx = [3, -1, 0, 3, 7, -9, 1];
  const u = [10, 20, -3, 0.25, 99, 98, -7];
  for (const mode of ["set", "add", "multiply", "min", "max"] as const) {
    test(`${mode} with duplicates, negatives and out-of-range indices`, () => {
      const got = at(tensor(x), idx)[mode](tensor(u));
      rows(got).forEach((v, i) => expect(v).toBeCloseTo(ref(x, idx, u, mode)[i]!, 5));
    });
  }
  test("rows of a matrix along an axis, broadcast values, get", () => {
    const m = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(at(m, 2, { axis: 1 }).set(0).arraySync()).toEqual([
      [1, 2, 0],
      [4, 5, 0],
    ]);
    expect(
      at(m, [0], { axis: 0 })
        .add(tensor([1, 1, 1]))
        .arraySync(),
    ).toEqual([
      [2, 3, 4],
      [4, 5, 6],
    ]);
    expect(at(m, [-1, 0], { axis: 1 }).get().arraySync()).toEqual([
      [3, 1],
      [6, 4],
    ]);
    expect(
      scatter(
        m,
        i32([1, 1]),
        tensor([
          [1, 1],
          [2, 2],
        ]),
        { axis: 1, mode: "add" },
      ).arraySync(),
    ).toEqual([
      [1, 5, 3],
      [4, 8, 6],
    ]);
  });
  test("gradients in x and the values (finite differences)", () => {
    const xv = tensor([0.3, -0.2, 0.9, 1.4]);
    const uv = tensor([0.5, -1.5, 2]);
    for (const mode of ["set", "add", "multiply", "min", "max"] as const) {
      checkGrads((a: Tensor, b: Tensor) => at(a, [2, 0, 3])[mode](b), [xv, uv], { atol: 1e-2, rtol: 1e-2 });
    }
  });
  test("traced indices under jit equal eager; vmap == loop", () => {
    const f = (a: Tensor, i: Tensor, b: Tensor): Tensor => at(a, i).add(b);
    const a = tensor([1, 2, 3, 4]);
    expect(rows(jit(f)(a, i32([1, 3, 1]), tensor([1, 2, 3])))).toEqual(rows(f(a, i32([1, 3, 1]), tensor([1, 2, 3]))));
    const g = (a2: Tensor, i: Tensor): Tensor => at(a2, i).set(-1);
    const is = [i32([0, 2]), i32([3, 3]), i32([1, -1])];
    expect(rows(vmap(g, { inAxes: [null, 0] })(a, stack(is)))).toEqual(rows(stack(is.map((i) => g(a, i)))));
  });
  test("bad input", () => {
    expect(() => at(tensor([1, 2]), tensor([0.5]))).toThrow(DTypeError);
    expect(() => at(tensor([1, 2]), 0, { axis: 1 })).toThrow(/at: axis 1 is out of range/);
    expect(() => scatter(tensor([1, 2]), [0, 1], tensor([1, 2, 3]))).toThrow(/scatter: updates \[3\] must broadcast/);
    expect(() => at(tensor(1), 0)).toThrow(ShapeError);
  });
});

describe("segmentSum", () => {
  test("matches a JS loop, drops out-of-range ids, gradient", () => {
    const d = tensor([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    expect(segmentSum(d, i32([1, 0, 1, 5]), 3).arraySync()).toEqual([
      [3, 4],
      [6, 8],
      [0, 0],
    ]);
    checkGrads((a: Tensor) => segmentSum(a, i32([1, 0, 1, 2]), 3), [d], { atol: 1e-2, rtol: 1e-2 });
    expect(() => segmentSum(d, i32([0, 1]), 2)).toThrow(/segmentSum: segmentIds must be \[n\]/);
  });
});

describe("gather with batch dims", () => {
  test("matches a JS loop; gradient; bad batch", () => {
    const x = random.normal(random.key(0), [2, 3, 4]);
    const idx = i32([2, 0, 2, 1, 1, 3]);
    const ix = tensor(rows(idx), { shape: [2, 3], dtype: "int32" });
    const got = gather(x, ix, { axis: 2, batchDims: 1 }); // [2, 3(x axis 1), 3(idx)]
    expect(got.shape).toEqual([2, 3, 3]);
    const xd = rows(x);
    const want: number[] = [];
    for (let b = 0; b < 2; b++) for (let r = 0; r < 3; r++) for (let j = 0; j < 3; j++) want.push(xd[b * 12 + r * 4 + rows(ix)[b * 3 + j]!]!);
    expect(rows(got)).toEqual(want);
    checkGrads((a: Tensor) => gather(a, ix, { axis: 2, batchDims: 1 }), [x], { atol: 1e-2, rtol: 1e-2 });
    expect(() => gather(x, i32([0, 1, 2]), { batchDims: 1 })).toThrow(/gather: batch axis 0 differs/);
  });
});

describe("dynamicSlice / dynamicUpdateSlice", () => {
  const x = tensor([
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9, 10, 11],
  ]);
  test("hand values with clamping", () => {
    expect(dynamicSlice(x, [1, 2], [2, 2]).arraySync()).toEqual([
      [6, 7],
      [10, 11],
    ]);
    expect(dynamicSlice(x, [5, -3], [2, 3]).arraySync()).toEqual([
      [4, 5, 6],
      [8, 9, 10],
    ]);
    expect(dynamicUpdateSlice(x, tensor([[-1, -2]]), [2, 3]).arraySync()).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, -1, -2],
    ]);
  });
  test("traced starts under jit and vmap == loop", () => {
    const f = (a: Tensor, s: Tensor): Tensor => dynamicSlice(a, [s, 1], [2, 2]);
    for (const s of [0, 1, 2, 7]) expect(rows(jit(f)(x, sc(s)))).toEqual(rows(f(x, sc(s))));
    const g = (a: Tensor, s: Tensor): Tensor => dynamicUpdateSlice(a, tensor([[100, 200]]), [s, s]);
    const ss = [0, 1, 2, -1].map((s) => sc(s));
    expect(rows(vmap(g, { inAxes: [null, 0] })(x, stack(ss)))).toEqual(rows(stack(ss.map((s) => g(x, s)))));
  });
  test("gradients", () => {
    const a = random.normal(random.key(1), [3, 4]);
    const u = random.normal(random.key(2), [2, 2]);
    checkGrads((p: Tensor, q: Tensor) => sum(dynamicUpdateSlice(p, q, [1, 1])), [a, u], { atol: 1e-2, rtol: 1e-2 });
    checkGrads((p: Tensor) => dynamicSlice(p, [1, 2], [2, 2]), [a], { atol: 1e-2, rtol: 1e-2 });
  });
  test("bad input", () => {
    expect(() => dynamicSlice(x, [0], [1])).toThrow(/dynamicSlice: need 2 start indices/);
    expect(() => dynamicSlice(x, [0, 0], [4, 1])).toThrow(/dynamicSlice: size 4 on axis 0/);
  });
});
