/**
 * Dense decompositions for `tenfold/linalg`, composed from ops (matmul, where, gathers, one-hot
 * masks) as loops unrolled over the (static) matrix size n: Cholesky (column by column),
 * triangular solves (substitution), LU with partial pivoting (for solve, inv, det, slogdet) and
 * QR (classical Gram–Schmidt with one reorthogonalization pass, "CGS2"). Every op works on
 * `[..., n, n]` batches and vmaps through the ops' rules; the derivatives are the standard rules
 * of rules.ts (these compositions are never differentiated, only used as linear solves there). Graph size grows linearly with n: meant for the small and medium matrices of model
 * code (n up to a few hundred), not as a LAPACK replacement.
 */
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../core/tensor.js";
import { requireFloat } from "../ops/base.js";
import { iota } from "../ops/creation.js";
import { abs, add, astype, divide, equal, greater, multiply, sqrt, subtract, where } from "../ops/elementwise.js";
import { matmul } from "../ops/linalg.js";
import { argmax, sum } from "../ops/reduce.js";
import { expandDims, matrixTranspose } from "../ops/shape.js";

/** Checks `[..., n, n]` float and returns n. */
export function squareSize(op: string, a: Tensor): number {
  requireFloat(op, a);
  if (a.ndim < 2 || a.shape[a.ndim - 1] !== a.shape[a.ndim - 2]) throw new ShapeError(`${op}: expected square matrices [..., n, n], got ${fmtShape(a.shape)}`);
  return a.shape[a.ndim - 1]!;
}

/** The one-hot column vector e_j as `[n, 1]` float32. */
function unit(n: number, j: number): Tensor {
  return astype(equal(iota([n, 1], 0), j), "float32");
}

/** Row j of `a` (`[..., n, k]` -> `[..., 1, k]`) via a one-hot product (differentiable). */
function row(a: Tensor, j: number): Tensor {
  const n = a.shape[a.ndim - 2]!;
  return matmul(matrixTranspose(unit(n, j)), a);
}

/** Column j of `a` (`[..., n, n]` -> `[..., n, 1]`). */
function col(a: Tensor, j: number): Tensor {
  return matmul(a, unit(a.shape[a.ndim - 1]!, j));
}

/**
 * Cholesky factor L (lower) of symmetric positive-definite `a`: `a = L Lᵀ`. Reads the lower
 * triangle only. Not positive definite: NaN in the affected columns (as JAX).
 */
export function choleskyImpl(a: Tensor): Tensor {
  const n = squareSize("cholesky", a);
  const rowsIdx = iota([n, 1], 0);
  let L = multiply(a, 0);
  for (let j = 0; j < n; j++) {
    // v = a[:, j] - L L[j, :]ᵀ  (L's columns >= j are still zero)
    const v = subtract(col(a, j), matmul(L, matrixTranspose(row(L, j))));
    const d = sqrt(matmul(matrixTranspose(unit(n, j)), v)); // [..., 1, 1]
    const c = where(greater(rowsIdx, j), divide(v, d), where(equal(rowsIdx, j), d, 0)); // [..., n, 1]
    L = add(L, matmul(c, matrixTranspose(unit(n, j))));
  }
  return L;
}

/** Solves `t x = b` for triangular `t` (`[..., n, n]`, b `[..., n, k]`) by substitution. */
export function triSolveImpl(t: Tensor, b: Tensor, lower: boolean, unitDiagonal: boolean): Tensor {
  const n = t.shape[t.ndim - 1]!;
  let x = multiply(b, 0);
  const order = Array.from({ length: n }, (_, i) => (lower ? i : n - 1 - i));
  for (const i of order) {
    const ti = row(t, i); // [..., 1, n]
    // ti @ x uses only solved rows (the rest of x is zero); the diagonal entry multiplies 0.
    const r = subtract(row(b, i), matmul(ti, x));
    const xi = unitDiagonal ? r : divide(r, matmul(ti, unit(n, i)));
    x = add(x, matmul(unit(n, i), xi));
  }
  return x;
}

/** LU with partial pivoting applied to `a` and `b` together: returns U, the transformed b and
 * the permutation's sign. L is not kept (its multipliers are applied to b on the way). */
export function luEliminate(a: Tensor, b: Tensor | null): { u: Tensor; b: Tensor | null; sign: Tensor } {
  const n = a.shape[a.ndim - 1]!;
  const rowsIdx = iota([n, 1], 0);
  let u = a;
  let rhs = b;
  let sign: Tensor = multiply(sum(u, { axis: [-1, -2], keepdims: true }), 0);
  sign = add(sign, 1);
  for (let j = 0; j < n; j++) {
    // pivot p = argmax_{i >= j} |u[i, j]|
    const cj = col(u, j);
    const cand = where(greater(rowsIdx, j - 1), abs(cj), -1);
    const p = expandDims(argmax(cand, { axis: -2 }), -1); // [..., 1, 1] int32
    const ep = astype(equal(rowsIdx, p), "float32"); // [..., n, 1]
    const ej = unit(n, j);
    const swap = (m: Tensor): Tensor => {
      const rj = row(m, j);
      const rp = matmul(matrixTranspose(ep), m);
      return add(m, add(matmul(ej, subtract(rp, rj)), matmul(ep, subtract(rj, rp))));
    };
    // when p == j both rows are the same and the swap adds zero
    sign = where(equal(p, j), sign, multiply(sign, -1));
    u = swap(u);
    if (rhs !== null) rhs = swap(rhs);
    const piv = matmul(matrixTranspose(ej), col(u, j)); // [..., 1, 1]
    const f = where(greater(rowsIdx, j), divide(col(u, j), piv), 0); // [..., n, 1]
    u = subtract(u, matmul(f, row(u, j)));
    if (rhs !== null) rhs = subtract(rhs, matmul(f, row(rhs, j)));
  }
  return { u, b: rhs, sign };
}

/** Reduced QR by CGS2: q `[..., m, n]` with orthonormal columns, r `[..., n, n]` upper. */
export function qrImpl(a: Tensor): { q: Tensor; r: Tensor } {
  const [m, n] = [a.shape[a.ndim - 2]!, a.shape[a.ndim - 1]!];
  if (m < n) throw new ShapeError(`qr: expected a tall or square matrix [..., m, n] with m >= n, got ${fmtShape(a.shape)}`);
  let q = multiply(a, 0);
  let r = multiply(matmul(matrixTranspose(a), a), 0);
  for (let j = 0; j < n; j++) {
    const aj = col(a, j); // [..., m, 1]
    const h1 = matmul(matrixTranspose(q), aj); // [..., n, 1] (zero for columns >= j)
    let v = subtract(aj, matmul(q, h1));
    const h2 = matmul(matrixTranspose(q), v);
    v = subtract(v, matmul(q, h2));
    const nrm = sqrt(sum(multiply(v, v), { axis: -2, keepdims: true })); // [..., 1, 1]
    const ej = unit(n, j);
    q = add(q, matmul(divide(v, nrm), matrixTranspose(ej)));
    r = add(r, matmul(add(add(h1, h2), multiply(ej, nrm)), matrixTranspose(ej)));
  }
  return { q, r };
}
