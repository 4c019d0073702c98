// cond / switchCase / foriLoop / whileLoop: eager values against plain JS, jit == eager (traced
// predicates select), vmap == loop (batched predicates, JAX's select semantics), gradients by
// finite differences, and bad input.
import { describe, expect, test } from "vitest";
import {
  ShapeError,
  add,
  cond,
  foriLoop,
  grad,
  greater,
  jit,
  less,
  multiply,
  negative,
  sin,
  stack,
  sum,
  switchCase,
  tensor,
  vmap,
  whileLoop,
} from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { checkGrads } from "../../laws/index.js";

const rows = (t: Tensor): number[] => Array.from(t.dataSync());

describe("cond", () => {
  const f = (x: Tensor): Tensor =>
    cond(
      greater(sum(x), 0),
      (v: Tensor) => multiply(v, 2),
      (v: Tensor) => negative(sin(v)),
      x,
    );
  test("eager runs one branch; jit == eager; pytrees", () => {
    let calls = 0;
    cond(
      true,
      () => tensor(1),
      () => {
        calls++;
        return tensor(2);
      },
    );
    expect(calls).toBe(0);
    for (const x of [tensor([1, 2]), tensor([-1, -2])]) expect(rows(jit(f)(x))).toEqual(rows(f(x)));
    const r = cond(
      tensor(false),
      (a: Tensor) => ({ y: a, z: [a] }),
      (a: Tensor) => ({ y: add(a, 1), z: [a] }),
      tensor([1]),
    );
    expect(rows(r.y)).toEqual([2]);
  });
  test("vmap == loop over batched predicates; gradients", () => {
    const xs = [tensor([1, 2]), tensor([-1, -2]), tensor([3, -4])];
    expect(rows(vmap(f)(stack(xs)))).toEqual(rows(stack(xs.map(f))));
    checkGrads((x: Tensor) => f(x), [tensor([0.5, 0.25])], { atol: 1e-2, rtol: 1e-2 });
    checkGrads((x: Tensor) => f(x), [tensor([-0.5, 0.25])], { atol: 1e-2, rtol: 1e-2 });
    expect(rows(grad((x: Tensor) => sum(f(x)))(tensor([-1, -2])))).toEqual([-Math.cos(-1), -Math.cos(-2)].map(Math.fround));
  });
  test("bad input", () => {
    expect(() =>
      jit((x: Tensor) =>
        cond(
          greater(sum(x), 0),
          () => tensor([1]),
          () => tensor([1, 2]),
        ),
      )(tensor([1])),
    ).toThrow(/cond: branch outputs differ/);
    expect(() =>
      cond(
        tensor([true, false]),
        () => 1,
        () => 2,
      ),
    ).toThrow(/cond: the predicate must be a scalar/);
  });
});

describe("switchCase", () => {
  const fs = [(x: Tensor) => add(x, 1), (x: Tensor) => multiply(x, 10), (x: Tensor) => sin(x)];
  test("concrete, clamped, traced, vmapped", () => {
    expect(rows(switchCase(1, fs, tensor([1, 2])))).toEqual([10, 20]);
    expect(rows(switchCase(-4, fs, tensor([1, 2])))).toEqual([2, 3]);
    const g = (i: Tensor, x: Tensor): Tensor => switchCase(i, fs, x);
    const is = [0, 1, 2, 7].map((i) => tensor(new Int32Array([i]), { shape: [], dtype: "int32" }));
    const x = tensor([0.5, 1.5]);
    for (const i of is) expect(rows(jit(g)(i, x))).toEqual(rows(g(i, x)));
    expect(rows(vmap(g, { inAxes: [0, null] })(stack(is), x))).toEqual(rows(stack(is.map((i) => g(i, x)))));
    checkGrads((v: Tensor) => jit(g)(is[2]!, v), [x], { atol: 1e-2, rtol: 1e-2 });
  });
});

describe("foriLoop", () => {
  test("values, jit, gradient", () => {
    expect(foriLoop(0, 4, (i, acc: Tensor) => add(multiply(acc, 2), i), tensor(0)).itemSync()).toBe(11);
    expect(foriLoop(3, 3, (_i, acc: Tensor) => add(acc, 1), tensor(5)).itemSync()).toBe(5);
    const f = (x: Tensor): Tensor => foriLoop(0, 5, (_i, c: Tensor) => sin(add(c, x)), x);
    let want = 0.3;
    for (let k = 0; k < 5; k++) want = Math.sin(want + 0.3);
    expect(f(tensor(0.3)).itemSync()).toBeCloseTo(want, 5);
    expect(jit(f)(tensor(0.3)).itemSync()).toBeCloseTo(want, 5);
    checkGrads(f, [tensor([0.3, -0.8])], { atol: 1e-2, rtol: 1e-2 });
    expect(() => foriLoop(0, 1.5, (_i, c: Tensor) => c, tensor(0))).toThrow(/foriLoop: lower and upper must be static integers/);
  });
});

describe("whileLoop", () => {
  const c = (v: Tensor): Tensor => less(v, 100);
  const b = (v: Tensor): Tensor => multiply(v, 3);
  test("eager, bounded under jit, vmap == loop", () => {
    expect(whileLoop(c, b, tensor(2)).itemSync()).toBe(162);
    expect(whileLoop(c, b, tensor(2), { maxIterations: 2 }).itemSync()).toBe(18);
    const f = jit((x: Tensor) => whileLoop(c, b, x, { maxIterations: 10 }));
    expect(f(tensor(2)).itemSync()).toBe(162);
    expect(f(tensor(500)).itemSync()).toBe(500);
    const xs = [2, 50, 200, 1].map((v) => tensor(v));
    expect(rows(vmap((x: Tensor) => whileLoop(c, b, x, { maxIterations: 10 }))(stack(xs)))).toEqual(xs.map((x) => whileLoop(c, b, x).itemSync()));
  });
  test("reverse-differentiable in the bounded form", () => {
    // x -> x * 3^k where k iterations are needed to pass 100: piecewise linear in x
    checkGrads((x: Tensor) => whileLoop(c, b, x, { maxIterations: 10 }), [tensor(7.5)], { atol: 1e-2, rtol: 1e-2 });
    expect(grad((x: Tensor) => whileLoop(c, b, x, { maxIterations: 10 }))(tensor(7.5)).itemSync()).toBe(27);
  });
  test("a traced carry without a bound is a native loop (forward mode only)", () => {
    expect(jit((x: Tensor) => whileLoop(c, b, x))(tensor(2)).itemSync()).toBe(162);
    expect(() => grad((x: Tensor) => whileLoop(c, b, x))(tensor(2))).toThrow(/whileLoop.*maxIterations/s);
    expect(() => whileLoop(c, b, tensor(2), { maxIterations: -1 })).toThrow(ShapeError);
  });
});
