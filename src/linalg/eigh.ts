/**
 * Symmetric eigendecomposition `eigh` for `tenfold/linalg`: cyclic Jacobi rotations unrolled
 * over a fixed number of sweeps (each sweep visits every (p, q) pair once; convergence is
 * quadratic, so 8 sweeps reach float32 precision for the small matrices this is meant for). The
 * gradient is the standard rule (as JAX's `eigh` jvp, here as a customVjp):
 * `Ā = V (diag(w̄) + F ∘ (Vᵀ V̄)) Vᵀ`, symmetrized, with `F_ij = 1 / (w_j − w_i)` off the diagonal
 * (undefined for repeated eigenvalues, as in JAX).
 */
import type { Tensor } from "../core/tensor.js";
import { eye, iota } from "../ops/creation.js";
import { abs, add, astype, divide, equal, less, multiply, notEqual, sqrt, square, subtract, where } from "../ops/elementwise.js";
import { matmul } from "../ops/linalg.js";
import { sum } from "../ops/reduce.js";
import { broadcastTo, expandDims, matrixTranspose, takeAlongAxis } from "../ops/shape.js";
import { argsort } from "../ops/sort.js";
import { customVjp } from "../transforms/control.js";

function unit(n: number, j: number): Tensor {
  return astype(equal(iota([n, 1], 0), j), "float32");
}

/** a[p, q] as `[..., 1, 1]`. */
function entry(a: Tensor, p: number, q: number): Tensor {
  const n = a.shape[a.ndim - 1]!;
  return matmul(matmul(matrixTranspose(unit(n, p)), a), unit(n, q));
}

function jacobi(a: Tensor, sweeps: number): [Tensor, Tensor] {
  const n = a.shape[a.ndim - 1]!;
  let A = multiply(add(a, matrixTranspose(a)), 0.5);
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

/** `[w, v]` from the Jacobi iteration with the standard eigh gradient. */
export function eighImpl(a: Tensor, sweeps: number): [Tensor, Tensor] {
  const f = customVjp(
    (x: Tensor): [Tensor, Tensor] => jacobi(x, sweeps),
    (x: Tensor) => {
      const r = jacobi(x, sweeps);
      return [r, r] as const;
    },
    (res: [Tensor, Tensor], g: [Tensor, Tensor]) => {
      const [w, v] = res;
      const [gw, gv] = g;
      const n = w.shape[w.ndim - 1]!;
      const diff = subtract(expandDims(w, -2), expandDims(w, -1)); // [i, j] = w_j - w_i
      const off = notEqual(iota([n, n], 0), iota([n, n], 1));
      const F = where(off, divide(1, where(off, diff, 1)), 0);
      const inner = add(multiply(expandDims(gw, -1), eye(n)), multiply(F, matmul(matrixTranspose(v), gv)));
      const ga = matmul(matmul(v, inner), matrixTranspose(v));
      return [multiply(add(ga, matrixTranspose(ga)), 0.5)];
    },
  );
  return f(a);
}
