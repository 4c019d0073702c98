// customJvp (jax.custom_jvp): jvp/vjp/grad against finite differences, that the rule (not the
// composition) runs, vmap == loop, jit == eager, linearity errors, ONNX export inlining f.
import { describe, expect, test } from "vitest";
import { add, cos, customJvp, exp, grad, jit, jvp, log, multiply, sin, stack, sum, tensor, vjp, vmap } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { checkGrads } from "../../laws/index.js";
import { exportOnnx } from "../../src/onnx/index.js";

const rows = (t: Tensor): number[] => Array.from(t.dataSync());
function close(got: Tensor, want: readonly number[], tol = 1e-5): void {
  const g = rows(got);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(tol * (1 + Math.abs(want[i]!))));
}

// x·sin(x)·y with its true JVP rule
const f = customJvp(
  (x: Tensor, y: Tensor) => multiply(multiply(x, sin(x)), y),
  ([x, y]: [Tensor, Tensor], [tx, ty]: [Tensor, Tensor]) => {
    const out = multiply(multiply(x, sin(x)), y);
    const dx = multiply(tx, multiply(add(sin(x), multiply(x, cos(x))), y));
    return [out, add(dx, multiply(ty, multiply(x, sin(x))))] as const;
  },
);
// the composition's derivative is cos(x); the rule says 3·cos(x): shows which one runs
const scaled = customJvp(
  (x: Tensor) => sin(x),
  ([x]: [Tensor], [t]: [Tensor]) => [sin(x), multiply(multiply(t, cos(x)), 3)] as const,
);
const X = tensor([0.3, -1.2, 2.0]);
const Y = tensor([1.5, 0.5, -2.0]);

describe("customJvp", () => {
  test("forward value is f's", () =>
    close(
      f(X, Y),
      rows(X).map((x, i) => x * Math.sin(x) * rows(Y)[i]!),
    ));
  test("jvp, vjp and grad agree with finite differences (order 2, both modes)", () => {
    checkGrads((x: Tensor, y: Tensor) => f(x, y), [X, Y], { order: 2, atol: 1e-2, rtol: 1e-2 });
  });
  test("the rule runs, not the composition (jvp, grad, vjp, grad of grad)", () => {
    const [y, t] = jvp(scaled, [X], [tensor([1, 1, 1])]);
    close(y, rows(X).map(Math.sin));
    close(
      t,
      rows(X).map((x) => 3 * Math.cos(x)),
    );
    close(
      grad((x: Tensor) => sum(scaled(x)))(X),
      rows(X).map((x) => 3 * Math.cos(x)),
    );
    const [, back] = vjp(scaled, X);
    close(
      back(tensor([1, 2, 3]))[0]!,
      rows(X).map((x, i) => 3 * (i + 1) * Math.cos(x)),
    );
    // second order differentiates the rule: d/dx 3cos(x) = -3 sin(x)
    close(
      grad((x: Tensor) => sum(grad((z: Tensor) => sum(scaled(z)))(x)))(X),
      rows(X).map((x) => -3 * Math.sin(x)),
    );
  });
  test("vmap == loop, for f, its jvp and its grad", () => {
    const xs = stack([X, Y, add(X, 1)]);
    close(vmap(scaled)(xs), rows(stack([X, Y, add(X, 1)].map((r) => scaled(r)))));
    const g = (x: Tensor): Tensor => grad((z: Tensor) => sum(scaled(z)))(x);
    close(vmap(g)(xs), rows(stack([X, Y, add(X, 1)].map(g))));
    const jf = (x: Tensor): Tensor => jvp(scaled, [x], [exp(x)])[1];
    close(vmap(jf)(xs), rows(stack([X, Y, add(X, 1)].map(jf))));
    // jvp of vmap: the batched rule
    const [, tv] = jvp(vmap(scaled), [xs], [tensor(new Float32Array(9).fill(1), { shape: [3, 3] })]);
    close(
      tv,
      rows(xs).map((x) => 3 * Math.cos(x)),
    );
  });
  test("jit == eager (value and grad)", () => {
    close(jit(f)(X, Y), rows(f(X, Y)));
    const g = grad((x: Tensor) => sum(scaled(x)));
    close(jit(g)(X), rows(g(X)));
  });
  test("a rule that is not linear in the tangents is a clear error in reverse mode", () => {
    const bad = customJvp(
      (x: Tensor) => sin(x),
      ([x]: [Tensor], [t]: [Tensor]) => [sin(x), multiply(t, t)] as const,
    );
    expect(() => grad((x: Tensor) => sum(bad(x)))(X)).toThrow(/customJvp\(.*\): the JVP rule's tangent output must be linear in the tangents.*mul of two/);
    const bad2 = customJvp(
      (x: Tensor) => log(x),
      ([x]: [Tensor], [t]: [Tensor]) => [log(x), exp(t)] as const,
    );
    expect(() => grad((x: Tensor) => sum(bad2(x)))(X)).toThrow(/must be linear in the tangents.*"exp"/);
  });
  test("a rule of the wrong shape is a clear error", () => {
    const bad = customJvp(
      (x: Tensor) => sin(x),
      ([x]: [Tensor], [t]: [Tensor]) => [sin(x), sum(t)] as const,
    );
    expect(() => jvp(bad, [X], [X])).toThrow(/customJvp\(.*\): the rule's output 0/);
  });
  test("ONNX export inlines f", async () => {
    const model = await exportOnnx(
      jit((x: Tensor) => scaled(x)),
      [X],
    );
    expect(new TextDecoder("latin1").decode(model)).toContain("Sin");
  });
});
