/**
 * Splittable counter-based random numbers: keys are int32 tensors of shape [2] (the two uint32
 * words of a JAX key); no global state. Every function follows JAX's threefry PRNG in its
 * default "partitionable" layout (`jax_threefry_partitionable`, the default since JAX 0.5): element
 * `i` of a draw encrypts the 64-bit counter `i` (as the words [hi, lo]) under the key, so values
 * are bit-identical to JAX's for the same seed, shape and dtype, on every backend
 * (tests/core/random-jax.test.ts checks them against fixtures written by JAX).
 */
import type { DType } from "../core/dtype.js";
import { ShapeError, ValueError, fmtShape } from "../core/errors.js";
import { checkShape, sizeOf } from "../core/shape.js";
import { Tensor } from "../core/tensor.js";
import { bind, broadcastTo_, cast, constant } from "../ops/base.js";
import type { TensorLike } from "../ops/base.js";
import { iota, tensor } from "../ops/creation.js";
import { abs, add, clip, divide, equal, erf, less, log, log1p, maximum, multiply, negative, sqrt, subtract, where } from "../ops/elementwise.js";
import { argmax } from "../ops/reduce.js";
import { concat, reshape, slice, stack, take } from "../ops/shape.js";
import { argsort } from "../ops/sort.js";

/** A PRNG key: an int32 tensor of shape [2]. */
export type Key = Tensor;

function checkKey(key: unknown, op: string): Tensor {
  if (!(key instanceof Tensor) || key.dtype !== "int32" || key.shape.length !== 1 || key.shape[0] !== 2) {
    const what = key instanceof Tensor ? `${key.dtype}${fmtShape(key.shape)}` : typeof key;
    throw new TypeError(`random.${op}: expected a key (int32 tensor of shape [2], from random.key), got ${what}`);
  }
  return key;
}

/** Threefry of `key` over counter words (x0, x1), elementwise; returns both output words. */
function threefry(key: Tensor, x0: Tensor, x1: Tensor): [Tensor, Tensor] {
  const shape = x0.shape;
  const k0 = broadcastTo_(reshape(slice(key, [0], [1]), []), shape);
  const k1 = broadcastTo_(reshape(slice(key, [1], [2]), []), shape);
  return [bind("threefry", { lane: 0 }, [k0, k1, x0, x1]), bind("threefry", { lane: 1 }, [k0, k1, x0, x1])];
}

/**
 * Threefry of `key` over the 64-bit counters 0..n-1 (JAX's `iota_2x32_shape`: high words 0 below
 * 2^32 elements): both output words, each of shape [n].
 */
function threefryIota(key: Tensor, n: number): [Tensor, Tensor] {
  if (n >= 2 ** 32) throw new ShapeError(`random: draws of 2^32 or more elements are not supported, got ${n}`);
  return threefry(key, broadcastTo_(constant(0, "int32"), [n]), iota([n], 0, "int32"));
}

function uint32Of(value: number, op: string, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 32) {
    throw new ValueError(`random.${op}: ${what} must be an integer in [0, 2^32), got ${value} (JAX raises OverflowError)`);
  }
  return value;
}

/**
 * A key from an integer seed, as `jax.random.key(seed)` (32-bit seeds, JAX's default): the key
 * words are `[0, seed mod 2^32]`, so `key(-1)` is `[0, 0xffffffff]` (as int32 bits).
 * @example
 * ```ts
 * import { random } from "tenfold";
 * const key = random.key(42);
 * console.log(key.arraySync()); // [0, 42]
 * ```
 */
export function key(seed: number): Key {
  if (!Number.isSafeInteger(seed)) throw new ValueError(`random.key: seed must be a safe integer, got ${seed}`);
  // JAX (without x64) converts the seed to 32 bits: the low word of its two's complement.
  const lo = Number(BigInt.asIntN(32, BigInt(seed)));
  return tensor(new Int32Array([0, lo]), { shape: [2], dtype: "int32" });
}

