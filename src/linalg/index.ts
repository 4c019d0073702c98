/**
 * Entry point of `tenfold/linalg`: cholesky, triangularSolve, solve, inv, det, slogdet, qr, eigh,
 * svd and norm on `[..., n, n]` batches (see decomp.ts and eigh.ts for how they are composed). Gradients come from
 * the composition (checked against finite differences in tests/coreops/linalg.test.ts);
 * accuracy bounds measured in float32 are in docs/coreops.md.
 */
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "../ops/base.js";
import { asTensor, requireFloat } from "../ops/base.js";
import { eye } from "../ops/creation.js";
import { abs, divide, log, maximum, multiply, sign, sqrt, square } from "../ops/elementwise.js";
import { matmul } from "../ops/linalg.js";
import { max, prod, sum } from "../ops/reduce.js";
import { broadcastTo, expandDims, flip, matrixTranspose, squeeze } from "../ops/shape.js";
import { eighImpl } from "./eigh.js";
import { choleskyImpl, luEliminate, qrImpl, squareSize, triSolveImpl } from "./decomp.js";

function diag(a: Tensor): Tensor {
  const n = a.shape[a.ndim - 1]!;
  return sum(multiply(a, eye(n)), { axis: -1 });
}

/**
 * Cholesky factor `L` (lower triangular) with `a = L Lᵀ`, for symmetric positive-definite `a`
 * `[..., n, n]` (only the lower triangle is read; not positive definite gives NaN, as JAX).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { cholesky } from "tenfold/linalg";
 * console.log(cholesky(tensor([[4, 2], [2, 5]])).arraySync()); // [[2, 0], [1, 2]]
 * ```
 */
export function cholesky(a: TensorLike): Tensor {
  const t = asTensor(a, "cholesky");
  squareSize("cholesky", t);
  return choleskyImpl(t);
}

/** Options of `triangularSolve`. */
export interface TriangularSolveOptions {
  /** `a` is lower triangular (default true); the other triangle is ignored. */
  readonly lower?: boolean;
  /** Assume ones on the diagonal (default false). */
  readonly unitDiagonal?: boolean;
}

function rhsOf(op: string, n: number, b: Tensor): { m: Tensor; vec: boolean } {
  requireFloat(op, b);
  if (b.ndim >= 1 && b.shape[b.ndim - 1] === n && (b.ndim === 1 || b.shape[b.ndim - 2] !== n)) return { m: expandDims(b, -1), vec: true };
  if (b.ndim < 2 || b.shape[b.ndim - 2] !== n) throw new ShapeError(`${op}: b must be [..., ${n}] or [..., ${n}, k], got ${fmtShape(b.shape)}`);
  return { m: b, vec: false };
}

function batchTogether(a: Tensor, b: Tensor): [Tensor, Tensor] {
  const lead = (t: Tensor): number[] => t.shape.slice(0, -2);
  const la = lead(a);
  const lb = lead(b);
  const n = Math.max(la.length, lb.length);
  const pad = (s: number[]): number[] => [...new Array<number>(n - s.length).fill(1), ...s];
  const [pa, pb] = [pad(la), pad(lb)];
  const out = pa.map((d, i) => {
    if (d !== pb[i] && d !== 1 && pb[i] !== 1) throw new ShapeError(`linalg: batch shapes ${fmtShape(la)} and ${fmtShape(lb)} do not broadcast`);
    return Math.max(d, pb[i]!);
  });
  return [broadcastTo(a, [...out, ...a.shape.slice(-2)]), broadcastTo(b, [...out, ...b.shape.slice(-2)])];
}

/**
 * Solves `a x = b` for triangular `a` `[..., n, n]`; `b` is `[..., n]` or `[..., n, k]`
 * (`jax.scipy.linalg.solve_triangular`).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { triangularSolve } from "tenfold/linalg";
 * console.log(triangularSolve(tensor([[2, 0], [1, 4]]), tensor([2, 9])).arraySync()); // [1, 2]
 * ```
 */
export function triangularSolve(a: TensorLike, b: TensorLike, options: TriangularSolveOptions = {}): Tensor {
  const at = asTensor(a, "triangularSolve");
  const n = squareSize("triangularSolve", at);
  const { m, vec } = rhsOf("triangularSolve", n, asTensor(b, "triangularSolve"));
  const [A, B] = batchTogether(at, m);
  const x = triSolveImpl(A, B, options.lower ?? true, options.unitDiagonal ?? false);
  return vec ? squeeze(x, { axis: -1 }) : x;
}

