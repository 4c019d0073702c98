// The standard JVP rules of tenfold/linalg (customJvp): forward and reverse mode against finite
// differences (checkGrads, order 1 both modes; order 2 for a few), that the rule is what runs,
// non-square svd, norm ord 2/nuc, degenerate inputs (repeated eigen/singular values), vmap == loop
// and jit == eager for gradients.
import { describe, expect, test } from "vitest";
import { add, eye, grad, jit, jvp, matmul, matrixTranspose, multiply, stack, sum, tensor, vmap } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { cholesky, det, eigh, inv, norm, qr, slogdet, solve, svd, triangularSolve } from "../../src/linalg/index.js";
import { checkGrads } from "../../laws/index.js";

const rows = (t: Tensor): number[] => Array.from(t.dataSync());
function close(got: Tensor, want: readonly number[], tol = 1e-4): void {
  const g = rows(got);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => expect(Math.abs(v - want[i]!), `index ${i}: ${v} vs ${want[i]}`).toBeLessThan(tol * (1 + Math.abs(want[i]!))));
}
const A = tensor([
  [2.0, 0.5, -0.3, 0.1],
  [0.4, 1.5, 0.2, -0.6],
  [-0.2, 0.3, 1.2, 0.4],
  [0.7, -0.1, 0.5, 2.4],
]);
const SPD = add(matmul(A, matrixTranspose(A)), multiply(eye(4), 0.5));
const TALL = tensor([
  [1.0, 0.2, -0.5],
  [0.3, 2.0, 0.1],
  [-0.4, 0.6, 1.4],
  [0.8, -0.3, 0.2],
  [0.1, 0.9, -0.7],
]);
const B = tensor([
  [0.5, -1],
  [1, 0.2],
  [-0.3, 0.7],
  [2, 0.1],
]);
const o = { atol: 2e-2, rtol: 2e-2 };
// eigenvector / singular vector signs are arbitrary: differentiate sign-invariant functions of them
const outer = (v: Tensor): Tensor => matmul(multiply(v, tensor([1, 2, 3, 4].slice(0, v.shape[1]))), matrixTranspose(v));

describe("jvp and grad against finite differences (both modes)", () => {
  test("cholesky (symmetrized input, as JAX)", () => checkGrads((x: Tensor) => cholesky(x), [SPD], o));
  test("triangularSolve lower / upper / unit diagonal", () => {
    checkGrads((x: Tensor, b: Tensor) => triangularSolve(x, b), [A, B], o);
    checkGrads((x: Tensor, b: Tensor) => triangularSolve(x, b, { lower: false }), [A, B], o);
    checkGrads((x: Tensor, b: Tensor) => triangularSolve(x, b, { unitDiagonal: true }), [A, B], o);
  });
  test("solve (matrix and vector right-hand side), inv", () => {
    checkGrads((x: Tensor, b: Tensor) => solve(x, b), [A, B], o);
    checkGrads((x: Tensor, b: Tensor) => solve(x, b), [A, tensor([1, -2, 0.5, 3])], o);
    checkGrads((x: Tensor) => inv(x), [A], o);
  });
  test("det, slogdet", () => {
    checkGrads((x: Tensor) => det(x), [A], o);
    checkGrads((x: Tensor) => slogdet(x)[1], [A], o);
    checkGrads((x: Tensor) => slogdet(x)[1], [multiply(A, -1)], o);
  });
  test("qr (square and tall)", () => {
    checkGrads((x: Tensor) => qr(x), [A], o);
    checkGrads((x: Tensor) => qr(x), [TALL], o);
  });
  test("eigh: eigenvalues and eigenvector projectors", () => {
    checkGrads((x: Tensor) => eigh(x)[0], [SPD], o);
    checkGrads((x: Tensor) => outer(eigh(x)[1]), [SPD], o);
  });
  test("svd: square, tall, wide (singular values and u diag(c) vᵀ)", () => {
    for (const x of [A, TALL, matrixTranspose(TALL)]) {
      checkGrads((y: Tensor) => svd(y)[1], [x], o);
      checkGrads(
        (y: Tensor) => {
          const [u, , vt] = svd(y);
          return matmul(multiply(u, tensor([1, 2, 3, 4].slice(0, u.shape[1]))), vt);
        },
        [x],
        o,
      );
    }
  });
  test("norm ord 2, -2, nuc, fro", () => {
    for (const ord of [2, -2, "nuc", "fro"] as const) checkGrads((x: Tensor) => norm(x, { ord, axis: [0, 1] }), [TALL], o);
  });
  test("second order (grad of grad) for det, inv and eigenvalues", () => {
    checkGrads((x: Tensor) => det(x), [A], { ...o, order: 2 });
    checkGrads((x: Tensor) => sum(inv(x)), [A], { ...o, order: 2 });
    checkGrads((x: Tensor) => eigh(x)[0], [SPD], { ...o, order: 2 });
  });
});