/**
 * Splits a key into `n` independent keys, as `jax.random.split` (key `i` encrypts the counter `i`).
 * @example
 * ```ts
 * import { random } from "tenfold";
 * const [k1, k2] = random.split(random.key(0));
 * console.log(k1!.shape, k2!.shape); // [2] [2]
 * ```
 */
export function split(k: Key, n = 2): Key[] {
  const kk = checkKey(k, "split");
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`random.split: n must be a positive integer, got ${n}`);
  const [y0, y1] = threefryIota(kk, n);
  const both = stack([y0, y1], { axis: 1 });
  return Array.from({ length: n }, (_, i) => reshape(slice(both, [i, 0], [i + 1, 2]), [2]));
}

/**
 * Derives a new key from a key and a 32-bit unsigned integer (e.g. a step number), as
 * `jax.random.fold_in`. Data outside [0, 2^32) throws (JAX raises OverflowError), so distinct
 * values never collide by wrapping.
 * @example
 * ```ts
 * import { random } from "tenfold";
 * const k = random.foldIn(random.key(0), 7);
 * console.log(k.shape); // [2]
 * ```
 */
export function foldIn(k: Key, data: number | Tensor): Key {
  const kk = checkKey(k, "foldIn");
  const d = data instanceof Tensor ? cast(reshape(data, [1]), "int32") : tensor(new Int32Array([uint32Of(data, "foldIn", "data") | 0]), { dtype: "int32" });
  const [y0, y1] = threefry(kk, broadcastTo_(constant(0, "int32"), [1]), d);
  return concat([y0, y1]);
}

/**
 * Raw 32-bit random words for a shape, as `jax.random.bits` (uint32 values, stored as int32 bit
 * patterns): the xor of the two threefry words of each element's counter.
 * @example
 * ```ts
 * import { random } from "tenfold";
 * console.log(random.bits(random.key(0), [2, 3]).shape); // [2, 3]
 * ```
 */
export function bits(k: Key, shape: readonly number[]): Tensor {
  const kk = checkKey(k, "bits");
  const s = checkShape("random.bits", shape);
  const n = sizeOf(s);
  if (n >= 2 ** 32) throw new ShapeError(`random.bits: draws of 2^32 or more elements are not supported, got ${n}`);
  const k0 = broadcastTo_(reshape(slice(kk, [0], [1]), []), [n]);
  const k1 = broadcastTo_(reshape(slice(kk, [1], [2]), []), [n]);
  return reshape(bind("threefry", { lane: 2 }, [k0, k1, broadcastTo_(constant(0, "int32"), [n]), iota([n], 0, "int32")]), s);
}

/** Uniform floats in [0, 1) from the top 23 random bits (JAX: the bits as a mantissa of [1, 2), minus 1). */
function unit(k: Key, shape: readonly number[]): Tensor {
  const b = bits(k, shape);
  return multiply(cast(bind("shrl", { bits: 9 }, [b]), "float32"), 2 ** -23);
}

/**
 * Uniform samples in `[minval, maxval)`, as `jax.random.uniform`: `max(minval, u * (maxval -
 * minval) + minval)` in float32. Bit-identical to JAX on `[0, 1)` (and whenever the product is
 * exact); on other ranges within one rounding of the product (2^-24 · span), because XLA fuses
 * the multiply-add.
 * @example
 * ```ts
 * import { random } from "tenfold";
 * const u = random.uniform(random.key(1), [3], { minval: -1, maxval: 1 });
 * console.log(u.shape); // [3]
 * ```
 */
export function uniform(k: Key, shape: readonly number[] = [], options: { minval?: TensorLike; maxval?: TensorLike; dtype?: DType } = {}): Tensor {
  checkKey(k, "uniform");
  const f32 = (v: TensorLike): TensorLike => (typeof v === "number" ? Math.fround(v) : v);
  const lo = f32(options.minval ?? 0);
  const hi = f32(options.maxval ?? 1);
  const span = typeof lo === "number" && typeof hi === "number" ? Math.fround(hi - lo) : subtract(hi, lo);
  const u = unit(k, shape);
  return cast(maximum(lo, add(multiply(u, span), lo)), options.dtype ?? "float32");
}

