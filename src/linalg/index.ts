/**
 * Entry point of `tenfold/linalg`: cholesky, triangularSolve, solve, inv, det, slogdet, qr, eigh,
 * svd and norm on `[..., n, n]` / `[..., m, n]` batches: argument checks and broadcasting here, the
 * kernels in decomp.ts, eigh.ts and svd.ts, their standard JVP rules (customJvp, so jvp, grad and
 * vmap all use them) in rules.ts. Float32 accuracy bounds measured in tests/linalg are in
 * docs/linalg.md.
 */
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "../ops/base.js";
import { asTensor, requireFloat } from "../ops/base.js";
import { abs, astype, notEqual, pow, sqrt, square } from "../ops/elementwise.js";
import { max, min, sum } from "../ops/reduce.js";
import { broadcastTo, expandDims, permuteDims, squeeze } from "../ops/shape.js";
import { squareSize } from "./decomp.js";
import { choleskyD, detD, eighD, invD, qrD, slogdetD, solveD, svdD, triSolveD } from "./rules.js";

/**
 * Cholesky factor `L` (lower triangular) with `a = L Lᵀ`, for symmetric positive-definite `a`
 * `[..., n, n]` (the symmetrized input `(a + aᵀ)/2` is used, as JAX; not positive definite gives
 * NaN). Gradient: `L̇ = L Φ(L⁻¹ Ȧ L⁻ᵀ)`.
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
  return choleskyD(t);
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
  const x = triSolveD(options.lower ?? true, options.unitDiagonal ?? false)(A, B);
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
  const x = solveD(A, B);
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
  squareSize("inv", at);
  return invD(at);
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
  return slogdetD(at);
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
  return detD(at);
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
  const [m, n] = [at.shape[at.ndim - 2]!, at.shape[at.ndim - 1]!];
  if (m < n) throw new ShapeError(`qr: expected a tall or square matrix [..., m, n] with m >= n, got ${fmtShape(at.shape)}`);
  return qrD(at);
}

/** Options of `norm`. */
export interface NormOptions {
  /**
   * Vector: 1, 2 (default), Infinity, -Infinity, 0 (count of nonzeros) or any other p; matrix (two axes):
   * "fro" (default), "nuc" (sum of singular values), 2 / -2 (largest / smallest singular value),
   * 1 / -1 (max / min column sum), Infinity / -Infinity (max / min row sum).
   */
  readonly ord?: number | "fro" | "nuc";
  /** One axis (vector norm) or two (matrix norm); default: all axes as one vector (ord 2), or the two axes of a matrix. */
  readonly axis?: number | readonly [number, number];
  readonly keepdims?: boolean;
}

/**
 * Vector and matrix norms as `numpy.linalg.norm` / `jnp.linalg.norm`: vector p-norms, matrix
 * "fro", "nuc", 2 / -2 (via `svd`), 1 / -1 and Infinity / -Infinity.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { norm } from "tenfold/linalg";
 * const m = tensor([[1, -2], [3, 4]]);
 * console.log(norm(tensor([3, 4])).arraySync(), norm(m, { ord: 1, axis: [0, 1] }).arraySync()); // 5 6
 * console.log(norm(tensor([[3, 0], [0, -2]]), { ord: 2, axis: [0, 1] }).arraySync(), norm(tensor([[3, 0], [0, -2]]), { ord: "nuc", axis: [0, 1] }).arraySync()); // ≈3 ≈5
 * ```
 */