/**
 * Solves `a x = b` for square `a` `[..., n, n]` by LU with partial pivoting; `b` is `[..., n]`
 * or `[..., n, k]` (`jnp.linalg.solve`). Singular `a` gives inf/NaN.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { solve } from "tenfold/linalg";
 * console.log(solve(tensor([[0, 2], [1, 1]]), tensor([4, 3])).arraySync()); // [1, 2]
 * ```
 */
export function solve(a: TensorLike, b: TensorLike): Tensor {
  const at = asTensor(a, "solve");
  const n = squareSize("solve", at);
  const { m, vec } = rhsOf("solve", n, asTensor(b, "solve"));
  const [A, B] = batchTogether(at, m);
  const { u, b: y } = luEliminate(A, B);
  const x = triSolveImpl(u, y!, false, false);
  return vec ? squeeze(x, { axis: -1 }) : x;
}

/**
 * The inverse of square `a` `[..., n, n]` (`solve(a, I)`).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { inv } from "tenfold/linalg";
 * console.log(inv(tensor([[2, 0], [0, 4]])).arraySync()); // [[0.5, 0], [0, 0.25]]
 * ```
 */
export function inv(a: TensorLike): Tensor {
  const at = asTensor(a, "inv");
  const n = squareSize("inv", at);
  return solve(at, broadcastTo(eye(n), at.shape));
}

/**
 * `[sign, logAbsDet]` of square `a` `[..., n, n]` via LU (`jnp.linalg.slogdet`); sign is 0 for
 * a singular matrix (logAbsDet -inf).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { slogdet } from "tenfold/linalg";
 * const [s, l] = slogdet(tensor([[0, 2], [3, 1]]));
 * console.log(s.arraySync(), l.arraySync()); // -1 1.791759... (log 6)
 * ```
 */
export function slogdet(a: TensorLike): [Tensor, Tensor] {
  const at = asTensor(a, "slogdet");
  squareSize("slogdet", at);
  const { u, sign: s } = luEliminate(at, null);
  const d = diag(u);
  const sgn = multiply(squeeze(s, { axis: [-1, -2] }), prod(sign(d), { axis: -1 }));
  return [sgn, sum(log(abs(d)), { axis: -1 })];
}

/**
 * Determinant of square `a` `[..., n, n]` via LU with partial pivoting.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { det } from "tenfold/linalg";
 * console.log(det(tensor([[1, 2], [3, 4]])).arraySync()); // -2 (up to rounding)
 * ```
 */
export function det(a: TensorLike): Tensor {
  const at = asTensor(a, "det");
  squareSize("det", at);
  const { u, sign: s } = luEliminate(at, null);
  return multiply(squeeze(s, { axis: [-1, -2] }), prod(diag(u), { axis: -1 }));
}

/**
 * Reduced QR of `a` `[..., m, n]` (m >= n): `[q, r]` with `q` `[..., m, n]` orthonormal columns
 * and `r` `[..., n, n]` upper triangular with a positive diagonal (for full-rank `a`).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { qr } from "tenfold/linalg";
 * const [q, r] = qr(tensor([[3, 1], [4, 2]]));
 * console.log(r.arraySync()); // ≈[[5, 2.2], [0, 0.4]]
 * ```
 */
export function qr(a: TensorLike): [Tensor, Tensor] {
  const at = asTensor(a, "qr");
  requireFloat("qr", at);
  if (at.ndim < 2) throw new ShapeError(`qr: expected matrices [..., m, n], got ${fmtShape(at.shape)}`);
  const { q, r } = qrImpl(at);
  return [q, r];
}

/** Options of `norm`. */
export interface NormOptions {
  /** Vector: 1, 2 (default), Infinity; matrix (with two axes): "fro" (default), 1, Infinity. */
  readonly ord?: number | "fro";
  /** One axis (vector norm) or two (matrix norm); default: all axes as one vector (ord 2). */
  readonly axis?: number | readonly [number, number];
  readonly keepdims?: boolean;
}

/**
 * Vector and matrix norms (`jnp.linalg.norm`): vector 1, 2, Infinity; matrix "fro", 1 (max
 * column sum) and Infinity (max row sum). The spectral norm (matrix ord 2) needs `svd`, which
 * this module does not have yet.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { norm } from "tenfold/linalg";
 * console.log(norm(tensor([3, 4])).arraySync(), norm(tensor([[1, -2], [3, 4]]), { ord: 1, axis: [0, 1] }).arraySync()); // 5 6
 * ```
 */
