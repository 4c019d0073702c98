// The native cond primitive (cond / switchCase with a traced predicate or index): only the selected
// branch runs (an unselected branch that would never terminate is never run), values against the
// eager form on the reference and cpu backends, gradients in both modes against finite
// differences, vjp of several outputs, vmap == loop with batched and unbatched predicates.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { assertAllClose, checkGrads } from "../../laws/index.js";

const { add, cond, cos, greater, grad, jit, less, multiply, negative, sin, stack, sum, switchCase, tensor, vjp, vmap, whileLoop } = tf;

afterAll(async () => {
  await tf.setBackend("cpu");
});

const prims = (f: (...a: Tensor[]) => unknown, ...args: Tensor[]): string[] =>
  tf
    .makeGraph(f)(...args)
    .nodes()
    .map((n) => n.prim);

/** sin(x)·w if sum(x) > 0 else cos(x) + w·x: branches close over different values. */
const w0 = tensor([0.7, -1.3, 0.4]);
const f = (x: Tensor, w: Tensor): Tensor =>
  cond(
    greater(sum(x), 0),
    (v: Tensor) => multiply(sin(v), w),
    (v: Tensor) => add(cos(v), multiply(w0, v)),
    x,
  );

for (const backend of ["reference", "cpu"]) {
  describe(`cond under jit on ${backend}`, () => {
    it("builds one cond primitive and equals the eager form", async () => {
      await tf.setBackend(backend);
      expect(prims(f, tensor([1, 2, 3]), w0)).toContain("cond");
      const jf = jit(f);
      for (const x of [
        [0.5, -0.2, 0.3],
        [-0.5, -0.2, 0.3],
      ]) {
        assertAllClose(jf(tensor(x), tensor([1, 2, 3])), f(tensor(x), tensor([1, 2, 3])), { atol: 1e-6 });
      }
      // one trace serves both predicate values: the branches live in the compiled program
      expect(jf.stats.traces).toBe(1);
    });
    it("runs only the selected branch", async () => {
      await tf.setBackend(backend);
      // the false branch would loop forever for positive x: only the true branch may run
      const g = jit((x: Tensor) =>
        cond(
          greater(sum(x), 0),
          (v: Tensor) => multiply(v, 2),
          (v: Tensor) =>
            whileLoop(
              (u: Tensor) => greater(sum(u), -1),
              (u: Tensor) => add(u, 1),
              v,
            ),
          x,
        ),
      );
      expect(Array.from(g(tensor([1, 2])).dataSync())).toEqual([2, 4]);
      expect(Array.from(g(tensor([-3, -4])).dataSync())).toEqual([-3, -4]);
    });
    it("switchCase clamps the traced index (lax.switch)", async () => {
      await tf.setBackend(backend);
      const fs = [(x: Tensor) => add(x, 1), (x: Tensor) => multiply(x, 10), (x: Tensor) => negative(x)];
      const s = jit((i: Tensor, x: Tensor) => switchCase(i, fs, x));
      expect(prims((i: Tensor, x: Tensor) => switchCase(i, fs, x), tensor(0, { dtype: "int32" }), tensor([1]))).toContain("cond");
      for (const [i, want] of [
        [-3, [2, 3]],
        [0, [2, 3]],
        [1, [10, 20]],
        [2, [-1, -2]],
        [7, [-1, -2]],
      ] as const) {
        expect(Array.from(s(tensor(i, { dtype: "int32" }), tensor([1, 2])).dataSync())).toEqual(want);
      }
    });
    it("tree operands and outputs", async () => {
      await tf.setBackend(backend);
      const h = jit((p: Tensor, a: Tensor, b: Tensor) =>
        cond(
          greater(p, 0),
          (x: { a: Tensor; b: Tensor }) => ({ s: add(x.a, x.b), d: multiply(x.a, 2) }),
          (x: { a: Tensor; b: Tensor }) => ({ s: multiply(x.a, x.b), d: x.b }),
          { a, b },
        ),
      );
      const r1 = h(tensor(1), tensor([1, 2]), tensor([3, 4]));
      expect(Array.from(r1.s.dataSync())).toEqual([4, 6]);
      expect(Array.from(r1.d.dataSync())).toEqual([2, 4]);
      const r2 = h(tensor(-1), tensor([1, 2]), tensor([3, 4]));
      expect(Array.from(r2.s.dataSync())).toEqual([3, 8]);
      expect(Array.from(r2.d.dataSync())).toEqual([3, 4]);
    });
  });
}

