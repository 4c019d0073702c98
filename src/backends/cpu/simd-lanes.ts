/**
 * The f32x4 code of each elementwise primitive for the Wasm SIMD kernels: tanh, log, log1p, expm1
 * and erf (exp is in simd-exp.ts; opcodes, multiply-add steps and the constant table in
 * simd-ops.ts), and LANES, typed over every elementwise primitive (core/semantics.ts defines what
 * each computes; `null` means kernels using it run as JS instead).
 */
import type { ElementwisePrim } from "../../core/primitives.js";
import type { FnBuilder } from "./wasm.js";
import type { Consts } from "./simd-ops.js";
import { OP, fmaStep } from "./simd-ops.js";
import { emitExp } from "./simd-exp.js";

export { CONST_BYTES, Consts, OP, constTableSize, f32x4 } from "./simd-ops.js";
export { emitExpGroup, emitExpSplitPoly, emitExpSplitRange, expLocals, expSplitLocals } from "./simd-exp.js";

/** tanh(x) pushed on the stack: odd polynomial below |x| = 0.625, else 1 − 2/(e^2|x| + 1) with x's sign. */
function emitTanh(f: FnBuilder, K: Consts, x: string): void {
  const c = (v: number): FnBuilder => K.push(v);
  f.get(x).simd(OP.abs).set("ta");
  f.get(x).get(x).simd(OP.mul).set("tz");
  c(-5.70498872745e-3);
  for (const k of [2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]) fmaStep(f, K, "tz", k);
  f.get("tz").simd(OP.mul);
  fmaStep(f, K, x, x); // small branch
  f.get("ta").get("ta").simd(OP.add).set("tt");
  c(1);
  c(2);
  emitExp(f, K, "tt");
  c(1);
  f.simd(OP.add).simd(OP.div).simd(OP.sub);
  f.get(x);
  K.push(-0x80000000, true);
  f.simd(OP.and).simd(OP.or); // large branch with x's sign
  f.get("ta");
  c(0.625);
  f.simd(OP.f32Lt).simd(OP.bitselect);
}

/** Horner's scheme: pushes ((c0·x + c1)·x + …) + cn for the v128 in local `x`. */
function horner(f: FnBuilder, K: Consts, x: string, coef: readonly number[]): void {
  K.push(coef[0]!);
  for (const k of coef.slice(1)) fmaStep(f, K, x, k);
}

/** `bitselect(v, <stack>, x == w)`: replaces lanes where local `x` equals w by v. */
function whereEq(f: FnBuilder, K: Consts, x: string, w: number, v: number): void {
  f.set("lz");
  K.push(v);
  f.get("lz").get(x);
  K.push(w);
  f.simd(OP.f32Eq).simd(OP.bitselect);
}

/**
 * log(x) pushed on the stack (Cephes logf in float32 lanes; scratch la, lb, lc, lz): denormals
 * scaled by 2^23 first, x = m·2^e with m in [√½, √2), log(m) = t − t²/2 + t³·P(t) for t = m − 1,
 * e·ln2 added in two parts; then log(0) = −Inf, log(+Inf) = +Inf, NaN for x < 0 and NaN.
 */