export function norm(x: TensorLike, options: NormOptions = {}): Tensor {
  const t = asTensor(x, "norm");
  requireFloat("norm", t);
  const keepdims = options.keepdims ?? false;
  const ord = options.ord ?? (Array.isArray(options.axis) ? "fro" : 2);
  if (options.axis === undefined || typeof options.axis === "number") {
    const axis = options.axis ?? t.shape.map((_, i) => i);
    if (ord === 2) return sqrt(sum(square(t), { axis, keepdims }));
    if (ord === 1) return sum(abs(t), { axis, keepdims });
    if (ord === Infinity) return max(abs(t), { axis, keepdims });
    throw new ShapeError(`norm: vector ord must be 1, 2 or Infinity, got ${String(ord)}`);
  }
  const [r, c] = options.axis;
  const rr = r! < 0 ? r! + t.ndim : r!;
  const cc = c! < 0 ? c! + t.ndim : c!;
  if (ord === "fro") return sqrt(sum(square(t), { axis: [rr, cc], keepdims }));
  if (ord === 1 || ord === Infinity) {
    const inner = ord === 1 ? rr : cc;
    const outer = ord === 1 ? cc : rr;
    const s = sum(abs(t), { axis: inner, keepdims: true });
    const m = max(s, { axis: outer, keepdims: true });
    return keepdims ? m : squeeze(m, { axis: [rr, cc] });
  }
  throw new ShapeError(`norm: matrix ord must be "fro", 1 or Infinity, got ${String(ord)} (the spectral norm needs svd)`);
}

/**
 * Eigenvalues (ascending) and eigenvectors (columns) of symmetric `a` `[..., n, n]`:
 * `[w, v]` with `a = v diag(w) vᵀ` (`jnp.linalg.eigh`; the symmetrized input is used). Cyclic
 * Jacobi with `sweeps` sweeps (default 8), and the standard eigh gradient (undefined for repeated
 * eigenvalues, as JAX; a customVjp, so reverse mode only: grad/vjp/jacrev). Eigenvector signs
 * are arbitrary.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { eigh } from "tenfold/linalg";
 * const [w] = eigh(tensor([[2, 1], [1, 2]]));
 * console.log(w.arraySync()); // ≈[1, 3]
 * ```
 */
export function eigh(a: TensorLike, options: { sweeps?: number } = {}): [Tensor, Tensor] {
  const t = asTensor(a, "eigh");
  squareSize("eigh", t);
  const sweeps = options.sweeps ?? 8;
  if (!Number.isInteger(sweeps) || sweeps < 1) throw new ShapeError(`eigh: sweeps must be a positive integer, got ${sweeps}`);
  return eighImpl(t, sweeps);
}

/**
 * Singular value decomposition `[u, s, vt]` (reduced, singular values descending) of `a`
 * `[..., m, n]`, from `eigh(aᵀa)` (or `a aᵀ` when m < n): `s = sqrt(eigenvalues)`,
 * `u = a v / s`. Squaring the condition number makes small singular values inaccurate in float32
 * (relative error ~ eps · (s_max / s_i)²); differentiable through eigh's rule for distinct
 * nonzero singular values.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { svd } from "tenfold/linalg";
 * const [, s] = svd(tensor([[3, 0], [0, -2]]));
 * console.log(s.arraySync()); // ≈[3, 2]
 * ```
 */
export function svd(a: TensorLike): [Tensor, Tensor, Tensor] {
  const t = asTensor(a, "svd");
  requireFloat("svd", t);
  if (t.ndim < 2) throw new ShapeError(`svd: expected matrices [..., m, n], got ${fmtShape(t.shape)}`);
  const [m, n] = [t.shape[t.ndim - 2]!, t.shape[t.ndim - 1]!];
  if (m < n) {
    const [u, s, vt] = svd(matrixTranspose(t));
    return [matrixTranspose(vt), s, matrixTranspose(u)];
  }
  const [w, v] = eighImpl(matmul(matrixTranspose(t), t), 8);
  const vd = flip(v, { axis: -1 });
  const s = sqrt(maximum(flip(w, { axis: -1 }), 0));
  const u = divide(matmul(t, vd), expandDims(s, -2));
  return [u, s, matrixTranspose(vd)];
}
