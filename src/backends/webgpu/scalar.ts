/**
 * WGSL for scalar semantics: literals (non-finite floats built from bits at run time, since WGSL
 * rejects them in constant expressions), the elementwise primitives with the reference backend's
 * exact rules (NaN-propagating max/min, C `pow`, round half to even, truncating casts with NaN → 0,
 * int division by zero → 0), and helper functions (erf, expm1, log1p, Threefry-2x32-20).
 */
import type { DType } from "../../core/dtype.js";
import type { Node } from "../../core/node.js";

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
  if (Object.is(f, -0)) return "(-0.0f)";
  const s = String(f);
  return s.includes(".") || s.includes("e") ? `f32(${s})` : `${s}.0f`;
}

const need = (sink: HelperSink, ...names: string[]): void => {
  for (const n of names) sink.helpers.add(n);
};

/** The WGSL expression of an elementwise node applied to argument expressions. */
export function elemExpr(sink: HelperSink, n: Node, a: readonly string[]): string {
  const p = n.params as { lane?: number; bits?: number };
  const zero = n.inputs.map((m) => {
    while (m.prim === "broadcast" || m.prim === "reshape") m = m.inputs[0]!;
    return m.prim === "const" && (m as Node<"const">).params.value === 0;
  });
  return primExpr(sink, n.prim, n.inputs[0]?.dtype ?? n.dtype, n.dtype, a, { zero, lane: p.lane, bits: p.bits });
}

/** Options of `primExpr`: which operands are a literal zero (for `mul`), Threefry lane, shift. */
export interface PrimOpts {
  readonly zero?: readonly boolean[];
  readonly lane?: number;
  readonly bits?: number;
}

/**
 * The WGSL expression of an elementwise primitive keyed by name and dtypes (`inT` is the
 * operands' dtype, `outT` the result's), applied to argument expressions.
 */
export function primExpr(sink: HelperSink, prim: string, inT: DType, outT: DType, a: readonly string[], opts: PrimOpts = {}): string {
  const [x, y, z, w] = a as [string, string, string, string];
  const isInt = inT === "int32";
  if (inT === "bool" && ["max", "min", "lt", "le", "add", "mul"].includes(prim)) {
    const bx = `select(0, 1, ${x})`;
    const by = `select(0, 1, ${y})`;
    if (prim === "max" || prim === "add") return `(${x} || ${y})`;
    if (prim === "min" || prim === "mul") return `(${x} && ${y})`;
    return `(${bx} ${prim === "lt" ? "<" : "<="} ${by})`;
  }
  switch (prim) {
    case "neg":
      return `(-${x})`;
    case "exp":
      return `exp(${x})`;
    case "log":
      return `log(${x})`;
    case "expm1":
      need(sink, "expm1");
      return `expm1_f(${x})`;
    case "log1p":
      need(sink, "log1p");
      return `log1p_f(${x})`;
    case "sin":
      return `sin(${x})`;
    case "cos":
      return `cos(${x})`;
    case "tanh":
      need(sink, "tanh");
      return `tanh_f(${x})`;
    case "sqrt":
      return `sqrt(${x})`;
    case "floor":
      return `floor(${x})`;
    case "round":
      return `round(${x})`;
    case "erf":
      need(sink, "erf");
      return `erf_f(${x})`;
    case "add":
      return `(${x} + ${y})`;
    case "mul": {
      // Drivers fold x * 0 to 0; IEEE (and the reference) give NaN for x = NaN or ±Inf.
      const zeroConst = (k: number): boolean => opts.zero?.[k] === true;
      if (!isInt && (zeroConst(0) || zeroConst(1))) {
        need(sink, "bits");
        const other = zeroConst(1) ? x : y;
        return `select(${x} * ${y}, f32_bits(0x7fc00000u), !is_finite_f(${other}))`;
      }
      return `(${x} * ${y})`;
    }
    case "div":
      return isInt ? `select(${x} / ${y}, 0, ${y} == 0)` : `(${x} / ${y})`;
    case "pow":
      need(sink, isInt ? "powi" : "pow");
      return isInt ? `pow_i(${x}, ${y})` : `pow_f(${x}, ${y})`;
    case "max":
      if (isInt) return `max(${x}, ${y})`;
      need(sink, "minmax");
      return `max_f(${x}, ${y})`;
    case "min":
      if (isInt) return `min(${x}, ${y})`;
      need(sink, "minmax");
      return `min_f(${x}, ${y})`;
    case "eq":
      return `(${x} == ${y})`;
    case "ne":
      return `!(${x} == ${y})`;
    case "lt":
      return `(${x} < ${y})`;
    case "le":
      return `(${x} <= ${y})`;
    case "where":
      return `select(${z}, ${y}, ${x})`;
    case "cast":
      return castExpr(sink, x, inT, outT);
    case "threefry":
      need(sink, "threefry");
      return `bitcast<i32>(threefry(bitcast<u32>(${x}), bitcast<u32>(${y}), bitcast<u32>(${z}), bitcast<u32>(${w}))[${opts.lane ?? 0}])`;
    case "shrl":
      return `bitcast<i32>(bitcast<u32>(${x}) >> ${opts.bits ?? 0}u)`;
    default:
      throw new Error(`webgpu: no elementwise code for primitive "${prim}"`);
  }
}

