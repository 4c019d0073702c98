/**
 * The differentiable linalg kernels: each decomposition of decomp.ts / eigh.ts / svd.ts wrapped in
 * `customJvp` with the standard forward-mode rule (the formulas of JAX's jax/_src/lax/linalg.py).
 * Reverse mode transposes these rules, so every tangent computation here is linear in the
 * tangents: it uses only the raw compositions (triangular solves, LU solves) with the tangent as the
 * right-hand side. Inputs are `[..., n, n]` (or `[..., m, n]`) float batches already checked and
 * broadcast by index.ts.
 */
import type { Tensor } from "../core/tensor.js";
import { eye } from "../ops/creation.js";
import { abs, add, divide, equal, log, multiply, sign, subtract, where } from "../ops/elementwise.js";
import { matmul } from "../ops/linalg.js";
import { prod, sum } from "../ops/reduce.js";
import { expandDims, matrixTranspose, squeeze } from "../ops/shape.js";
import { tril, triu } from "../ops/tri.js";
import { customJvp } from "../transforms/custom-jvp.js";
import { choleskyImpl, luEliminate, qrImpl, triSolveImpl } from "./decomp.js";
import { jacobiEigh } from "./eigh.js";
import { jacobiSvd } from "./svd.js";

const mT = matrixTranspose;
/** (x + xᵀ) / 2 */
export const sym = (x: Tensor): Tensor => multiply(add(x, mT(x)), 0.5);
const eyeOf = (x: Tensor): Tensor => eye(x.shape[x.ndim - 1]!);
/** The diagonal of the last two axes, `[..., n]`. */
export const diagOf = (x: Tensor): Tensor => sum(multiply(x, eyeOf(x)), { axis: -1 });
const trace = (x: Tensor): Tensor => sum(diagOf(x), { axis: -1 });

/** Solves `a x = b` by LU with partial pivoting (linear in b). */
export function luSolve(a: Tensor, b: Tensor): Tensor {
  const { u, b: y } = luEliminate(a, b);
  return triSolveImpl(u, y!, false, false);
}

/** Cholesky of the symmetrized input; L̇ = L Φ(L⁻¹ Ȧ L⁻ᵀ), Φ = lower triangle with half diagonal. */
export const choleskyD = customJvp(
  (a: Tensor): Tensor => choleskyImpl(sym(a)),
  ([a]: [Tensor], [da]: [Tensor]) => {
    const L = choleskyImpl(sym(a));
    const inner = triSolveImpl(L, mT(triSolveImpl(L, sym(da), true, false)), true, false);
    const phi = subtract(tril(inner), multiply(multiply(inner, eyeOf(inner)), 0.5));
    return [L, matmul(L, phi)] as const;
  },
);

/** `a x = b` for triangular a (the other triangle ignored); ẋ = A⁻¹ (ḃ − Ȧ x) with Ȧ masked alike. */
export function triSolveD(lower: boolean, unitDiagonal: boolean): (a: Tensor, b: Tensor) => Tensor {
  const mask = (x: Tensor): Tensor => {
    const t = lower ? tril(x) : triu(x);
    return unitDiagonal ? subtract(t, multiply(t, eyeOf(t))) : t;
  };
  return customJvp(
    (a: Tensor, b: Tensor): Tensor => triSolveImpl(a, b, lower, unitDiagonal),
    ([a, b]: [Tensor, Tensor], [da, db]: [Tensor, Tensor]) => {
      const x = triSolveImpl(a, b, lower, unitDiagonal);
      return [x, triSolveImpl(a, subtract(db, matmul(mask(da), x)), lower, unitDiagonal)] as const;
    },
  );
}

/** `a x = b` by LU; ẋ = A⁻¹ (ḃ − Ȧ x). */
export const solveD = customJvp(
  (a: Tensor, b: Tensor): Tensor => luSolve(a, b),
  ([a, b]: [Tensor, Tensor], [da, db]: [Tensor, Tensor]) => {
    const x = luSolve(a, b);
    return [x, luSolve(a, subtract(db, matmul(da, x)))] as const;
  },
);

/** A⁻¹ by LU; Ẋ = −X Ȧ X. */
export const invD = customJvp(
  (a: Tensor): Tensor => luSolve(a, eyeOf(a)),
  ([a]: [Tensor], [da]: [Tensor]) => {
    const x = luSolve(a, eyeOf(a));
    return [x, multiply(matmul(matmul(x, da), x), -1)] as const;
  },
);

/** Sign and log|det| from LU: `[..., 1, 1]` sign of the permutation, U. */
function luParts(a: Tensor): { sgn: Tensor; d: Tensor } {
  const { u, sign: p } = luEliminate(a, null);
  return { sgn: squeeze(p, { axis: [-1, -2] }), d: diagOf(u) };
}

/** det by LU; ḋ = det · tr(A⁻¹ Ȧ) (NaN at singular A, where JAX uses cofactors). */
export const detD = customJvp(
  (a: Tensor): Tensor => {
    const { sgn, d } = luParts(a);
    return multiply(sgn, prod(d, { axis: -1 }));
  },
  ([a]: [Tensor], [da]: [Tensor]) => {
    const { sgn, d } = luParts(a);
    const det = multiply(sgn, prod(d, { axis: -1 }));
    return [det, multiply(det, trace(luSolve(a, da)))] as const;
  },
);

