/**
 * WGSL for scalar semantics: literals (non-finite floats built from bits at run time, since WGSL
 * rejects them in constant expressions), every elementwise primitive as defined in
 * core/semantics.ts (NaN-propagating max/min ordering ±0, C `pow`, round half to even, saturating
 * float -> int32 casts with NaN -> 0, int division by zero -> -1), written so that drivers' unsafe
 * float rewrites cannot apply, and helper functions (log of denormals, erf, expm1, log1p,
 * Threefry-2x32-20).
 */
import type { DType } from "../../core/dtype.js";
import type { Node } from "../../core/node.js";
import type { ElementwisePrim } from "../../core/primitives.js";
import { isElementwisePrim } from "../../core/primitives.js";

/** Anything that collects the helper functions a kernel needs. */
export interface HelperSink {
  readonly helpers: Set<string>;
}

/** A literal of `dtype` (WGSL expression). */
export function litOf(v: number, dtype: DType, sink: HelperSink): string {
  if (dtype === "bool") return v !== 0 ? "true" : "false";
  if (dtype === "int32") {
    const i = Number.isNaN(v) ? 0 : Math.trunc(v) | 0;
    return i < 0 ? `(${i})` : `${i}`;
  }
  const f = Math.fround(v);
  if (!Number.isFinite(f)) {
    sink.helpers.add("bits");
    const bits = Number.isNaN(f) ? 0x7fc00000 : f > 0 ? 0x7f800000 : 0xff800000;
    return `f32_bits(${bits}u)`;
  }
  if (Object.is(f, -0)) {
    sink.helpers.add("bits");
    return "f32_bits(0x80000000u)"; // a -0.0 literal loses its sign in some compilers
  }
  const s = String(f);
  return s.includes(".") || s.includes("e") ? `f32(${s})` : `${s}.0f`;
}

/** The WGSL expression of an elementwise node applied to argument expressions. */
export function elemExpr(sink: HelperSink, n: Node, a: readonly string[]): string {
  if (!isElementwisePrim(n.prim)) throw new Error(`webgpu: no elementwise code for primitive "${n.prim}"`);
  const lits = n.inputs.map((m) => {
    while (m.prim === "broadcast" || m.prim === "reshape") m = m.inputs[0]!;
    return m.prim === "const" ? m.params.value : undefined;
  });
  const inT = (n.prim === "where" ? n.inputs[1] : n.inputs[0])?.dtype ?? n.dtype;
  return primExpr(sink, n.prim, inT, n.dtype, a, {
    lits,
    lane: n.prim === "threefry" ? n.params.lane : undefined,
    bits: n.prim === "shrl" ? n.params.bits : undefined,
  });
}

/** Options of `primExpr`: operands that are literals (their values), Threefry lane, shift. */
export interface PrimOpts {
  readonly lits?: readonly (number | undefined)[];
  readonly lane?: number;
  readonly bits?: number;
}

/** One primitive's WGSL: argument expressions, operand dtype, result dtype, options. */
type WgslEmit = (sink: HelperSink, a: readonly string[], inT: DType, outT: DType, opts: PrimOpts) => string;

const need = (sink: HelperSink, ...names: string[]): void => {
  for (const n of names) sink.helpers.add(n);
};
/** A float builtin with NaN kept (drivers may not), or a helper function. */
const fcall =
  (fn: string, helper?: string): WgslEmit =>
  (sink, [x]) => {
    if (helper) need(sink, helper);
    return `${fn}(${x})`;
  };
const isInt = (d: DType): boolean => d === "int32";
/** Bool operands: add/max are `or`, mul/min are `and` (the definition's int result stored as bool). */
const boolOr = (x: string, y: string): string => `(${x} || ${y})`;
const boolAnd = (x: string, y: string): string => `(${x} && ${y})`;

/**
 * The WGSL of every elementwise primitive: each is its definition in core/semantics.ts written
 * so that drivers' unsafe float algebra (x·0 → 0, x − x → 0, x/0 folds, x + 0 → x) cannot change
 * the IEEE result: negation flips the sign bit, literal operands that those rewrites key on get
 * their IEEE result spelled out, max/min order ±0 and propagate NaN explicitly.
 */