/**
 * Inverse error function, XLA's float32 form (Giles' single-precision polynomials in
 * w = -log1p(-x²), ±Inf at ±1).
 * @example
 * ```ts
 * import { random } from "tenfold";
 * console.log(random.erfinv(0).arraySync()); // 0
 * ```
 */
export function erfinv(x: TensorLike): Tensor {
  const xt = x instanceof Tensor ? x : tensor(x as number);
  const w0 = negative(log1p(negative(multiply(xt, xt))));
  const small = less(w0, 5);
  const w = where(small, subtract(w0, 2.5), subtract(sqrt(w0), 3));
  const lt = [2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941];
  const gt = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682];
  const coef = (i: number): Tensor => where(small, lt[i]!, gt[i]!);
  let p = coef(0);
  for (let i = 1; i < lt.length; i++) p = add(coef(i), multiply(p, w));
  const r = multiply(p, xt);
  return where(equal(abs(xt), 1), multiply(xt, Infinity), r);
}

/**
 * Standard normal samples, as `jax.random.normal`: `sqrt(2) * erfinv(u)` with `u` uniform on
 * `[nextafter(-1, 0), 1)`.
 * @example
 * ```ts
 * import { random } from "tenfold";
 * console.log(random.normal(random.key(0), [2, 2]).shape); // [2, 2]
 * ```
 */
export function normal(k: Key, shape: readonly number[] = [], options: { dtype?: DType } = {}): Tensor {
  checkKey(k, "normal");
  const u = uniform(k, shape, { minval: -1 + 2 ** -24, maxval: 1 });
  return cast(multiply(Math.fround(Math.SQRT2), erfinv(u)), options.dtype ?? "float32");
}

/**
 * Normal samples truncated to `[lower, upper]` (default ±2 standard deviations).
 * @example
 * ```ts
 * import { random } from "tenfold";
 * const t = random.truncatedNormal(random.key(0), [100], { lower: -2, upper: 2 });
 * console.log(t.shape); // [100]
 * ```
 */
export function truncatedNormal(k: Key, shape: readonly number[] = [], options: { lower?: number; upper?: number; dtype?: DType } = {}): Tensor {
  checkKey(k, "truncatedNormal");
  const lower = options.lower ?? -2;
  const upper = options.upper ?? 2;
  if (!(lower < upper)) throw new RangeError(`random.truncatedNormal: lower (${lower}) must be below upper (${upper})`);
  // JAX: u uniform on [erf(lower/√2), erf(upper/√2)), √2·erfinv(u), clipped into the open interval
  const sqrt2 = Math.fround(Math.SQRT2);
  const a = erf(divide(Math.fround(lower), sqrt2));
  const b = erf(divide(Math.fround(upper), sqrt2));
  const u = uniform(k, shape, { minval: a, maxval: b });
  const out = multiply(sqrt2, erfinv(u));
  const next = (v: number, dir: number): number => {
    const f = new Float32Array([v]);
    const i = new Int32Array(f.buffer);
    if (v === 0) return dir > 0 ? 2 ** -149 : -(2 ** -149);
    i[0]! += v > 0 === dir > 0 ? 1 : -1;
    return f[0]!;
  };
  return cast(clip(out, { min: next(Math.fround(lower), 1), max: next(Math.fround(upper), -1) }), options.dtype ?? "float32");
}

/**
 * Booleans that are true with probability `p`.
 * @example
 * ```ts
 * import { random } from "tenfold";
 * console.log(random.bernoulli(random.key(0), 0.5, [4]).dtype); // "bool"
 * ```
 */
export function bernoulli(k: Key, p: TensorLike = 0.5, shape?: readonly number[]): Tensor {
  checkKey(k, "bernoulli");
  const s = shape ?? (p instanceof Tensor ? p.shape : []);
  return less(uniform(k, s), p);
}