describe("closed forms", () => {
  test("d det = det · tr(A⁻¹ dA), d log|det| = tr(A⁻¹ dA): grad is det·A⁻ᵀ and A⁻ᵀ", () => {
    const d = det(A).itemSync();
    const it = rows(matrixTranspose(inv(A)));
    close(
      grad((x: Tensor) => det(x))(A),
      it.map((v) => v * d),
      1e-3,
    );
    close(grad((x: Tensor) => slogdet(x)[1])(A), it, 1e-3);
  });
  test("eigenvalue derivative along dA is diag(Vᵀ dA V); singular values: diag(Uᵀ dA V)", () => {
    const dA = add(
      eye(4),
      tensor([
        [0, 1, 0, 0],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ]),
    );
    const [, v] = eigh(SPD);
    const want = rows(sum(multiply(matmul(matmul(matrixTranspose(v), dA), v), eye(4)), { axis: -1 }));
    close(jvp((x: Tensor) => eigh(x)[0], [SPD], [dA])[1], want, 1e-3);
    const [u, , vt] = svd(A);
    close(
      jvp((x: Tensor) => svd(x)[1], [A], [dA])[1],
      rows(sum(multiply(matmul(matmul(matrixTranspose(u), dA), matrixTranspose(vt)), eye(4)), { axis: -1 })),
      1e-3,
    );
  });
});

describe("degenerate inputs (as JAX)", () => {
  const D = tensor([
    [2, 0, 0],
    [0, 2, 0],
    [0, 0, 5],
  ]);
  test("repeated eigenvalues: gradients of symmetric functions of the eigenvalues stay finite and exact", () => {
    // equal weights on the repeated pair: the result does not depend on the (arbitrary) basis
    close(grad((x: Tensor) => sum(multiply(eigh(x)[0], tensor([1, 1, 3]))))(D), [1, 0, 0, 0, 1, 0, 0, 0, 3], 1e-4);
  });
  test("repeated singular values: singular value gradients are u vᵀ sums, finite", () => {
    const g = rows(grad((x: Tensor) => sum(svd(x)[1]))(D));
    g.forEach((v) => expect(Number.isFinite(v)).toBe(true));
    close(grad((x: Tensor) => sum(svd(x)[1]))(D), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-4);
  });
  test("rank-deficient svd: nuclear-norm gradient on the range", () => {
    const R = tensor([
      [1, 2],
      [2, 4],
      [0, 0],
    ]);
    const g = rows(grad((x: Tensor) => sum(svd(x)[1]))(R));
    // d‖A‖_* = u₁v₁ᵀ on the rank-1 part
    const u = [1 / Math.sqrt(5), 2 / Math.sqrt(5), 0];
    const v = [1 / Math.sqrt(5), 2 / Math.sqrt(5)];
    close(tensor(g.slice(0, 4)), [u[0]! * v[0]!, u[0]! * v[1]!, u[1]! * v[0]!, u[1]! * v[1]!], 1e-3);
  });
});

describe("vmap == loop and jit == eager for gradients", () => {
  const batch = [A, add(A, multiply(eye(4), 0.3)), multiply(A, 1.5)];
  test("vmap(grad(logdet)), vmap(grad(sum svd)), vmap(jvp(cholesky))", () => {
    const g = grad((x: Tensor) => slogdet(x)[1]);
    close(vmap(g)(stack(batch)), rows(stack(batch.map(g))));
    const gs = grad((x: Tensor) => sum(svd(x)[1]));
    close(vmap(gs)(stack(batch)), rows(stack(batch.map(gs))), 1e-3);
    const spds = batch.map((x) => add(matmul(x, matrixTranspose(x)), eye(4)));
    const jc = (x: Tensor): Tensor => jvp((y: Tensor) => cholesky(y), [x], [eye(4)])[1];
    close(vmap(jc)(stack(spds)), rows(stack(spds.map(jc))), 1e-3);
  });
  test("jit(grad) == grad for solve and eigh", () => {
    const g = grad((x: Tensor) => sum(solve(x, B)));
    close(jit(g)(A), rows(g(A)), 1e-4);
    const ge = grad((x: Tensor) => sum(multiply(eigh(x)[0], tensor([1, 0, 2, -1]))));
    close(jit(ge)(SPD), rows(ge(SPD)), 1e-3);
  });
});