const WGSL: { readonly [P in ElementwisePrim]: WgslEmit } = {
  neg: (sink, [x], inT) => {
    if (inT !== "float32" && inT !== "float16") return inT === "bool" ? x! : `(-${x})`;
    need(sink, "bits");
    return `neg_f(${x})`;
  },
  exp: fcall("exp_f", "exp"),
  log: fcall("log_f", "log"),
  expm1: fcall("expm1_f", "expm1"),
  log1p: fcall("log1p_f", "log1p"),
  sin: fcall("sin"),
  cos: fcall("cos"),
  tanh: fcall("tanh_f", "tanh"),
  sqrt: fcall("sqrt"),
  erf: fcall("erf_f", "erf"),
  floor: (_s, [x], inT) => (isInt(inT) ? x! : `floor(${x})`),
  round: (_s, [x], inT) => (isInt(inT) ? x! : `round(${x})`),
  add: (sink, [x, y], inT, _o, { lits }) => {
    if (inT === "bool") return boolOr(x!, y!);
    if (isInt(inT)) return `(${x} + ${y})`;
    // x + (+0) is +0 for x = -0; drivers fold it to x.
    const z = [0, 1].find((k) => Object.is(lits?.[k], 0));
    if (z !== undefined) return `select(${z === 0 ? y : x}, 0.0, ${z === 0 ? y : x} == 0.0)`;
    return `(${x} + ${y})`;
  },
  mul: (sink, [x, y], inT, _o, { lits }) => {
    if (inT === "bool") return boolAnd(x!, y!);
    // Drivers fold x * 0 to 0; IEEE gives NaN for x = NaN or ±Inf (and -0 for x < 0).
    const z = [0, 1].find((k) => lits?.[k] === 0);
    if (!isInt(inT) && z !== undefined) {
      need(sink, "bits");
      const other = z === 1 ? x : y;
      return `mul0_f(${other}, ${Object.is(lits![z], -0) ? "0x80000000u" : "0u"})`;
    }
    return `(${x} * ${y})`;
  },
  div: (sink, [x, y], inT, _o, { lits }) => {
    if (!isInt(inT)) {
      need(sink, "bits");
      // A literal ±0 divisor is folded wrongly by drivers: spell out x/±0 (NaN, ±Inf).
      if (lits?.[1] === 0) return `div0_f(${x}, ${Object.is(lits[1], -0) ? "0x80000000u" : "0u"})`;
      return `(${x} / ${y})`;
    }
    return `select(${x} / ${y}, -1, ${y} == 0)`;
  },
  pow: (sink, [x, y], inT) => {
    need(sink, isInt(inT) ? "powi" : "pow");
    return isInt(inT) ? `pow_i(${x}, ${y})` : `pow_f(${x}, ${y})`;
  },
  max: (sink, [x, y], inT) => {
    if (inT === "bool") return boolOr(x!, y!);
    if (isInt(inT)) return `max(${x}, ${y})`;
    need(sink, "minmax");
    return `max_f(${x}, ${y})`;
  },
  min: (sink, [x, y], inT) => {
    if (inT === "bool") return boolAnd(x!, y!);
    if (isInt(inT)) return `min(${x}, ${y})`;
    need(sink, "minmax");
    return `min_f(${x}, ${y})`;
  },
  eq: (_s, [x, y]) => `(${x} == ${y})`,
  ne: (_s, [x, y]) => `!(${x} == ${y})`,
  lt: (_s, [x, y], inT) => (inT === "bool" ? `(select(0, 1, ${x}) < select(0, 1, ${y}))` : `(${x} < ${y})`),
  le: (_s, [x, y], inT) => (inT === "bool" ? `(select(0, 1, ${x}) <= select(0, 1, ${y}))` : `(${x} <= ${y})`),
  where: (_s, [c, a, b]) => `select(${b}, ${a}, ${c})`,
  cast: (sink, [x], inT, outT) => castExpr(sink, x!, inT, outT),
  threefry: (sink, [x, y, z, w], _i, _o, { lane }) => {
    need(sink, "threefry");
    return `bitcast<i32>(threefry3(bitcast<u32>(${x}), bitcast<u32>(${y}), bitcast<u32>(${z}), bitcast<u32>(${w}))[${lane ?? 0}])`;
  },
  shrl: (_s, [x], _i, _o, { bits }) => `bitcast<i32>(bitcast<u32>(${x}) >> ${bits ?? 0}u)`,
};

/**
 * The WGSL expression of an elementwise primitive keyed by name and dtypes (`inT` is the
 * operands' dtype, `outT` the result's), applied to argument expressions.
 */
export function primExpr(sink: HelperSink, prim: ElementwisePrim, inT: DType, outT: DType, a: readonly string[], opts: PrimOpts = {}): string {
  return WGSL[prim](sink, a, inT, outT, opts);
}

