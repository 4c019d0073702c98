/**
 * The f32x4 code of each elementwise primitive for the Wasm SIMD kernels: the opcode table, the
 * hoisted v128 constants, the exp and tanh polynomials, and LANES, typed over every elementwise
 * primitive (core/semantics.ts defines what each computes; `null` means kernels using it run as
 * JS instead).
 */
import type { ElementwisePrim } from "../../core/primitives.js";
import type { FnBuilder } from "./wasm.js";
import { relaxedSimd, uleb } from "./wasm.js";

/** SIMD opcodes used here (after 0xfd). */
export const OP = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  f32Extract: 0x1f,
  f64Extract: 0x21,
  f32Eq: 0x41,
  f32Ne: 0x42,
  f32Lt: 0x43,
  f32Ge: 0x46,
  and: 0x4e,
  or: 0x50,
  bitselect: 0x52,
  anyTrue: 0x53,
  store32Lane: 0x5a,
  store64Lane: 0x5b,
  i32Bitmask: 0xa4,
  i32MaxU: 0xb9,
  i32GtS: 0x3b,
  promoteLow: 0x5f,
  nearest: 0x6a,
  floor: 0x68,
  i32Shl: 0xab,
  i32ShrS: 0xac,
  i32Add: 0xae,
  i32Sub: 0xb1,
  abs: 0xe0,
  neg: 0xe1,
  sqrt: 0xe3,
  add: 0xe4,
  sub: 0xe5,
  mul: 0xe6,
  div: 0xe7,
  min: 0xe8,
  max: 0xe9,
  pmin: 0xea,
  pmax: 0xeb,
  f64Add: 0xf0,
  truncSat: 0xf8,
  convertS: 0xfa,
  madd: 0x105,
  nmadd: 0x106,
} as const;

/** An operand of fmaStep / fnmadd: a v128 local by name, or a splatted float32 constant. */
type Operand = string | number;
const push = (f: FnBuilder, K: Consts, v: Operand): unknown => (typeof v === "string" ? f.get(v) : K.push(v));

/**
 * Stack [a] → a·b + c: one `f32x4.relaxed_madd` (FMA, one rounding) where the runtime has relaxed
 * SIMD (see relaxedSimd), else mul then add (each rounded: the plain path's exact old code).
 */
function fmaStep(f: FnBuilder, K: Consts, b: Operand, c: Operand): void {
  push(f, K, b);
  if (relaxedSimd()) {
    push(f, K, c);
    f.simd(OP.madd);
  } else {
    f.simd(OP.mul);
    push(f, K, c);
    f.simd(OP.add);
  }
}

/** Pushes c − a·b: one `f32x4.relaxed_nmadd` with relaxed SIMD, else mul then sub. */
function fnmadd(f: FnBuilder, K: Consts, a: Operand, b: Operand, c: Operand): void {
  const fma = relaxedSimd();
  for (const v of fma ? [a, b, c] : [c, a, b]) push(f, K, v);
  if (fma) f.simd(OP.nmadd);
  else f.simd(OP.mul).simd(OP.sub);
}

export const f32x4 = (v: number): number[] => [...new Uint8Array(new Float32Array([v, v, v, v]).buffer)];
const i32x4 = (v: number): number[] => [...new Uint8Array(new Int32Array([v, v, v, v]).buffer)];

/** Bytes at the start of the SIMD memory holding the kernels' v128 constants (see Consts). */
export const CONST_BYTES = 65536;
/** Slot (16 bytes each) of every constant written to a SIMD memory so far. */
const constSlots = new WeakMap<WebAssembly.Memory, Map<string, number>>();

/**
 * Constants in `mem`'s table (cpuCacheStats): only the lane code's own (polynomial coefficients,
 * masks; not values from user graphs, which are v128.const), so bounded by this file, well under
 * the CONST_BYTES / 16 slots.
 */
export function constTableSize(mem: WebAssembly.Memory | null): number {
  return (mem && constSlots.get(mem)?.size) ?? 0;
}

/**
 * The v128 constants of a kernel, each loaded from its slot in a table at the start of the SIMD
 * memory at every use (one load instruction). V8 turns a `v128.const` (or a local set to one)
 * back into a constant and rematerializes it at every use (three instructions: a 64-bit move, a
 * move to xmm, a shuffle), and it hoists reads of globals to the loop's top, where 14 constants
 * of an exp or 30 of an erf then live across the whole step (x64 has 16 xmm registers: spills).
 * A load from memory is neither folded nor merged. A full table (never seen: the lane code has
 * well under a hundred distinct constants) falls back to `v128.const`.
 */
export class Consts {
  readonly #slots: Map<string, number>;
  constructor(
    readonly f: FnBuilder,
    readonly mem: WebAssembly.Memory,
  ) {
    let m = constSlots.get(mem);
    if (!m) constSlots.set(mem, (m = new Map()));
    this.#slots = m;
  }
  /** Pushes the f32x4 (or, with `int`, i32x4) splat of v. */
  push(v: number, int = false): FnBuilder {
    const key = `${int ? "i" : "f"}${Object.is(v, -0) ? "-0" : v}`;
    const bytes = int ? i32x4(v) : f32x4(v);
    let slot = this.#slots.get(key);
    if (slot === undefined && this.#slots.size < CONST_BYTES / 16) {
      slot = this.#slots.size;
      new Uint8Array(this.mem.buffer, slot * 16, 16).set(bytes);
      this.#slots.set(key, slot);
    }
    if (slot === undefined) return this.f.simd(OP.const, ...bytes);
    return this.f.i32(0).simd(OP.load, 4, ...uleb(slot * 16));
  }
}

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
 * the low mantissa bits of xi), r = x − n·ln2 in two steps (Cody–Waite), then e^r = 1 + r +
 * r²·q(r) in `out` (scratch locals xt, xn, xr, xi, xq of vector u).
 */
function expReduce(f: FnBuilder, K: Consts, src: string, magic: number, out: string, u: number): void {
  const [xi, xn, xr, xq, xt] = ["xi", "xn", "xr", "xq", "xt"].map((l) => nth(l, u)) as [string, string, string, string, string];
  const [c0, c1, c2, c3, c4] = EXP_Q;
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

/**
 * outs[u] = exp(xs[u]) for x in [−87, 87] (n in [−126, 126]): the magic number also carries the
 * exponent bias, so xi's bits shifted left by 23 are 2^n; one multiply. The vectors go one
 * after another (interleaving them step by step needs more registers than x64 has: slower).
 */
function emitExpNear(f: FnBuilder, K: Consts, xs: readonly string[], outs: readonly string[]): void {
  xs.forEach((x, u) => {
    const o = outs[u]!;
    expReduce(f, K, x, MAGIC + 127, o, u);
    f.get(o).get(nth("xi", u)).i32(23).simd(OP.i32Shl).simd(OP.mul).set(o);
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
function expFarTest(f: FnBuilder, K: Consts, xs: readonly string[]): void {
  xs.forEach((x, i) => {
    f.get(x);
    K.push(0x7fffffff, true);
    f.simd(OP.and);
    if (i > 0) f.simd(OP.i32MaxU);
  });
  K.push(0x42ae0000, true);
  f.simd(OP.i32GtS).simd(OP.i32Bitmask);
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

/** exp(x) for the v128 in local `x`, pushed on the stack (scratch locals of expLocals(1)). */
function emitExp(f: FnBuilder, K: Consts, x: string): void {
  emitExpGroup(f, K, [x], ["xo"]);
  f.get("xo");
}

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
