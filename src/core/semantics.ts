/**
 * The scalar semantics of every elementwise primitive, defined once: what one output element is,
 * given the operand elements, for each operand dtype. It follows JAX/XLA on CPU (NaN-propagating
 * max/min, IEEE division by zero, saturating float -> int32 casts with NaN -> 0, round half to
 * even, truncating integer division with x / 0 = -1, exact wrapping integer arithmetic), except
 * that denormals are kept (XLA's CPU backend flushes them; JS cannot).
 *
 * The table `SEMANTICS` is typed over `ElementwisePrim` (derived from the primitive metadata), so
 * a new elementwise primitive fails to compile until it has a meaning here. The reference
 * interpreter and constant folding evaluate through `scalarFn`; the JS kernel emitter calls the
 * same functions (semantics-math.ts); the Wasm SIMD and WGSL emitters are tables over the same
 * type and are checked against `scalarFn` by tests/semantics (bit-identical, or within the ulp
 * bound `ulp` documented per primitive and backend in docs/semantics.md).
 */
import type { DType } from "./dtype.js";
import type { ElementwisePrim, Params } from "./primitives.js";
import { divI32, erf, f2i32, maxN, minN, powC, powI32, roundHalfEven, threefry2x32 } from "./semantics-math.js";

/** One element: operand values (as stored in their dtype) to the result value (as stored). */
export type ScalarFn = (a: number, b: number, c: number, d: number) => number;

/** The typing of one elementwise application: operand dtype, result dtype, params. */
export interface ScalarSig<P extends ElementwisePrim> {
  /** dtype of the (first non-condition) operand. */
  readonly inT: DType;
  readonly outT: DType;
  readonly params: Params<P>;
}

/** Backends whose emitters are checked against the definition. */
export type SemanticsBackend = "js" | "wasm" | "webgpu";

/** Largest difference from the definition a backend may show on float results. */
export interface Bound {
  /** In units in the last place of the float32 result (0: bit-identical). */
  readonly ulp: number;
  /** An absolute error also accepted (transcendentals whose WGSL spec bound is absolute). */
  readonly abs?: number;
  /**
   * Operands beyond this magnitude get no accuracy promise, only the range of the function
   * (|result| <= 1 for sin/cos) and NaN exactly where the definition gives NaN.
   */
  readonly domain?: number;
}

/** The definition of one elementwise primitive. */
export interface ScalarDef<P extends ElementwisePrim> {
  /** The meaning in words, per dtype where it differs (docs/semantics.md quotes these). */
  readonly meaning: string;
  /** The evaluator for one typing: returns the value as stored in `outT`. */
  readonly eval: (sig: ScalarSig<P>) => ScalarFn;
  /** Allowed difference per backend on float results (bit-identical where absent). */
  readonly bound?: { readonly [B in SemanticsBackend]?: Bound };
}

const isF = (d: DType): boolean => d === "float32" || d === "float16";
const fr = Math.fround;

/** Stores a computed number in dtype `d`: float32 rounding, int32 wrapping, bool 0/1. */
export function storeAs(d: DType, v: number): number {
  return isF(d) ? fr(v) : d === "int32" ? v | 0 : v !== 0 ? 1 : 0;
}

/** A float math function of one operand; integer/bool operands are converted to float first. */
function math1(f: (x: number) => number, meaning: string, bound?: ScalarDef<ElementwisePrim>["bound"]): ScalarDef<ElementwisePrim> {
  return {
    meaning,
    eval:
      ({ outT }) =>
      (a) =>
        storeAs(outT, f(a)),
    ...(bound ? { bound } : {}),
  };
}

/** Per-operand-class evaluators of a binary primitive (bool operands compute as int 0/1). */
function binary(meaning: string, f: (a: number, b: number) => number, i: (a: number, b: number) => number): ScalarDef<ElementwisePrim> {
  return {
    meaning,
    eval: ({ inT, outT }) => {
      const g = isF(inT) ? f : i;
      return (a, b) => storeAs(outT, g(a, b));
    },
  };
}

const TRANS = { webgpu: { ulp: 4, abs: 2 ** -20 } } as const;
const TRIG = { webgpu: { ulp: 4, abs: 2 ** -20, domain: 1e4 } } as const;