/** Converts a value between dtypes with the reference semantics. */
export function castExpr(sink: HelperSink, x: string, from: DType, to: DType): string {
  const f = (d: DType): string => (d === "float16" ? "float32" : d);
  if (f(from) === f(to)) return x;
  if (to === "bool") return from === "int32" ? `(${x} != 0)` : `!(${x} == 0.0)`;
  if (from === "bool") return to === "int32" ? `select(0, 1, ${x})` : `select(0.0, 1.0, ${x})`;
  if (to === "int32") {
    // Saturating with NaN -> 0 (core/semantics.ts); WGSL's own i32(f32) clamps to 2147483520.
    need(sink, "bits");
    return `f2i32(${x})`;
  }
  return `f32(${x})`;
}

const HELPERS: Record<string, { deps?: string[]; code: string }> = {
  bits: {
    code: `fn f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn is_nan_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn is_finite_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
// The sign flip as an integer add (drivers see through xor and fold x + -x to 0, wrong for Inf/NaN).
fn neg_f(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) + 0x80000000u); }
fn mul0_f(x: f32, sign: u32) -> f32 {
  if (!is_finite_f(x)) { return f32_bits(0x7fc00000u); }
  return bitcast<f32>((bitcast<u32>(x) ^ sign) & 0x80000000u);
}
fn div0_f(x: f32, sign: u32) -> f32 {
  if (is_nan_f(x) || x == 0.0) { return f32_bits(0x7fc00000u); }
  return bitcast<f32>(((bitcast<u32>(x) ^ sign) & 0x80000000u) | 0x7f800000u);
}
fn f2i32(x: f32) -> i32 {
  if (is_nan_f(x)) { return 0; }
  if (x >= 2147483648.0) { return 2147483647; }
  if (x <= -2147483648.0) { return -2147483647 - 1; }
  return i32(x);
}`,
  },
  minmax: {
    deps: ["bits"],
    // Equal operands (±0) combine their bits: max(-0, +0) = +0, min(-0, +0) = -0.
    code: `fn max_f(a: f32, b: f32) -> f32 {
  if (is_nan_f(a) || is_nan_f(b)) { return f32_bits(0x7fc00000u); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return max(a, b);
}
fn min_f(a: f32, b: f32) -> f32 {
  if (is_nan_f(a) || is_nan_f(b)) { return f32_bits(0x7fc00000u); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)); }
  return min(a, b);
}`,
  },
  exp: {
    // Range reduction (Cody–Waite): the builtin's error grows with |x| (3 + 2|x| ulp in the WGSL
    // spec); exp(r) for |r| <= ln2/2 scaled by 2^n in two exact steps keeps it a few ulp.
    deps: ["bits"],
    code: `fn exp_f(x: f32) -> f32 {
  if (is_nan_f(x)) { return x; }
  let c = clamp(x, -104.0, 89.0);
  let n = round(c * 1.4426950408889634);
  let r = (c - n * 0.693359375) + n * 2.12194440e-4;
  let e = exp(r);
  let h = i32(n) / 2;
  return ldexp(ldexp(e, h), i32(n) - h);
}`,
  },
  log: {
    // Denormal inputs: drivers' log reads the exponent field (garbage below 2^-126); scale up.
    code: `fn log_f(x: f32) -> f32 {
  if (x > 0.0 && x < 1.17549435e-38) { return log(x * 16777216.0) - 16.635532333438686; }
  return log(x);
}`,
  },
  expm1: {
    deps: ["bits", "exp"],
    code: `fn expm1_f(x: f32) -> f32 {
  if (is_nan_f(x)) { return x; }
  if (abs(x) < 1e-5) { return x + 0.5 * x * x; }
  if (x > 0.5) { return exp_f(x) - 1.0; }
  let u = exp_f(x);
  if (is_inf_f(u)) { return u; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  return um1 * (x / log(u));
}`,
  },
  log1p: {
    deps: ["bits"],
    code: `fn log1p_f(x: f32) -> f32 {
  if (is_nan_f(x)) { return x; }
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (is_inf_f(u) || u == 0.0) { return log(u); }
  return log(u) * (x / (u - 1.0));
}`,
  },
  tanh: {
    deps: ["expm1"],
    code: `fn tanh_f(x: f32) -> f32 {
  if (is_nan_f(x)) { return x; }
  let e = expm1_f(2.0 * clamp(x, -15.0, 15.0));
  return e / (e + 2.0);
}`,
  },
  erf: {
    deps: ["bits"],
    code: `fn erf_f(x: f32) -> f32 {
  if (is_nan_f(x)) { return x; }
  let z = abs(x);
  if (z < 0.5) {
    let x2 = x * x;
    return 1.1283791670955126 * x * (1.0 + x2 * (-0.3333333333 + x2 * (0.1 + x2 * (-0.0238095238 + x2 * (0.0046296296 + x2 * -0.0007575758)))));
  }
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}`,
  },
  pow: {
    deps: ["bits"],
    code: `// |a|^b through exp2; the driver's exp2 may not produce denormals: results below 2^-125 are
// scaled in two steps.
fn pow_exp2(ab: f32, b: f32) -> f32 {
  let t = b * select(log2(ab), log2(ab * 16777216.0) - 24.0, ab < 1.17549435e-38);
  return select(exp2(t), exp2(t + 32.0) * 2.3283064365386963e-10, t < -125.0);
}
fn pow_f(a: f32, b: f32) -> f32 {
  if (a == 1.0 || b == 0.0) { return 1.0; }
  if (is_nan_f(a) || is_nan_f(b)) { return f32_bits(0x7fc00000u); }
  let ab = abs(a);
  if (is_inf_f(b)) {
    if (ab == 1.0) { return 1.0; }
    if ((ab < 1.0) == (b > 0.0)) { return 0.0; }
    return f32_bits(0x7f800000u);
  }
  let isInt = floor(b) == b;
  if (a < 0.0 && !isInt && !is_inf_f(a)) { return f32_bits(0x7fc00000u); }
  let odd = isInt && abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  var r: f32;
  if (ab == 0.0) {
    r = select(f32_bits(0x7f800000u), 0.0, b > 0.0);
  } else if (is_inf_f(ab)) {
    r = select(0.0, f32_bits(0x7f800000u), b > 0.0);
  } else if (isInt && abs(b) <= 64.0) {
    var e = u32(abs(b));
    var base = ab;
    r = 1.0;
    loop {
      if (e == 0u) { break; }
      if ((e & 1u) == 1u) { r = r * base; }
      base = base * base;
      e = e >> 1u;
    }
    // A negative power whose positive power overflows or is near it (1/r denormal): through exp2.
    if (b < 0.0) { r = select(1.0 / r, pow_exp2(ab, b), r >= 8.507059e37); }
  } else {
    r = pow_exp2(ab, b);
  }
  let neg = (bitcast<u32>(a) >> 31u) == 1u;
  return select(r, -r, neg && odd);
}`,
  },
  powi: {
    code: `fn pow_i(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(-1, 1, (b & 1) == 0); }
    return 0;
  }
  var e = u32(b);
  var base = a;
  var r = 1;
  loop {
    if (e == 0u) { break; }
    if ((e & 1u) == 1u) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}`,
  },
  threefry: {
    code: `fn rotl32(x: u32, r: u32) -> u32 { return (x << r) | (x >> (32u - r)); }
fn threefry(k0: u32, k1: u32, x0: u32, x1: u32) -> vec2<u32> {
  let rot = array<u32, 8>(13u, 15u, 26u, 6u, 17u, 29u, 16u, 24u);
  let ks = array<u32, 3>(k0, k1, k0 ^ k1 ^ 0x1bd11bdau);
  var a = x0 + k0;
  var b = x1 + k1;
  for (var blk = 0u; blk < 5u; blk++) {
    for (var r = 0u; r < 4u; r++) {
      a = a + b;
      b = rotl32(b, rot[(blk % 2u) * 4u + r]);
      b = b ^ a;
    }
    let s = blk + 1u;
    a = a + ks[s % 3u];
    b = b + ks[(s + 1u) % 3u] + s;
  }
  return vec2<u32>(a, b);
}
fn threefry3(k0: u32, k1: u32, x0: u32, x1: u32) -> vec3<u32> {
  let t = threefry(k0, k1, x0, x1);
  return vec3<u32>(t.x, t.y, t.x ^ t.y);
}`,
  },
};

/** The WGSL source of the helper functions in `names` (with their dependencies). */
export function helperCode(names: ReadonlySet<string>): string {
  const done = new Set<string>();
  const out: string[] = [];
  const add = (n: string): void => {
    if (done.has(n)) return;
    done.add(n);
    const h = HELPERS[n];
    if (!h) throw new Error(`webgpu: unknown helper ${n}`);
    for (const d of h.deps ?? []) add(d);
    out.push(h.code);
  };
  for (const n of [...names].sort()) add(n);
  return out.join("\n");
}