/** `w mod s` for uint32 words `w` (int32 bit patterns) and a constant 1 <= s <= 2^30, in int32 ops. */
function urem(w: Tensor, s: number): Tensor {
  const c = (v: number): Tensor => broadcastTo_(constant(v, "int32"), w.shape);
  const mod = (x: Tensor): Tensor => subtract(x, multiply(bind("div", {}, [x, c(s)]), s)); // x >= 0
  const half = bind("shrl", { bits: 1 }, [w]); // w >>> 1, non-negative
  const low = subtract(w, multiply(half, 2)); // the low bit (wrapping arithmetic)
  return mod(add(multiply(mod(half), 2), low));
}

/**
 * Uniform integers in `[minval, maxval)` (int32), as `jax.random.randint`: two words per element
 * from the two halves of `split(key)`, combined modulo the span (spans up to 2^30).
 * @example
 * ```ts
 * import { random } from "tenfold";
 * console.log(random.randint(random.key(0), [3], 0, 10).dtype); // "int32"
 * ```
 */
export function randint(k: Key, shape: readonly number[], minval: number, maxval: number): Tensor {
  checkKey(k, "randint");
  if (!Number.isInteger(minval) || !Number.isInteger(maxval) || maxval <= minval) {
    throw new ValueError(`random.randint: need integers minval < maxval, got ${minval}, ${maxval}`);
  }
  if (minval < -(2 ** 31) || maxval > 2 ** 31)
    throw new ValueError(`random.randint: minval and maxval must fit int32 ([-2^31, 2^31]), got ${minval}, ${maxval}`);
  const span = maxval - minval;
  if (span > 2 ** 30) throw new ValueError(`random.randint: spans above 2^30 are not supported, got maxval - minval = ${span}`);
  const [k1, k2] = split(k);
  const hi = bits(k1!, shape);
  const lo = bits(k2!, shape);
  // JAX's multiplier: (2^16 mod span)^2 in wrapping uint32 arithmetic, mod span
  const m16 = BigInt(2 ** 16 % span);
  const m = Number(BigInt.asUintN(32, m16 * m16) % BigInt(span));
  // (hi mod span) * m + (lo mod span) in wrapping uint32 arithmetic, then mod span (as JAX)
  const offset = urem(add(multiply(urem(hi, span), m), urem(lo, span)), span);
  return add(offset, minval);
}

/**
 * Samples class indices from unnormalized log-probabilities (Gumbel-max trick).
 * @example
 * ```ts
 * import { random, tensor } from "tenfold";
 * const logits = tensor([[0, 10], [10, 0]]);
 * console.log(random.categorical(random.key(0), logits).arraySync()); // [1, 0]
 * ```
 */
export function categorical(k: Key, logits: TensorLike, options: { axis?: number } = {}): Tensor {
  checkKey(k, "categorical");
  const l = logits instanceof Tensor ? logits : tensor(logits as number);
  // JAX's Gumbel noise ("low" mode): -log(-log(u)), u uniform on [tiny, 1)
  const u = uniform(k, l.shape, { minval: 2 ** -126, maxval: 1 });
  const g = negative(log(negative(log(u))));
  return argmax(add(l, g), { axis: options.axis ?? -1 });
}

/**
 * A random permutation of `0..n-1` (int32).
 * @example
 * ```ts
 * import { random, sum } from "tenfold";
 * const p = random.permutation(random.key(0), 5);
 * console.log(sum(p).arraySync()); // 10
 * ```
 */
export function permutation(k: Key, n: number): Tensor {
  let kk = checkKey(k, "permutation");
  if (!Number.isInteger(n) || n < 0) throw new ShapeError(`random.permutation: n must be a non-negative integer, got ${n}`);
  // JAX's _shuffle: ceil(3 ln n / ln(2^32 - 1)) rounds, each a stable sort by fresh uint32 keys.
  const rounds = Math.ceil((3 * Math.log(Math.max(1, n))) / Math.log(2 ** 32 - 1));
  let x = iota([n], 0, "int32");
  for (let r = 0; r < rounds; r++) {
    const [next, sub] = split(kk);
    kk = next!;
    // uint32 order of the keys = int32 order of the keys with the sign bit flipped
    const sortKeys = add(bits(sub!, [n]), -(2 ** 31));
    x = take(x, argsort(sortKeys));
  }
  return x;
}