describe("cond derivatives", () => {
  it("grad and jvp against finite differences (both branches, order 2, reference backend)", async () => {
    await tf.setBackend("reference");
    for (const x of [
      [0.5, -0.2, 0.3],
      [-0.5, -0.2, 0.3],
    ]) {
      const fx = (a: Tensor, w: Tensor): Tensor => f(a, w);
      checkGrads(jit(fx), [tensor(x), tensor([1.5, -0.5, 2])], { order: 2, modes: ["fwd", "rev"], atol: 1e-2, rtol: 1e-2 });
      checkGrads(fx, [tensor(x), tensor([1.5, -0.5, 2])], { order: 1, modes: ["fwd", "rev"], atol: 1e-2, rtol: 1e-2 });
    }
    await tf.setBackend("cpu");
  });
  it("grad: the derivative of the selected branch; jit(grad) == grad(jit)", async () => {
    await tf.setBackend("cpu");
    const w = tensor([1.5, -0.5, 2]);
    const loss = (x: Tensor): Tensor => sum(f(x, w));
    const xp = tensor([0.5, -0.2, 0.3]);
    const xn = tensor([-0.5, -0.2, 0.3]);
    // true branch: d/dx sum(sin(x)·w) = cos(x)·w; false: -sin(x) + w0
    assertAllClose(grad(loss)(xp), multiply(cos(xp), w), { atol: 1e-6 });
    assertAllClose(grad(loss)(xn), add(negative(sin(xn)), w0), { atol: 1e-6 });
    assertAllClose(jit(grad(loss))(xp), grad(jit(loss))(xp), { atol: 1e-6 });
    assertAllClose(jit(grad(loss))(xn), grad(loss)(xn), { atol: 1e-6 });
    // the gradient reaches the captured weight of the selected branch only
    const gw = grad((w: Tensor) => sum(f(xp, w)))(w);
    assertAllClose(gw, sin(xp), { atol: 1e-6 });
    assertAllClose(grad((w: Tensor) => sum(f(xn, w)))(w), [0, 0, 0]);
  });
  it("vjp of several outputs (a cond transposed per output)", async () => {
    await tf.setBackend("cpu");
    const bs = [(a: Tensor, b: Tensor) => [multiply(a, b), a], (a: Tensor, b: Tensor) => [add(a, b), multiply(b, b)]];
    const h = (lim: number) => jit((x: Tensor, y: Tensor) => switchCase(greater(sum(x), lim), bs, x, y));
    const ones = [tensor([1, 1]), tensor([1, 1])];
    // branch 0: (x·y, x): gx = y + 1, gy = x
    const [out0, pb0] = vjp(h(100), tensor([1, 2]), tensor([3, 4]));
    assertAllClose(out0[1]!, [1, 2]);
    const [gx0, gy0] = pb0(ones) as Tensor[];
    assertAllClose(gx0!, [4, 5]);
    assertAllClose(gy0!, [1, 2]);
    // branch 1: (x + y, y²): gx = 1, gy = 1 + 2y
    const [out1, pb1] = vjp(h(0), tensor([1, 2]), tensor([3, 4]));
    assertAllClose(out1[1]!, [9, 16]);
    const [gx1, gy1] = pb1(ones) as Tensor[];
    assertAllClose(gx1!, [1, 1]);
    assertAllClose(gy1!, [7, 9]);
  });
});

describe("cond under vmap == loop", () => {
  it("batched predicate: where over the branches", async () => {
    await tf.setBackend("cpu");
    const xs = [
      [0.5, -0.2, 0.3],
      [-0.5, -0.2, 0.3],
      [1, 1, -3],
    ];
    const w = tensor([1, 2, 3]);
    const want = stack(xs.map((x) => f(tensor(x), w)));
    assertAllClose(vmap((x: Tensor) => f(x, w))(tensor(xs)), want, { atol: 1e-6 });
    assertAllClose(jit(vmap((x: Tensor) => f(x, w)))(tensor(xs)), want, { atol: 1e-6 });
    expect(
      prims(
        vmap((x: Tensor) => f(x, w)),
        tensor(xs),
      ),
    ).not.toContain("cond");
    const fs = [(x: Tensor) => add(x, 1), (x: Tensor) => multiply(x, 10), (x: Tensor) => negative(x)];
    const idx = [-1, 0, 1, 2, 5];
    const got = vmap((i: Tensor, x: Tensor) => switchCase(i, fs, x))(tensor(idx, { dtype: "int32" }), tensor([1, 2, 3, 4, 5]));
    expect(Array.from(got.dataSync())).toEqual([2, 3, 30, -4, -5]);
  });
  it("unbatched predicate: stays a cond over batched branches", async () => {
    await tf.setBackend("cpu");
    const g = (p: Tensor, x: Tensor): Tensor =>
      cond(
        less(p, 0),
        (v: Tensor) => sin(v),
        (v: Tensor) => multiply(v, p),
        x,
      );
    const xs = tensor([
      [1, 2],
      [3, 4],
    ]);
    for (const p of [-1, 2]) {
      const got = vmap(g, { inAxes: [null, 0] })(tensor(p), xs);
      assertAllClose(got, stack([g(tensor(p), tensor([1, 2])), g(tensor(p), tensor([3, 4]))]), { atol: 1e-6 });
      assertAllClose(jit(vmap(g, { inAxes: [null, 0] }))(tensor(p), xs), got, { atol: 1e-6 });
    }
    expect(prims(vmap(g, { inAxes: [null, 0] }), tensor(1), xs)).toContain("cond");
    // vmap of the gradient (cond transposed under vmap)
    const gl = (x: Tensor): Tensor => grad((v: Tensor) => sum(g(tensor(2), v)))(x);
    assertAllClose(vmap(gl)(xs), [
      [2, 2],
      [2, 2],
    ]);
  });
  it("mismatched branches give a clear error", () => {
    expect(() =>
      jit((x: Tensor) =>
        cond(
          greater(sum(x), 0),
          (v: Tensor) => v,
          (v: Tensor) => sum(v),
          x,
        ),
      )(tensor([1, 2])),
    ).toThrow(/cond: branch outputs differ/);
    expect(() =>
      jit((x: Tensor) =>
        cond(
          greater(sum(x), 0),
          (v: Tensor): Tensor | Tensor[] => [v],
          (v: Tensor): Tensor | Tensor[] => v,
          x,
        ),
      )(tensor([1, 2])),
    ).toThrow(/cond: branches return different structures/);
  });
});
