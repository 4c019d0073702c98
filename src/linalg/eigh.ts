/**
 * Symmetric eigendecomposition for `tenfold/linalg`: cyclic Jacobi rotations, one `scan` step per
 * rotation over a fixed number of sweeps (each sweep visits every (p, q) pair once with the stable rotation of Golub &
 * Van Loan 8.5; convergence is quadratic, so the default 10 sweeps reach float32 precision for
 * the small and medium matrices this is meant for). Eigenvalues come back ascending with their
 * eigenvector columns. The gradient rule is in rules.ts (this file is only the forward pass).
 */
import type { Tensor } from "../core/tensor.js";
import { eye, iota, tensor } from "../ops/creation.js";
import { scan } from "../transforms/control.js";
import { abs, add, astype, divide, equal, less, multiply, sqrt, square, subtract, where } from "../ops/elementwise.js";
import { matmul } from "../ops/linalg.js";
import { sum } from "../ops/reduce.js";
import { broadcastTo, expandDims, matrixTranspose, takeAlongAxis } from "../ops/shape.js";
import { argsort } from "../ops/sort.js";

function unit(n: number, j: number | Tensor): Tensor {
  return astype(equal(iota([n, 1], 0), j), "float32");
}

/** The (p, q) pairs of `sweeps` cyclic sweeps over an n×n matrix, as two int32 vectors. */
export function sweepPairs(n: number, sweeps: number): [Tensor, Tensor] {
  const ps: number[] = [];
  const qs: number[] = [];
  for (let s = 0; s < sweeps; s++) {
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        ps.push(p);
        qs.push(q);
      }
    }
  }
  return [tensor(Int32Array.from(ps)), tensor(Int32Array.from(qs))];
}

/** One Jacobi rotation zeroing A[p, q] (p, q: int32 scalars): returns the rotated `[A, V]`. */
function rotate(A: Tensor, V: Tensor, p: Tensor, q: Tensor): [Tensor, Tensor] {
  const n = A.shape[A.ndim - 1]!;
  const [ep, eq] = [unit(n, p), unit(n, q)];
  const entry = (x: Tensor, y: Tensor): Tensor => matmul(matmul(matrixTranspose(x), A), y);
  const apq = entry(ep, eq);
  const zero = equal(apq, 0);
  const safe = where(zero, 1, apq);
  const theta = divide(subtract(entry(eq, eq), entry(ep, ep)), multiply(safe, 2));
  const sg = where(less(theta, 0), -1, 1);
  const t = where(zero, 0, divide(sg, add(abs(theta), sqrt(add(square(theta), 1)))));
  const c = divide(1, sqrt(add(square(t), 1)));
  const sn = multiply(t, c);
  const outer = (x: Tensor, y: Tensor): Tensor => matmul(x, matrixTranspose(y));
  const J = add(add(eye(n), multiply(subtract(c, 1), add(outer(ep, ep), outer(eq, eq)))), multiply(sn, subtract(outer(ep, eq), outer(eq, ep))));
  return [matmul(matmul(matrixTranspose(J), A), J), matmul(V, J)];
}

/** `[w, v]` (ascending eigenvalues, eigenvector columns) of symmetric `a` `[..., n, n]` by cyclic Jacobi. */
export function jacobiEigh(a: Tensor, sweeps: number): [Tensor, Tensor] {
  const n = a.shape[a.ndim - 1]!;
  let A = a;
  let V = broadcastTo(eye(n), a.shape);
  if (n > 1) {
    // one scan step per rotation: the graph stays small whatever n and the number of sweeps
    const [[A1, V1]] = scan(
      ([x, v]: [Tensor, Tensor], [p, q]: [Tensor, Tensor]) => [rotate(x, v, p, q), []] as const,
      [A, V] as [Tensor, Tensor],
      sweepPairs(n, sweeps),
    );
    [A, V] = [A1, V1];
  }
  const w = sum(multiply(A, eye(n)), { axis: -1 });
  const order = argsort(w);
  const ws = takeAlongAxis(w, order, { axis: -1 });
  const vs = takeAlongAxis(V, broadcastTo(expandDims(order, -2), V.shape), { axis: -1 });
  return [ws, vs];
}