function emitLog(f: FnBuilder, K: Consts, x: string): void {
  const c = (v: number): FnBuilder => K.push(v);
  f.get(x);
  c(1.1754943508222875e-38);
  f.simd(OP.f32Lt).set("lc"); // denormal (or ≤ 0: fixed at the end)
  f.get(x);
  c(8388608);
  f.simd(OP.mul).get(x).get("lc").simd(OP.bitselect).set("la");
  f.get("la").i32(23).simd(OP.i32ShrS);
  K.push(127, true);
  f.simd(OP.i32Sub).simd(OP.convertS).get("lc");
  c(-23);
  f.simd(OP.and).simd(OP.add).set("lb"); // e
  f.get("la");
  K.push(0x007fffff, true);
  f.simd(OP.and);
  K.push(0x3f800000, true);
  f.simd(OP.or).set("la"); // m in [1, 2)
  c(1.4142135623730951);
  f.get("la").simd(OP.f32Lt).set("lc");
  f.get("la");
  c(0.5);
  f.simd(OP.mul).get("la").get("lc").simd(OP.bitselect);
  c(1);
  f.simd(OP.sub).set("la"); // t
  f.get("lb").get("lc");
  c(1);
  f.simd(OP.and).simd(OP.add).set("lb");
  f.get("la").get("la").simd(OP.mul).set("lc"); // t²
  horner(
    f,
    K,
    "la",
    [7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1],
  );
  f.get("la").simd(OP.mul).get("lc").simd(OP.mul).set("lz");
  f.get("lb");
  fmaStep(f, K, -2.1219444e-4, "lz");
  f.get("lc");
  c(-0.5);
  f.simd(OP.mul).simd(OP.add).get("la").simd(OP.add);
  f.get("lb");
  c(0.693359375);
  f.simd(OP.mul).simd(OP.add);
  whereEq(f, K, x, Infinity, Infinity);
  whereEq(f, K, x, 0, -Infinity);
  f.set("lz");
  f.get("lz");
  c(NaN);
  f.get(x);
  c(0);
  f.simd(OP.f32Ge).simd(OP.bitselect);
}

/** log1p(x) = log(u)·x/(u − 1) for u = 1 + x rounded (Goldberg), x where u = 1; scratch ld, le. */
function emitLog1p(f: FnBuilder, K: Consts, x: string): void {
  f.get(x);
  K.push(1);
  f.simd(OP.add).set("ld");
  emitLog(f, K, "ld");
  f.get(x).get("ld");
  K.push(1);
  f.simd(OP.sub).simd(OP.div).simd(OP.mul).set("le");
  f.get(x).get("le").get("ld");
  K.push(1);
  f.simd(OP.f32Eq).simd(OP.bitselect);
  whereEq(f, K, x, Infinity, Infinity);
}

/**
 * expm1(x) = (u − 1)·x/log(u) for u = e^x (Kahan: the error of u cancels), x where u = 1,
 * −1 where u − 1 = −1, +Inf where u is; scratch ld, le (and exp's and log's).
 */
function emitExpm1(f: FnBuilder, K: Consts, x: string): void {
  emitExp(f, K, x);
  f.set("ld");
  emitLog(f, K, "ld");
  f.set("le");
  f.get("ld");
  K.push(1);
  f.simd(OP.sub).set("lb");
  f.get("lb").get(x).get("le").simd(OP.div).simd(OP.mul).set("le");
  f.get(x).get("le").get("ld");
  K.push(1);
  f.simd(OP.f32Eq).simd(OP.bitselect);
  whereEq(f, K, "lb", -1, -1);
  whereEq(f, K, "ld", Infinity, Infinity);
}

/** erf's polynomials (float32 least-squares fits, highest degree first): x + x·A(x²) below 0.875; 1 − B(|x| − mid) on [0.875, 2) and [2, 3.95). */
const ERF_A = [
  8.713411807548255e-5, -8.22036003228277e-4, 5.207606591284275e-3, -2.686196193099022e-2, 0.11283741146326065, -0.37612637877464294, 0.12837916612625122,
];
const ERF_B1 = [
  3.228801069781184e-3, 2.2040465846657753e-3, -2.107769437134266e-2, 2.2724052891135216e-2, 3.8779471069574356e-2, -0.149246484041214, 0.20541605353355408,
  -0.14289750158786774, 4.205939173698425e-2,
];
const ERF_B2 = [
  1.8768658264889382e-5, 8.442062244284898e-5, -4.439784970600158e-4, 8.548983023501933e-4, -1.1217996943742037e-3, 1.1626299237832427e-3,
  -9.019262506626546e-4, 4.8294002772308886e-4, -1.6160313680302352e-4, 2.5808947611949407e-5,
];