export function norm(x: TensorLike, options: NormOptions = {}): Tensor {
  const t = asTensor(x, "norm");
  requireFloat("norm", t);
  const keepdims = options.keepdims ?? false;
  const ord = options.ord ?? (Array.isArray(options.axis) ? "fro" : 2);
  const norm1 = (ax: number): number => {
    const a = ax < 0 ? ax + t.ndim : ax;
    if (!Number.isInteger(a) || a < 0 || a >= t.ndim) throw new ShapeError(`norm: axis ${ax} is out of range for a tensor of rank ${t.ndim}`);
    return a;
  };
  if (options.axis === undefined || typeof options.axis === "number") {
    const axis = options.axis === undefined ? t.shape.map((_, i) => i) : norm1(options.axis);
    if (typeof ord !== "number") throw new ShapeError(`norm: ord ${JSON.stringify(ord)} is a matrix norm; pass axis: [row, col]`);
    if (ord === 2) return sqrt(sum(square(t), { axis, keepdims }));
    if (ord === 1) return sum(abs(t), { axis, keepdims });
    if (ord === Infinity) return max(abs(t), { axis, keepdims });
    if (ord === -Infinity) return min(abs(t), { axis, keepdims });
    if (ord === 0) return sum(astype(notEqual(t, 0), t.dtype), { axis, keepdims });
    if (Number.isFinite(ord)) return pow(sum(pow(abs(t), ord), { axis, keepdims }), 1 / ord);
    throw new ShapeError(`norm: vector ord must be a number, got ${String(ord)}`);
  }
  if (options.axis.length !== 2) throw new ShapeError(`norm: axis must be one axis or two, got ${options.axis.length}`);
  const rr = norm1(options.axis[0]);
  const cc = norm1(options.axis[1]);
  if (rr === cc) throw new ShapeError(`norm: the two matrix axes must differ, got ${rr} twice`);
  const finish = (m: Tensor): Tensor => (keepdims ? m : squeeze(m, { axis: [rr, cc] }));
  if (ord === "fro") return sqrt(sum(square(t), { axis: [rr, cc], keepdims }));
  if (ord === 1 || ord === -1 || ord === Infinity || ord === -Infinity) {
    const cols = ord === 1 || ord === -1;
    const s = sum(abs(t), { axis: cols ? rr : cc, keepdims: true });
    return finish(ord > 0 ? max(s, { axis: cols ? cc : rr, keepdims: true }) : min(s, { axis: cols ? cc : rr, keepdims: true }));
  }
  if (ord === 2 || ord === -2 || ord === "nuc") {
    const rest = t.shape.map((_, i) => i).filter((i) => i !== rr && i !== cc);
    const [, sv] = svdD(DEFAULT_SWEEPS)(permuteDims(t, [...rest, rr, cc]));
    const r = ord === "nuc" ? sum(sv, { axis: -1 }) : ord === 2 ? max(sv, { axis: -1 }) : min(sv, { axis: -1 });
    return keepdims ? expandDims(expandDims(r, Math.min(rr, cc)), Math.max(rr, cc)) : r;
  }
  throw new ShapeError(`norm: matrix ord must be "fro", "nuc", 1, -1, 2, -2, Infinity or -Infinity, got ${String(ord)}`);
}

const DEFAULT_SWEEPS = 10;

function checkSweeps(op: string, sweeps: number): number {
  if (!Number.isInteger(sweeps) || sweeps < 1) throw new ShapeError(`${op}: sweeps must be a positive integer, got ${sweeps}`);
  return sweeps;
}

/**
 * Eigenvalues (ascending) and eigenvectors (columns) of symmetric `a` `[..., n, n]`:
 * `[w, v]` with `a = v diag(w) vᵀ` (`jnp.linalg.eigh`; the symmetrized input is used). Cyclic
 * Jacobi with `sweeps` sweeps (default 10). Differentiable in every mode with the standard rule
 * `ẇ = diag(Vᵀ Ȧ V)`, `V̇ = V (F ∘ Vᵀ Ȧ V)`, `F_ij = 1/(w_j − w_i)`: eigenvector derivatives are
 * undefined (inf/NaN) for repeated eigenvalues, as in JAX; eigenvalue derivatives stay defined.
 * Eigenvector signs are arbitrary.
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
  return eighD(checkSweeps("eigh", options.sweeps ?? DEFAULT_SWEEPS))(t);
}

/**
 * Singular value decomposition `[u, s, vt]` of `a` `[..., m, n]`, reduced as JAX's
 * `jnp.linalg.svd(a, full_matrices=False)`: with k = min(m, n), `u` `[..., m, k]`, `s` `[..., k]`
 * descending, `vt` `[..., k, n]`. One-sided Jacobi on `a` itself (`sweeps`, default 10), so small
 * singular values keep an absolute accuracy ~ eps·‖a‖ (no squared condition number). Exactly
 * zero singular values get orthonormal completion columns in `u`, as LAPACK. Differentiable in every mode with JAX's rule
 * (the 1/(s_j² − s_i²) terms are set to 0 for equal singular values, as JAX; derivatives of `u`
 * and `v` are undefined there and, for m ≠ n, at zero singular values).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { svd } from "tenfold/linalg";
 * const [, s] = svd(tensor([[3, 0], [0, -2]]));
 * console.log(s.arraySync()); // ≈[3, 2]
 * ```
 */
export function svd(a: TensorLike, options: { sweeps?: number } = {}): [Tensor, Tensor, Tensor] {
  const t = asTensor(a, "svd");
  requireFloat("svd", t);
  if (t.ndim < 2) throw new ShapeError(`svd: expected matrices [..., m, n], got ${fmtShape(t.shape)}`);
  return svdD(checkSweeps("svd", options.sweeps ?? DEFAULT_SWEEPS))(t);
}