/** The meaning of every elementwise primitive. */
export const SEMANTICS: { readonly [P in ElementwisePrim]: ScalarDef<P> } = {
  neg: {
    meaning: "-x; int32: wraps (-INT_MIN = INT_MIN); float: flips the sign bit (-0 for 0, NaN stays NaN)",
    eval:
      ({ outT }) =>
      (a) =>
        storeAs(outT, -a),
  },
  exp: math1(Math.exp, "e^x, correctly rounded to float32; exp(-Inf) = 0, exp(NaN) = NaN", { js: { ulp: 1 }, wasm: { ulp: 2 }, webgpu: { ulp: 4 } }),
  log: math1(Math.log, "natural log; log(0) = -Inf, log(x < 0) = NaN, log(denormal) finite (kept, not flushed)", { ...TRANS, wasm: { ulp: 2 } }),
  expm1: math1(Math.expm1, "e^x - 1, accurate near 0", { ...TRANS, wasm: { ulp: 3 } }),
  log1p: math1(Math.log1p, "log(1 + x), accurate near 0; log1p(-1) = -Inf", { ...TRANS, wasm: { ulp: 3 } }),
  sin: math1(Math.sin, "sine; sin(±Inf) = NaN", TRIG),
  cos: math1(Math.cos, "cosine; cos(±Inf) = NaN", TRIG),
  tanh: math1(Math.tanh, "hyperbolic tangent; ±1 at ±Inf", { js: { ulp: 2 }, wasm: { ulp: 2 }, webgpu: { ulp: 4, abs: 2 ** -20 } }),
  sqrt: math1(Math.sqrt, "square root, correctly rounded; sqrt(-0) = -0, sqrt(x < 0) = NaN", { webgpu: { ulp: 1 } }),
  erf: math1(erf, "error function", { wasm: { ulp: 3, abs: 2 ** -50 }, webgpu: { ulp: 4, abs: 2 ** -20 } }),
  floor: {
    meaning: "largest integer <= x (floor(-0) = -0); identity on int32",
    eval: ({ inT, outT }) => (isF(inT) ? (a) => storeAs(outT, Math.floor(a)) : (a) => a),
  },
  round: {
    meaning: "round half to even (0.5 -> 0, 1.5 -> 2, -0.4 -> -0); identity on int32",
    eval: ({ inT, outT }) => (isF(inT) ? (a) => storeAs(outT, roundHalfEven(a)) : (a) => a),
  },
  add: binary(
    "a + b (IEEE: Inf - Inf = NaN, -0 + +0 = +0); int32 wraps; bool: or",
    (a, b) => a + b,
    (a, b) => a + b,
  ),
  mul: binary("a * b (IEEE: 0 * Inf = NaN); int32 wraps (exact low 32 bits); bool: and", (a, b) => a * b, Math.imul),
  div: binary("a / b (IEEE: x/0 = ±Inf, 0/0 = NaN); int32: truncates, x/0 = -1, INT_MIN/-1 = INT_MIN (XLA CPU)", (a, b) => a / b, divI32),
  pow: {
    ...binary(
      "C pow (pow(x, 0) = 1, pow(1, y) = 1, pow(-8, 1/3) = NaN); int32: exact wrapping product, negative exponent -> 0 unless base is ±1",
      powC,
      powI32,
    ),
    bound: { webgpu: { ulp: 128 } },
  },
  max: binary("maximum; NaN if either is NaN; max(-0, +0) = +0; bool: or", maxN, Math.max),
  min: binary("minimum; NaN if either is NaN; min(-0, +0) = -0; bool: and", minN, Math.min),
  eq: binary(
    "a == b (NaN == NaN is false, -0 == +0 is true)",
    (a, b) => (a === b ? 1 : 0),
    (a, b) => (a === b ? 1 : 0),
  ),
  ne: binary(
    "a != b (true when either is NaN)",
    (a, b) => (a !== b ? 1 : 0),
    (a, b) => (a !== b ? 1 : 0),
  ),
  lt: binary(
    "a < b (false when either is NaN)",
    (a, b) => (a < b ? 1 : 0),
    (a, b) => (a < b ? 1 : 0),
  ),
  le: binary(
    "a <= b (false when either is NaN)",
    (a, b) => (a <= b ? 1 : 0),
    (a, b) => (a <= b ? 1 : 0),
  ),
  where: {
    meaning: "where(c, a, b): a where c is true (nonzero), else b; only the chosen value is passed through (NaN in the other is ignored)",
    eval: () => (c, a, b) => (c ? a : b),
  },
  cast: {
    meaning:
      "to bool: x != 0 (NaN -> true); float -> int32: truncate toward zero, saturate to [INT_MIN, INT_MAX], NaN -> 0; bool/int32 -> float: exact or rounded to nearest; float16 operands compute in float32 (rounded to float16 only where a backend stores float16)",
    eval: ({ inT, outT }) => {
      if (outT === "bool") return (a) => (a !== 0 ? 1 : 0);
      if (outT === "int32") return isF(inT) ? f2i32 : (a) => a | 0;
      return (a) => fr(a);
    },
  },
  shrl: {
    meaning: "logical (unsigned) shift right of the int32 bits by `bits`",
    eval:
      ({ params }) =>
      (a) =>
        (a >>> params.bits) | 0,
  },
  threefry: {
    meaning: "Threefry-2x32 (20 rounds) of (k0, k1, x0, x1); `lane` 0 or 1 picks an output word, 2 their xor (JAX's 32-bit bits), as int32 bits",
    eval:
      ({ params }) =>
      (k0, k1, x0, x1) => {
        const t = threefry2x32(k0, k1, x0, x1);
        return (params.lane === 2 ? t[0] ^ t[1] : t[params.lane]) | 0;
      },
  },
};

/**
 * The evaluator of `prim` for one typing (the single definition every backend agrees with).
 * @example
 * ```ts
 * import { scalarFn } from "tenfold/internals";
 * const div = scalarFn("div", "int32", "int32", {});
 * console.log(div(7, -2, 0, 0), div(5, 0, 0, 0)); // -3 -1
 * ```
 */
export function scalarFn<P extends ElementwisePrim>(prim: P, inT: DType, outT: DType, params: Params<P>): ScalarFn {
  return (SEMANTICS[prim] as ScalarDef<P>).eval({ inT, outT, params });
}

/** The allowed difference of `backend` from the definition of `prim` (float results). */
export function boundOf(prim: ElementwisePrim, backend: SemanticsBackend): Bound {
  return SEMANTICS[prim].bound?.[backend] ?? { ulp: 0 };
}
