/**
 * Symmetric eigendecomposition for `tenfold/linalg`: cyclic Jacobi rotations unrolled over a fixed
 * number of sweeps (each sweep visits every (p, q) pair once with the stable rotation of Golub &
 * Van Loan 8.5; convergence is quadratic, so the default 10 sweeps reach float32 precision for
 * the small and medium matrices this is meant for). Eigenvalues come back ascending with their
 * eigenvector columns. The gradient rule is in rules.ts (this file is only the forward pass).
 */
import type { Tensor } from "../core/tensor.js";
import { eye, iota } from "../ops/creation.js";
import { abs, add, astype, divide, equal, less, multiply, sqrt, square, subtract, where } from "../ops/elementwise.js";
import { matmul } from "../ops/linalg.js";
import { sum } from "../ops/reduce.js";
import { broadcastTo, expandDims, matrixTranspose, takeAlongAxis } from "../ops/shape.js";
import { argsort } from "../ops/sort.js";

function unit(n: number, j: number): Tensor {
  return astype(equal(iota([n, 1], 0), j), "float32");
}

/** a[p, q] as `[..., 1, 1]`. */
function entry(a: Tensor, p: number, q: number): Tensor {
  const n = a.shape[a.ndim - 1]!;
  return matmul(matmul(matrixTranspose(unit(n, p)), a), unit(n, q));
}

/** `[w, v]` (ascending eigenvalues, eigenvector columns) of symmetric `a` `[..., n, n]` by cyclic Jacobi. */
export function jacobiEigh(a: Tensor, sweeps: number): [Tensor, Tensor] {
  const n = a.shape[a.ndim - 1]!;
  let A = a;
  let V = broadcastTo(eye(n), a.shape);
  for (let s = 0; s < sweeps; s++) {
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = entry(A, p, q);
        const zero = equal(apq, 0);
        const safe = where(zero, 1, apq);
        const theta = divide(subtract(entry(A, q, q), entry(A, p, p)), multiply(safe, 2));
        const sg = where(less(theta, 0), -1, 1);
        const t = where(zero, 0, divide(sg, add(abs(theta), sqrt(add(square(theta), 1)))));
        const c = divide(1, sqrt(add(square(t), 1)));
        const sn = multiply(t, c);
        const [ep, eq] = [unit(n, p), unit(n, q)];
        const outer = (x: Tensor, y: Tensor): Tensor => matmul(x, matrixTranspose(y));
        const J = add(add(eye(n), multiply(subtract(c, 1), add(outer(ep, ep), outer(eq, eq)))), multiply(sn, subtract(outer(ep, eq), outer(eq, ep))));
        A = matmul(matmul(matrixTranspose(J), A), J);
        V = matmul(V, J);
      }
    }
  }
  const w = sum(multiply(A, eye(n)), { axis: -1 });
  const order = argsort(w);
  const ws = takeAlongAxis(w, order, { axis: -1 });
  const vs = takeAlongAxis(V, broadcastTo(expandDims(order, -2), V.shape), { axis: -1 });
  return [ws, vs];
}
