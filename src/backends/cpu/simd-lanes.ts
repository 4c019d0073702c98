/**
 * The f32x4 code of each elementwise primitive for the Wasm SIMD kernels: the opcode table, the
 * hoisted v128 constants, the exp and tanh polynomials, and LANES, typed over every elementwise
 * primitive (core/semantics.ts defines what each computes; `null` means kernels using it run as
 * JS instead).
 */
import type { ElementwisePrim } from "../../core/primitives.js";
import type { FnBuilder } from "./wasm.js";

/** SIMD opcodes used here (after 0xfd). */
export const OP = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  f32Extract: 0x1f,
  f64Extract: 0x21,
  f32Lt: 0x43,
  and: 0x4e,
  or: 0x50,
  bitselect: 0x52,
  anyTrue: 0x53,
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
} as const;

export const f32x4 = (v: number): number[] => [...new Uint8Array(new Float32Array([v, v, v, v]).buffer)];
const i32x4 = (v: number): number[] => [...new Uint8Array(new Int32Array([v, v, v, v]).buffer)];

/**
 * v128 constants, hoisted into locals set once ahead of the loops (V8 rematerializes a
 * `v128.const` on every use otherwise).
 */
export class Consts {
  readonly #locals = new Map<string, string>();
  constructor(readonly f: FnBuilder) {}
  /** Pushes the f32x4 (or, with `int`, i32x4) splat of v. */
  push(v: number, int = false): FnBuilder {
    const key = `${int ? "i" : "f"}${Object.is(v, -0) ? "-0" : v}`;
    let l = this.#locals.get(key);
    if (!l) {
      l = `k${this.#locals.size}`;
      this.f.local(l, "v128");
      this.#locals.set(key, l);
    }
    return this.f.get(l);
  }
  /** Code setting every constant local. */
  prologue(): number[] {
    const out: number[] = [];
    for (const [key, l] of this.#locals) {
      const v = Number(key.slice(1));
      out.push(0xfd, OP.const, ...(key[0] === "i" ? i32x4(v) : f32x4(v)), 0x21, ...this.f.localIndex(l));
    }
    return out;
  }
}

/** Magic number 1.5·2^23: adding it rounds a float32 below 2^22 to an integer in the low mantissa bits. */
const MAGIC = 12582912;

/** exp(x) for the v128 in local `x`, pushed on the stack (scratch locals xt, xn, xr, xi). */
function emitExp(f: FnBuilder, K: Consts, x: string): void {
  const c = (v: number): FnBuilder => K.push(v);
  // Range reduction: n = round(x·log2e) by adding a magic number (n sits in the low mantissa
  // bits of xi), r = x − n·ln2 in two steps (Cody–Waite), then e^r by a degree-6 polynomial.
  const reduce = (src: string, magic: number): void => {
    f.get(src);
    c(1.4426950408889634);
    f.simd(OP.mul);
    c(magic);
    f.simd(OP.add).set("xi");
    f.get("xi");
    c(magic);
    f.simd(OP.sub).set("xn");
    f.get(src).get("xn");
    c(0.693359375);
    f.simd(OP.mul).simd(OP.sub);
    f.get("xn");
    c(-2.1219444e-4);
    f.simd(OP.mul).simd(OP.sub).set("xr");
    const coef = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
    // p(r) = c0·r⁵ + … + c5 by Estrin's scheme (a shorter dependency chain than Horner's):
    // ((c0·r + c1)·r² + (c2·r + c3))·r² + (c4·r + c5); then e^r = p·r² + r + 1.
    const lin = (a: number, b: number): void => {
      f.get("xr");
      c(a);
      f.simd(OP.mul);
      c(b);
      f.simd(OP.add);
    };
    f.get("xr").get("xr").simd(OP.mul).set("xq");
    lin(coef[0]!, coef[1]!);
    f.get("xq").simd(OP.mul);
    lin(coef[2]!, coef[3]!);
    f.simd(OP.add);
    f.get("xq").simd(OP.mul);
    lin(coef[4]!, coef[5]!);
    f.simd(OP.add);
    f.get("xq").simd(OP.mul).get("xr").simd(OP.add);
    c(1);
    f.simd(OP.add);
  };
  // Whole vector in [−87, 88] (n in [−126, 127]): the magic number also carries the exponent
  // bias, so xi's bits shifted left by 23 are 2^n; one multiply (a denormal result rounds once).
  f.get(x);
  c(-87);
  f.simd(OP.f32Lt);
  c(88);
  f.get(x);
  f.simd(OP.f32Lt).simd(OP.or).simd(OP.anyTrue);
  f.op(0x04, 0x7b); // if (some lane outside) → v128
  // × 2^n as 2^(n>>1) · 2^(n − n>>1): both factors stay normal for n in [−150, 128] (x clamped
  // to [−104, 89]; pmax/pmin keep a NaN in their first operand).
  f.get(x);
  c(-104);
  f.simd(OP.pmax);
  c(89);
  f.simd(OP.pmin).set("xt");
  reduce("xt", MAGIC);
  f.get("xi");
  K.push(0x4b400000, true);
  f.simd(OP.i32Sub).set("xi");
  f.get("xi").i32(1).simd(OP.i32ShrS);
  K.push(127, true);
  f.simd(OP.i32Add).i32(23).simd(OP.i32Shl).simd(OP.mul);
  f.get("xi").get("xi").i32(1).simd(OP.i32ShrS).simd(OP.i32Sub);
  K.push(127, true);
  f.simd(OP.i32Add).i32(23).simd(OP.i32Shl).simd(OP.mul);
  f.op(0x05); // else
  reduce(x, MAGIC + 127);
  f.get("xi").i32(23).simd(OP.i32Shl).simd(OP.mul);
  f.op(0x0b);
}

/** tanh(x) pushed on the stack: odd polynomial below |x| = 0.625, else 1 − 2/(e^2|x| + 1) with x's sign. */
function emitTanh(f: FnBuilder, K: Consts, x: string): void {
  const c = (v: number): FnBuilder => K.push(v);
  f.get(x).simd(OP.abs).set("ta");
  f.get(x).get(x).simd(OP.mul).set("tz");
  f.get("tz");
  c(-5.70498872745e-3);
  f.simd(OP.mul);
  for (const k of [2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1]) {
    c(k);
    f.simd(OP.add).get("tz").simd(OP.mul);
  }
  c(-3.33332819422e-1);
  f.simd(OP.add).get("tz").simd(OP.mul).get(x).simd(OP.mul).get(x).simd(OP.add); // small branch
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
  log: null,
  expm1: null,
  log1p: null,
  sin: null,
  cos: null,
  erf: null,
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