/** Converts a value between dtypes with the reference semantics. */
export function castExpr(sink: HelperSink, x: string, from: DType, to: DType): string {
  const f = (d: DType): string => (d === "float16" ? "float32" : d);
  if (f(from) === f(to)) return x;
  if (to === "bool") return from === "int32" ? `(${x} != 0)` : `!(${x} == 0.0)`;
  if (from === "bool") return to === "int32" ? `select(0, 1, ${x})` : `select(0.0, 1.0, ${x})`;
  if (to === "int32") {
    need(sink, "bits");
    return `select(0, i32(trunc(${x})), is_finite_f(${x}))`;
  }
  return `f32(${x})`;
}

const HELPERS: Record<string, { deps?: string[]; code: string }> = {
  bits: {
    code: `fn f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn is_nan_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn is_finite_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }`,
  },
  minmax: {
    deps: ["bits"],
    code: `fn max_f(a: f32, b: f32) -> f32 { if (is_nan_f(a) || is_nan_f(b)) { return f32_bits(0x7fc00000u); } return max(a, b); }
fn min_f(a: f32, b: f32) -> f32 { if (is_nan_f(a) || is_nan_f(b)) { return f32_bits(0x7fc00000u); } return min(a, b); }`,
  },
  expm1: {
    deps: ["bits"],
    code: `fn expm1_f(x: f32) -> f32 {
  if (is_nan_f(x)) { return x; }
  if (abs(x) < 1e-5) { return x + 0.5 * x * x; }
  let u = exp(x);
  if (is_inf_f(u)) { return u; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  return um1 * x / log(u);
}`,
  },
  log1p: {
    deps: ["bits"],
    code: `fn log1p_f(x: f32) -> f32 {
  if (is_nan_f(x)) { return x; }
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (is_inf_f(u) || u == 0.0) { return log(u); }
  return log(u) * x / (u - 1.0);
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
    code: `fn pow_f(a: f32, b: f32) -> f32 {
  if (a == 1.0 || b == 0.0) { return 1.0; }
  if (is_nan_f(a) || is_nan_f(b)) { return f32_bits(0x7fc00000u); }
  let ab = abs(a);
  if (is_inf_f(b)) {
    if (ab == 1.0) { return 1.0; }
    if ((ab < 1.0) == (b > 0.0)) { return 0.0; }
    return f32_bits(0x7f800000u);
  }
  let isInt = floor(b) == b;
  if (a < 0.0 && !isInt) { return f32_bits(0x7fc00000u); }
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
    if (b < 0.0) { r = 1.0 / r; }
  } else {
    r = exp2(b * log2(ab));
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
