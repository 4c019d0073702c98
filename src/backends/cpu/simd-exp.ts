/**
 * exp in f32x4 lanes for the Wasm SIMD kernels: range reduction, a degree-4 q(r), scaling by 2^n
 * on a near path (|x| ≤ 87) and a far one (any x, denormal results), one range test per unrolled
 * step, and the split form that runs the range reduction and the polynomial in two loops over a
 * row (see simd-emit.ts).
 */
import type { FnBuilder } from "./wasm.js";
import type { Consts } from "./simd-ops.js";
import { OP, fmaStep, fnmadd } from "./simd-ops.js";
import type { SimdPlan } from "./simd.js";

/**
 * Widest row (columns) whose exp is split into two loops (see simd-emit.ts): the loops' two
 * scratch rows (2^n and the reduced argument) and the row itself stay in L1 (48 KiB here).
 */
export const SPLIT_MAX_COLS = 4096;
/** Narrowest: two unrolled steps of four vectors. */
const SPLIT_MIN_COLS = 32;

/** Whether a plan may split an exp in two loops, so its kernel needs two more scratch rows. */
export const maySplit = (plan: SimdPlan): boolean =>
  !plan.column && plan.cols <= SPLIT_MAX_COLS && plan.cols >= SPLIT_MIN_COLS && plan.body.some((i) => i.op === "unary" && i.fn === "exp");

/** Magic number 1.5·2^23: adding it rounds a float32 below 2^22 to an integer in the low mantissa bits. */
const MAGIC = 12582912;

/**
 * q(r) ≈ (e^r − 1 − r)/r² on |r| ≤ ln2/2 + ε, degree 4 (float32 coefficients of a minimax fit of
 * e^r's relative error, 3·10^-9; fitted by tests/fixtures/exp-poly.py, which also emulates
 * the whole float32 evaluation: ≤ 1 ulp from e^x on 3·10^7 samples of [−104, 88.7]).
 */
const EXP_Q = [1.3814602280035615e-3, 8.368715643882751e-3, 4.166838899254799e-2, 1.666652113199234e-1, 4.999999403953552e-1] as const;

/** Scratch local `name` of vector u of an interleaved group (u = 0: the plain name). */
const nth = (name: string, u: number): string => (u === 0 ? name : `${name}${u}`);

/** Scratch locals of the exp family, for a kernel running groups of up to `n` vectors. */
export function expLocals(n: number): string[] {
  return Array.from({ length: n }, (_, u) => ["xt", "xn", "xr", "xi", "xq", "xc", "xo"].map((l) => nth(l, u))).flat();
}

/**
 * Range reduction of exp for vector u: n = round(x·log2e) by adding a magic number (n sits in
 * the low mantissa bits of xi), r = x − n·ln2 in two steps (Cody–Waite) in xr (scratch locals
 * xi, xn, xr of vector u).
 */
function expRange(f: FnBuilder, K: Consts, src: string, magic: number, u: number): void {
  const [xi, xn, xr] = ["xi", "xn", "xr"].map((l) => nth(l, u)) as [string, string, string];
  f.get(src);
  fmaStep(f, K, 1.4426950408889634, magic);
  f.set(xi);
  f.get(xi);
  K.push(magic);
  f.simd(OP.sub).set(xn);
  fnmadd(f, K, xn, 0.693359375, src);
  f.set(xr);
  fnmadd(f, K, xn, -2.1219444e-4, xr);
  f.set(xr);
}

/** e^r = 1 + r + r²·q(r) in `out`, r in vector u's xr (scratch locals xt, xn, xq of vector u). */
function expPoly(f: FnBuilder, K: Consts, out: string, u: number): void {
  const [xn, xr, xq, xt] = ["xn", "xr", "xq", "xt"].map((l) => nth(l, u)) as [string, string, string, string];
  const [c0, c1, c2, c3, c4] = EXP_Q;
  // q(r) = (c3·r + c4) + r²·((c1·r + c2) + c0·r²) (Estrin's scheme: a short dependency chain).
  f.get(xr).get(xr).simd(OP.mul).set(xq);
  f.get(xr);
  fmaStep(f, K, c3, c4);
  f.set(xt);
  f.get(xr);
  fmaStep(f, K, c1, c2);
  f.set(xn);
  K.push(c0);
  fmaStep(f, K, xq, xn);
  fmaStep(f, K, xq, xt);
  fmaStep(f, K, xq, xr);
  K.push(1);
  f.simd(OP.add).set(out);
}

/** exp's range reduction then polynomial: e^r in `out` (see expRange, expPoly). */
function expReduce(f: FnBuilder, K: Consts, src: string, magic: number, out: string, u: number): void {
  expRange(f, K, src, magic, u);
  expPoly(f, K, out, u);
}

/** out ·= 2^n for vector u's xi of the near path (its magic carries the exponent bias). */
function expScaleNear(f: FnBuilder, out: string, u: number): void {
  f.get(out).get(nth("xi", u)).i32(23).simd(OP.i32Shl).simd(OP.mul).set(out);
}