/** [sign, log|det|] by LU; the sign's tangent is zero, log|det|˙ = tr(A⁻¹ Ȧ). */
export const slogdetD = customJvp(
  (a: Tensor): [Tensor, Tensor] => {
    const { sgn, d } = luParts(a);
    return [multiply(sgn, prod(sign(d), { axis: -1 })), sum(log(abs(d)), { axis: -1 })];
  },
  ([a]: [Tensor], [da]: [Tensor]): [[Tensor, Tensor], [Tensor, Tensor]] => {
    const { sgn, d } = luParts(a);
    const s = multiply(sgn, prod(sign(d), { axis: -1 }));
    const l = sum(log(abs(d)), { axis: -1 });
    return [
      [s, l],
      [multiply(s, 0), trace(luSolve(a, da))],
    ] as const;
  },
);

/**
 * Reduced QR; JAX's rule: with C = Qᵀ Ȧ R⁻¹ and Ω = tril(C, −1) − tril(C, −1)ᵀ,
 * Q̇ = Q (Ω − C) + Ȧ R⁻¹, Ṙ = (C − Ω) R.
 */
export const qrD = customJvp(
  (a: Tensor): [Tensor, Tensor] => {
    const { q, r } = qrImpl(a);
    return [q, r];
  },
  ([a]: [Tensor], [da]: [Tensor]): [[Tensor, Tensor], [Tensor, Tensor]] => {
    const { q, r } = qrImpl(a);
    const daRinv = mT(triSolveImpl(mT(r), mT(da), true, false)); // Ȧ R⁻¹
    const c = matmul(mT(q), daRinv);
    const low = tril(c, { k: -1 });
    const omega = subtract(low, mT(low));
    return [
      [q, r],
      [add(matmul(q, subtract(omega, c)), daRinv), matmul(subtract(c, omega), r)],
    ] as const;
  },
);

/**
 * eigh of the symmetrized input; JAX's rule: with S = Vᵀ Ȧ V, ẇ = diag(S),
 * V̇ = V (F ∘ S), F_ij = 1/(w_j − w_i) off the diagonal (infinite for repeated eigenvalues, as JAX).
 */
export function eighD(sweeps: number): (a: Tensor) => [Tensor, Tensor] {
  return customJvp(
    (a: Tensor): [Tensor, Tensor] => jacobiEigh(sym(a), sweeps),
    ([a]: [Tensor], [da]: [Tensor]): [[Tensor, Tensor], [Tensor, Tensor]] => {
      const [w, v] = jacobiEigh(sym(a), sweeps);
      const I = eyeOf(v);
      const F = subtract(divide(1, add(I, subtract(expandDims(w, -2), expandDims(w, -1)))), I);
      const S = matmul(matmul(mT(v), sym(da)), v);
      return [
        [w, v],
        [diagOf(S), matmul(v, multiply(F, S))],
      ] as const;
    },
  );
}

/**
 * Reduced svd `[u, s, vt]`; JAX's rule (full_matrices=False): with dS = Uᵀ Ȧ V, ṡ = diag(dS),
 * F_ij = 1/(s_j² − s_i²) (0 where s_j² = s_i²), U̇ = U (F ∘ (dS S + S dSᵀ)) + (I − U Uᵀ) Ȧ V / s
 * (m > n), V̇ = V (F ∘ (S dS + dSᵀ S)) (+ the (I − V Vᵀ) term when n > m).
 */
export function svdD(sweeps: number): (a: Tensor) => [Tensor, Tensor, Tensor] {
  return customJvp(
    (a: Tensor): [Tensor, Tensor, Tensor] => jacobiSvd(a, sweeps),
    ([a]: [Tensor], [da]: [Tensor]): [[Tensor, Tensor, Tensor], [Tensor, Tensor, Tensor]] => {
      const [u, s, vt] = jacobiSvd(a, sweeps);
      const v = mT(vt);
      const [m, n] = [a.shape[a.ndim - 2]!, a.shape[a.ndim - 1]!];
      const sRow = expandDims(s, -2); // s_j
      const sCol = expandDims(s, -1); // s_i
      const diffs = multiply(add(sRow, sCol), subtract(sRow, sCol));
      const zeros = where(equal(diffs, 0), 1, 0);
      const F = subtract(divide(1, add(diffs, zeros)), zeros);
      const dS = matmul(matmul(mT(u), da), v);
      const dSS = multiply(sRow, dS);
      const SdS = multiply(sCol, dS);
      let du = matmul(u, multiply(F, add(dSS, mT(dSS))));
      let dv = matmul(v, multiply(F, add(SdS, mT(SdS))));
      if (m > n) {
        const dAV = matmul(da, v);
        du = add(du, divide(subtract(dAV, matmul(u, matmul(mT(u), dAV))), sRow));
      }
      if (n > m) {
        const dAU = matmul(mT(da), u);
        dv = add(dv, divide(subtract(dAU, matmul(v, matmul(vt, dAU))), sRow));
      }
      return [
        [u, s, vt],
        [du, diagOf(dS), mT(dv)],
      ] as const;
    },
  );
}