/** erf(x) pushed on the stack: the piece of |x|'s interval (1 from 3.95 on), x's sign, NaN kept; scratch la, lb, lc, ld, le. */
function emitErf(f: FnBuilder, K: Consts, x: string): void {
  const c = (v: number): FnBuilder => K.push(v);
  f.get(x).simd(OP.abs).set("la");
  f.get("la").get("la").simd(OP.mul).set("lb");
  horner(f, K, "lb", ERF_A);
  fmaStep(f, K, "la", "la");
  f.set("lc");
  const tail = (mid: number, coef: readonly number[], out: string): void => {
    f.get("la");
    c(mid);
    f.simd(OP.sub).set(out);
    c(1);
    horner(f, K, out, coef);
    f.simd(OP.sub).set(out);
  };
  tail(1.4375, ERF_B1, "ld");
  tail(2.975, ERF_B2, "le");
  const below = (v: number): void => {
    f.get("la");
    c(v);
    f.simd(OP.f32Lt).simd(OP.bitselect);
  };
  f.get("lc").get("ld").get("le");
  c(1);
  below(3.95);
  below(2);
  below(0.875);
  f.get(x);
  K.push(-0x80000000, true);
  f.simd(OP.and).simd(OP.or).set("lz");
  f.get(x).get("lz").get(x).get(x).simd(0x42).simd(OP.bitselect); // NaN stays NaN
}

/** Pushes one elementwise primitive's f32x4 result computed from the v128 locals `args`. */
type LaneEmit = (f: FnBuilder, K: Consts, args: readonly string[]) => void;
const lanes =
  (op: number): LaneEmit =>
  (f, _K, args) => {
    for (const a of args) f.get(a);
    f.simd(op);
  };

/**
 * Every elementwise primitive in f32x4 lanes, each its definition in core/semantics.ts: the
 * IEEE lane ops are exactly float32 rounding of the definition (add, mul, div, sqrt, floor,
 * round half to even = f32x4.nearest, NaN-propagating max/min ordering ±0, comparisons as lane
 * masks); exp and tanh are polynomials within the ulp bound documented there. `null`: kernels
 * using it fall back to the JS emitter.
 */
export const LANES: { readonly [P in ElementwisePrim]: LaneEmit | null } = {
  neg: lanes(OP.neg),
  exp: (f, K, [x]) => emitExp(f, K, x!),
  tanh: (f, K, [x]) => emitTanh(f, K, x!),
  sqrt: lanes(OP.sqrt),
  floor: lanes(OP.floor),
  round: lanes(OP.nearest),
  log: (f, K, [x]) => emitLog(f, K, x!),
  expm1: (f, K, [x]) => emitExpm1(f, K, x!),
  log1p: (f, K, [x]) => emitLog1p(f, K, x!),
  sin: null,
  cos: null,
  erf: (f, K, [x]) => emitErf(f, K, x!),
  add: lanes(OP.add),
  mul: lanes(OP.mul),
  div: lanes(OP.div),
  max: lanes(OP.max),
  min: lanes(OP.min),
  pow: null,
  eq: lanes(0x41),
  ne: lanes(0x42),
  lt: lanes(0x43),
  le: lanes(0x45),
  where: (f, _K, [c, a, b]) => {
    f.get(a!).get(b!).get(c!).simd(OP.bitselect);
  },
  cast: (f, K, [x]) => {
    f.get(x!);
    K.push(1);
    f.simd(OP.and);
  }, // bool mask → 1.0 / 0.0
  shrl: null,
  threefry: null,
};

/** Whether kernels using `p` can run in Wasm SIMD lanes (float32 operands). */
export function hasSimdLanes(p: ElementwisePrim): boolean {
  return LANES[p] !== null;
}
