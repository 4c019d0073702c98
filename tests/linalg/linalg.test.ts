// tenfold/linalg against NumPy fixtures (tests/fixtures/coreops/gen_linalg.py), identities
// (L Lᵀ = A, Q R = A, QᵀQ = I, A inv(A) = I), finite-difference gradients, jit == eager,
// vmap == loop, bad input, and the float32 accuracy on Hilbert matrices (docs/linalg.md).
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { ShapeError, add, eye, jit, matmul, matrixTranspose, multiply, stack, sum, tensor, vmap } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { cholesky, det, eigh, inv, norm, qr, slogdet, solve, svd, triangularSolve } from "../../src/linalg/index.js";
import { checkGrads } from "../../laws/index.js";

interface Fix {
  a: number[];
  spd: number[];
  b: number[];
  chol: number[];
  solve: number[];
  inv: number[];
  det: number[];
  slogdet: [number[], number[]];
  q: number[];
  r: number[];
  eigw: number[];
  eigv: number[];
  sv: number[];
  hilbert: Record<string, { h: number[]; b: number[]; cond: number }>;
}
const F = JSON.parse(readFileSync(new URL("../fixtures/coreops/linalg.json", import.meta.url), "utf8")) as Fix;
const N = 5;
const A = tensor(F.a, { shape: [2, N, N] });
const SPD = tensor(F.spd, { shape: [2, N, N] });
const B = tensor(F.b, { shape: [2, N, 3] });
const rows = (t: Tensor): number[] => Array.from(t.dataSync());
function close(got: Tensor, want: readonly number[], tol = 1e-4): void {
  const g = rows(got);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(tol * (1 + Math.abs(want[i]!))));
}
const sym = (x: Tensor): Tensor => multiply(add(x, matrixTranspose(x)), 0.5);

describe("against NumPy", () => {
  test("cholesky", () => close(cholesky(SPD), F.chol));
  test("solve, with matrix and vector right-hand sides", () => {
    close(solve(A, B), F.solve, 1e-3);
    const b0 = tensor(
      F.b.filter((_, i) => i % 3 === 0),
      { shape: [2, N] },
    );
    close(
      solve(A, b0),
      F.solve.filter((_, i) => i % 3 === 0),
      1e-3,
    );
  });
  test("inv, det, slogdet", () => {
    close(inv(A), F.inv, 1e-3);
    close(det(A), F.det, 1e-3);
    const [s, l] = slogdet(A);
    close(s, F.slogdet[0]);
    close(l, F.slogdet[1]);
  });
  test("qr (positive diagonal) and its identities", () => {
    const [q, r] = qr(A);
    close(q, F.q, 1e-3);
    close(r, F.r, 1e-3);
    close(matmul(matrixTranspose(q), q), rows(stack([eye(N), eye(N)])), 1e-5);
  });
  test("triangularSolve lower/upper/unit", () => {
    const L = cholesky(SPD);
    close(matmul(L, triangularSolve(L, B)), rows(B), 1e-4);
    const U = matrixTranspose(L);
    close(matmul(U, triangularSolve(U, B, { lower: false })), rows(B), 1e-4);
    expect(
      rows(
        triangularSolve(
          tensor([
            [9, 0],
            [2, 9],
          ]),
          tensor([1, 5]),
          { unitDiagonal: true },
        ),
      ),
    ).toEqual([1, 3]);
  });
  test("eigh: eigenvalues, |vᵀ v_numpy| = I, reconstruction", () => {
    const [w, v] = eigh(SPD);
    close(w, F.eigw, 1e-4);
    const vn = tensor(F.eigv, { shape: [2, N, N] });
    const overlap = rows(matmul(matrixTranspose(v), vn)).map(Math.abs);
    close(tensor(overlap, { shape: [2, N, N] }), rows(stack([eye(N), eye(N)])), 1e-3);
    const back = matmul(multiply(v, tensor(rows(w), { shape: [2, 1, N] })), matrixTranspose(v));
    close(back, F.spd, 1e-4);
  });
  test("svd: singular values and reconstruction (wide and tall)", () => {
    const a3 = tensor(
      F.a.filter((_, i) => i % N < 3),
      { shape: [2, N, 3] },
    );
    const [u, s, vt] = svd(a3);
    close(s, F.sv, 1e-3);
    close(matmul(multiply(u, tensor(rows(s), { shape: [2, 1, 3] })), vt), rows(a3), 1e-3);
    const [, sw] = svd(matrixTranspose(a3));
    close(sw, F.sv, 1e-3);
  });
  test("norm", () => {
    const x = tensor([
      [1, -2],
      [3, 4],
    ]);
    expect(norm(x).itemSync()).toBeCloseTo(Math.sqrt(30), 5);
    expect(rows(norm(x, { axis: 1, ord: 1 }))).toEqual([3, 7]);
    expect(rows(norm(x, { axis: 0, ord: Infinity }))).toEqual([3, 4]);
    expect(norm(x, { axis: [0, 1], ord: 1 }).itemSync()).toBe(6);
    expect(norm(x, { axis: [0, 1], ord: Infinity }).itemSync()).toBe(7);
    expect(norm(tensor([1, -2, 3]), { ord: 3 }).itemSync()).toBeCloseTo(36 ** (1 / 3), 5);
    expect(() => norm(tensor([1, 2]), { ord: "nuc" })).toThrow(/norm: ord "nuc" is a matrix norm/);
  });
});

