/**
 * Singular value decomposition for `tenfold/linalg`: one-sided Jacobi (Hestenes) on `a` itself,
 * so the singular values keep relative accuracy (no squaring of the condition number as with
 * eig(aᵀa)). Each rotation orthogonalizes one pair of columns of U (initially `a`) and applies the
 * same rotation to V (initially I); after the sweeps the column norms are the singular values.
 * Unrolled over a fixed number of sweeps (quadratic convergence). Wide inputs are handled through
 * the transpose. Exactly zero singular values get orthonormal completion columns in U. The
 * gradient rule is in rules.ts.
 */
import type { Tensor } from "../core/tensor.js";
import { eye, iota } from "../ops/creation.js";
import { abs, add, astype, divide, equal, less, maximum, multiply, negative, sqrt, square, subtract, where } from "../ops/elementwise.js";
import { matmul } from "../ops/linalg.js";
import { argmax, sum } from "../ops/reduce.js";
import { broadcastTo, expandDims, matrixTranspose, takeAlongAxis } from "../ops/shape.js";
import { argsort } from "../ops/sort.js";

function unit(n: number, j: number | Tensor): Tensor {
  return astype(equal(iota([n, 1], 0), j), "float32");
}

/** Orthogonalizes columns p and q of U by one rotation, applied to V too. */
function rotatePair(U: Tensor, V: Tensor, p: number, q: number): [Tensor, Tensor] {
  const n = U.shape[U.ndim - 1]!;
  const [ep, eq] = [unit(n, p), unit(n, q)];
  const dot = (x: Tensor, y: Tensor): Tensor => sum(multiply(x, y), { axis: -2, keepdims: true }); // [..., 1, 1]
  const up = matmul(U, ep);
  const uq = matmul(U, eq);
  const alpha = dot(up, up);
  const beta = dot(uq, uq);
  const gamma = dot(up, uq);
  const zero = equal(gamma, 0);
  const zeta = divide(subtract(beta, alpha), multiply(where(zero, 1, gamma), 2));
  const sg = where(less(zeta, 0), -1, 1);
  const t = where(zero, 0, divide(sg, add(abs(zeta), sqrt(add(square(zeta), 1)))));
  const c = divide(1, sqrt(add(square(t), 1)));
  const s = multiply(c, t);
  // columns p, q <- (c·x_p − s·x_q, s·x_p + c·x_q), as rank-one updates
  const rotate = (X: Tensor): Tensor => {
    const xp = matmul(X, ep);
    const xq = matmul(X, eq);
    const dp = subtract(multiply(subtract(c, 1), xp), multiply(s, xq));
    const dq = add(multiply(s, xp), multiply(subtract(c, 1), xq));
    return add(X, add(matmul(dp, matrixTranspose(ep)), matmul(dq, matrixTranspose(eq))));
  };
  return [rotate(U), rotate(V)];
}

/** Reduced `[u, s, vt]` of `a` `[..., m, n]` (s descending) by one-sided Jacobi with `sweeps` sweeps. */
export function jacobiSvd(a: Tensor, sweeps: number): [Tensor, Tensor, Tensor] {
  const [m, n] = [a.shape[a.ndim - 2]!, a.shape[a.ndim - 1]!];
  if (m < n) {
    const [u, s, vt] = jacobiSvd(matrixTranspose(a), sweeps);
    return [matrixTranspose(vt), s, matrixTranspose(u)];
  }
  const V0 = broadcastTo(eye(n), [...a.shape.slice(0, -2), n, n]);
  // Unrolled, not a scan as in eigh.ts: the scan form trips a scheduler bug (planMemory) in jvp/grad.
  let U = a;
  let V = V0;
  for (let sw = 0; sw < sweeps; sw++) for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) [U, V] = rotatePair(U, V, p, q);
  const sv = sqrt(sum(square(U), { axis: -2 })); // [..., n]
  const order = argsort(negative(sv));
  const s = takeAlongAxis(sv, order, { axis: -1 });
  const cols = (X: Tensor): Tensor => takeAlongAxis(X, broadcastTo(expandDims(order, -2), X.shape), { axis: -1 });
  const sRow = expandDims(s, -2);
  const u = where(equal(sRow, 0), 0, divide(cols(U), where(equal(sRow, 0), 1, sRow)));
  return [completeBasis(u, s), s, matrixTranspose(cols(V))];
}

/**
 * Replaces the (zero) columns of `u` `[..., m, k]` whose singular value is exactly 0 by unit
 * vectors orthogonal to the other columns, so that `u` has orthonormal columns as in LAPACK/JAX:
 * column j takes the standard basis vector least represented by the current columns, projected out
 * of them twice (CGS2) and normalized. Columns with s_j > 0 pass through unchanged.
 */
function completeBasis(u: Tensor, s: Tensor): Tensor {
  const [m, k] = [u.shape[u.ndim - 2]!, u.shape[u.ndim - 1]!];
  const I = eye(m);
  const rowsIdx = iota([m, 1], 0);
  let U = u;
  for (let j = 0; j < k; j++) {
    const P = subtract(I, matmul(U, matrixTranspose(U)));
    const best = argmax(sum(multiply(P, I), { axis: -1 }), { axis: -1 }); // [...]
    const e = astype(equal(rowsIdx, expandDims(expandDims(best, -1), -1)), "float32"); // [..., m, 1]
    let c = matmul(P, e);
    c = subtract(c, matmul(U, matmul(matrixTranspose(U), c)));
    c = divide(c, maximum(sqrt(sum(square(c), { axis: -2, keepdims: true })), 1e-30));
    const sj = matmul(expandDims(s, -2), unit(k, j)); // [..., 1, 1]
    U = add(U, matmul(multiply(c, astype(equal(sj, 0), "float32")), matrixTranspose(unit(k, j))));
  }
  return U;
}