/**
 * outs[u] = exp(xs[u]) for x in [−87, 87] (n in [−126, 126]): the magic number also carries the
 * exponent bias, so xi's bits shifted left by 23 are 2^n; one multiply. The vectors go one
 * after another (interleaving them step by step needs more registers than x64 has: slower).
 */
function emitExpNear(f: FnBuilder, K: Consts, xs: readonly string[], outs: readonly string[]): void {
  xs.forEach((x, u) => {
    const o = outs[u]!;
    expReduce(f, K, x, MAGIC + 127, o, u);
    expScaleNear(f, o, u);
  });
}

/**
 * outs[u] = exp(xs[u]) for any x: × 2^n as 2^(n>>1) · 2^(n − n>>1), both factors normal for n
 * in [−150, 128] (x clamped to [−104, 89] in xc; pmax/pmin keep a NaN in their first operand),
 * so a denormal result rounds once.
 */
function emitExpFar(f: FnBuilder, K: Consts, xs: readonly string[], outs: readonly string[]): void {
  xs.forEach((x, u) => {
    const [o, xc, xi] = [outs[u]!, nth("xc", u), nth("xi", u)];
    f.get(x);
    K.push(-104);
    f.simd(OP.pmax);
    K.push(89);
    f.simd(OP.pmin).set(xc);
    expReduce(f, K, xc, MAGIC, o, u);
    f.get(xi);
    K.push(0x4b400000, true);
    f.simd(OP.i32Sub).set(xi);
    f.get(o).get(xi).i32(1).simd(OP.i32ShrS);
    K.push(127, true);
    f.simd(OP.i32Add).i32(23).simd(OP.i32Shl).simd(OP.mul);
    f.get(xi).get(xi).i32(1).simd(OP.i32ShrS).simd(OP.i32Sub);
    K.push(127, true);
    f.simd(OP.i32Add).i32(23).simd(OP.i32Shl).simd(OP.mul).set(o);
  });
}

/**
 * Pushes the i32 test "some lane of the vectors in `xs` lies outside [−87, 87]" (NaN lanes count
 * as outside): |x|'s bits (sign cleared by a constant mask: f32x4.abs regenerates its mask at
 * every use in V8) as integers, their maximum over the vectors against 87's, one bitmask.
 */
function expFarTest(f: FnBuilder, K: Consts, xs: readonly string[], lanes = false): void {
  xs.forEach((x, i) => {
    f.get(x);
    K.push(0x7fffffff, true);
    f.simd(OP.and);
    if (i > 0) f.simd(OP.i32MaxU);
  });
  K.push(0x42ae0000, true);
  f.simd(OP.i32GtS);
  if (!lanes) f.simd(OP.i32Bitmask);
}

/**
 * outs[u] = exp(xs[u]) for up to the kernel's group size of vectors (an unrolled step, see
 * expLocals): one range test for all, then every vector through the same path (the near one
 * unless a lane of any is outside), in one straight block.
 */
export function emitExpGroup(f: FnBuilder, K: Consts, xs: readonly string[], outs: readonly string[]): void {
  expFarTest(f, K, xs);
  f.op(0x04, 0x40); // if (some lane outside)
  emitExpFar(f, K, xs, outs);
  f.op(0x05); // else
  emitExpNear(f, K, xs, outs);
  f.op(0x0b);
}

/**
 * A split exp's first pass over a row (see simd-emit.ts): ORs the range test of the vectors `xs`
 * into the v128 local `far` (a lane mask: some lane outside [−87, 87] or NaN), then, vector by
 * vector, leaves the near path's 2^n bits and reduced argument in vector u's xi and xr locals and
 * calls `store(u)` (V8 keeps loads in program order with stores but floats arithmetic: storing
 * each vector's values before the next one's constants are loaded keeps them out of the stack).
 */
export function emitExpSplitRange(f: FnBuilder, K: Consts, xs: readonly string[], far: string, store: (u: number) => void): void {
  expFarTest(f, K, xs, true);
  f.get(far).simd(OP.or).set(far);
  xs.forEach((x, u) => {
    expRange(f, K, x, MAGIC + 127, u);
    store(u);
  });
}

/**
 * The second pass: exp in `out` from vector u's xi and xr as the first pass left them (loaded
 * back by the caller): the near path's polynomial and scaling, the same operations in the same
 * order as emitExpGroup's, so the results are the same bits.
 */
export function emitExpSplitPoly(f: FnBuilder, K: Consts, out: string, u: number, pushT: () => void): void {
  expPoly(f, K, out, u);
  f.get(out);
  pushT();
  f.i32(23).simd(OP.i32Shl).simd(OP.mul).set(out);
}

/** Names of vector u's locals holding the split exp's 2^n bits and reduced argument. */
export const expSplitLocals = (u: number): { readonly t: string; readonly r: string } => ({ t: nth("xi", u), r: nth("xr", u) });

/** exp(x) for the v128 in local `x`, pushed on the stack (scratch locals of expLocals(1)). */
export function emitExp(f: FnBuilder, K: Consts, x: string): void {
  emitExpGroup(f, K, [x], ["xo"]);
  f.get("xo");
}