describe("gradients (finite differences), jit == eager, vmap == loop", () => {
  const a0 = tensor(F.a.slice(0, 9), { shape: [3, 3] });
  const spd0 = add(matmul(a0, matrixTranspose(a0)), multiply(eye(3), 3));
  test("cholesky, solve, inv, slogdet, det, qr", () => {
    const o = { atol: 3e-2, rtol: 3e-2 };
    checkGrads((x: Tensor) => cholesky(sym(x)), [spd0], o);
    checkGrads((x: Tensor, y: Tensor) => solve(x, y), [a0, tensor([0.5, -1, 2])], o);
    checkGrads((x: Tensor) => inv(x), [a0], o);
    checkGrads((x: Tensor) => slogdet(x)[1], [a0], o);
    checkGrads((x: Tensor) => det(x), [a0], o);
    checkGrads((x: Tensor) => qr(x)[1], [a0], o);
    checkGrads((x: Tensor) => norm(x), [a0], o);
    const rev = o;
    checkGrads((x: Tensor) => eigh(sym(x))[0], [spd0], rev);
    checkGrads(
      (x: Tensor) => {
        const v = eigh(sym(x))[1];
        return multiply(v, v);
      },
      [spd0],
      rev,
    );
    checkGrads((x: Tensor) => svd(x)[1], [a0], rev);
  });
  test("jit == eager and vmap == loop", () => {
    const f = (x: Tensor, y: Tensor): Tensor => solve(x, y);
    close(jit(f)(A, B), rows(f(A, B)), 1e-5);
    const mats = [0, 1].map((i) => tensor(F.a.slice(i * 25, i * 25 + 25), { shape: [N, N] }));
    const bs = [0, 1].map((i) => tensor(F.b.slice(i * 15, i * 15 + 15), { shape: [N, 3] }));
    close(vmap(f)(stack(mats), stack(bs)), rows(stack(mats.map((m, i) => f(m, bs[i]!)))), 1e-5);
    close(vmap((x: Tensor) => det(x))(stack(mats)), rows(stack(mats.map((m) => det(m)))), 1e-5);
  });
});

describe("bad input", () => {
  test("names the function and the shapes", () => {
    expect(() => cholesky(tensor([[1, 2, 3]]))).toThrow(ShapeError);
    expect(() => solve(eye(3), tensor([1, 2]))).toThrow(/solve: b must be \[\.\.\., 3\]/);
    expect(() => qr(tensor([[1, 2, 3]]))).toThrow(/qr: expected a tall or square matrix/);
    expect(() =>
      inv(
        tensor(
          [
            [1, 2],
            [3, 4],
          ],
          { dtype: "int32" },
        ),
      ),
    ).toThrow(/inv: expected a float tensor/);
  });
});

describe("float32 accuracy on ill-conditioned Hilbert matrices (see docs/linalg.md)", () => {
  // Relative forward error of solve(H, H·1) against 1: bounded by ~cond(H)·eps32 times a small
  // factor. Measured (reference backend): n=4 (cond 1.6e4) ~1e-4, n=6 (1.5e7) ~1e-1, n=8
  // (1.5e10) is beyond float32 (error ~1). The bound asserted: 30 · cond · 2^-24.
  for (const n of ["4", "6"]) {
    test(`n = ${n}`, () => {
      const h = F.hilbert[n]!;
      const m = Number(n);
      const x = solve(tensor(h.h, { shape: [m, m] }), tensor(h.b));
      const err = Math.sqrt(rows(x).reduce((s, v) => s + (v - 1) ** 2, 0) / m);
      expect(err).toBeLessThan(30 * h.cond * 2 ** -24);
      const res = rows(sum(multiply(tensor(h.h, { shape: [m, m] }), x), { axis: 1 })).map((v, i) => v - h.b[i]!);
      expect(Math.max(...res.map(Math.abs))).toBeLessThan(1e-5 * m);
    });
  }
});
