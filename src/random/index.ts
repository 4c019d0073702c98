/**
 * Splittable counter-based random numbers (Threefry-2x32, as JAX): keys are int32 tensors of shape
 * [2]; no global state. The same key always gives the same numbers, on every backend.
 */
import type { DType } from "../core/dtype.js";
import { ShapeError, fmtShape } from "../core/errors.js";
import { checkShape, sizeOf } from "../core/shape.js";
import { Tensor } from "../core/tensor.js";
import { bind, broadcastTo_, cast, constant } from "../ops/base.js";
import type { TensorLike } from "../ops/base.js";
import { iota, tensor } from "../ops/creation.js";
import { add, clip, erf, less, log, multiply, negative, sqrt, subtract, where } from "../ops/elementwise.js";
import { argmax, sum } from "../ops/reduce.js";
import { concat, reshape, slice } from "../ops/shape.js";

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

/** JAX's threefry_2x32 over a flat count vector: halves as (x0, x1), outputs concatenated. */
function threefryCounts(key: Tensor, n: number): Tensor {
  const m = n + (n % 2);
  const counts = iota([m], 0, "int32");
  const x0 = slice(counts, [0], [m / 2]);
  const x1 = slice(counts, [m / 2], [m]);
  const [y0, y1] = threefry(key, x0, x1);
  const out = concat([y0, y1]);
  return m === n ? out : slice(out, [0], [n]);
}

/**
 * A key from an integer seed.
 * @example
 * ```ts
 * import { random } from "tenfold";
 * const key = random.key(0);
 * console.log(key.arraySync()); // [0, 0]
 * ```
 */
export function key(seed: number): Key {
  if (!Number.isInteger(seed)) throw new TypeError(`random.key: seed must be an integer, got ${seed}`);
  const hi = Math.floor(seed / 2 ** 32) | 0;
  const lo = seed >>> 0;
  return tensor(new Int32Array([hi, lo | 0]), { shape: [2], dtype: "int32" });
}

/**
 * Splits a key into `n` independent keys (a [n, 2] tensor; index it or use `split(...)` results).
 * @example
 * ```ts
 * import { random } from "tenfold";
 * const [k1, k2] = random.split(random.key(0));
 * console.log(k1?.shape, k2?.shape); // [2] [2]
 * ```
 */
export function split(k: Key, n = 2): Key[] {
  const kk = checkKey(k, "split");
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`random.split: n must be a positive integer, got ${n}`);
  const bits = reshape(threefryCounts(kk, 2 * n), [n, 2]);
  return Array.from({ length: n }, (_, i) => reshape(slice(bits, [i, 0], [i + 1, 2]), [2]));
}

/**
 * Derives a new key from a key and an integer (e.g. a step number).
 * @example
 * ```ts
 * import { random } from "tenfold";
 * const k = random.foldIn(random.key(0), 7);
 * console.log(k.shape); // [2]
 * ```
 */
export function foldIn(k: Key, data: number | Tensor): Key {
  const kk = checkKey(k, "foldIn");
  const d = data instanceof Tensor ? cast(reshape(data, [1]), "int32") : tensor(new Int32Array([data | 0]), { dtype: "int32" });
  const [y0, y1] = threefry(kk, broadcastTo_(constant(0, "int32"), [1]), d);
  return concat([y0, y1]);
}

/** Raw 32-bit random words for a shape (int32 bit patterns). */
export function bits(k: Key, shape: readonly number[]): Tensor {
  const kk = checkKey(k, "bits");
  const s = checkShape("random.bits", shape);
  return reshape(threefryCounts(kk, sizeOf(s)), s);
}

/** Uniform floats in [0, 1) from 23 random mantissa bits. */
function unit(k: Key, shape: readonly number[]): Tensor {
  const b = bits(k, shape);
  return multiply(cast(bind("shrl", { bits: 9 }, [b]), "float32"), 2 ** -23);
}

/**
 * Uniform samples in `[minval, maxval)`.
 * @example
 * ```ts
 * import { random } from "tenfold";
 * const u = random.uniform(random.key(1), [3], { minval: -1, maxval: 1 });
 * console.log(u.shape); // [3]
 * ```
 */
export function uniform(k: Key, shape: readonly number[] = [], options: { minval?: TensorLike; maxval?: TensorLike; dtype?: DType } = {}): Tensor {
  checkKey(k, "uniform");
  const lo = options.minval ?? 0;
  const hi = options.maxval ?? 1;
  const u = unit(k, shape);
  const r = add(multiply(u, subtract(hi, lo)), lo);
  // guard rounding up to maxval
  return cast(where(less(r, hi), r, lo), options.dtype ?? "float32");
}

/** Inverse error function (Giles' single-precision approximation, as XLA). */
export function erfinv(x: TensorLike): Tensor {
  const w0 = negative(log(multiply(subtract(1, x), add(1, x))));
  const small = less(w0, 5);
  const w1 = subtract(w0, 2.5);
  const w2 = subtract(sqrt(w0), 3);
  const horner = (w: Tensor, cs: number[]): Tensor => cs.slice(1).reduce<Tensor>((p, c) => add(c, multiply(p, w)), broadcastTo_(constant(cs[0]!, "float32"), w.shape));
  const p1 = horner(w1, [2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]);
  const p2 = horner(w2, [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]);
  return multiply(where(small, p1, p2), x);
}

/**
 * Standard normal samples (inverse-CDF method, as JAX).
 * @example
 * ```ts
 * import { random } from "tenfold";
 * console.log(random.normal(random.key(0), [2, 2]).shape); // [2, 2]
 * ```
 */
export function normal(k: Key, shape: readonly number[] = [], options: { dtype?: DType } = {}): Tensor {
  checkKey(k, "normal");
  const lo = -1 + 2 ** -23;
  const u = uniform(k, shape, { minval: lo, maxval: 1 });
  return cast(multiply(erfinv(u), Math.SQRT2), options.dtype ?? "float32");
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
  const a = erf(tensor(lower / Math.SQRT2));
  const b = erf(tensor(upper / Math.SQRT2));
  const u = uniform(k, shape, { minval: a, maxval: b });
  const out = multiply(erfinv(u), Math.SQRT2);
  return cast(clip(out, { min: lower, max: upper }), options.dtype ?? "float32");
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

/**
 * Uniform integers in `[minval, maxval)`.
 * @example
 * ```ts
 * import { random } from "tenfold";
 * console.log(random.randint(random.key(0), [3], 0, 10).dtype); // "int32"
 * ```
 */
export function randint(k: Key, shape: readonly number[], minval: number, maxval: number): Tensor {
  checkKey(k, "randint");
  if (!Number.isInteger(minval) || !Number.isInteger(maxval) || maxval <= minval) {
    throw new RangeError(`random.randint: need integers minval < maxval, got ${minval}, ${maxval}`);
  }
  const span = maxval - minval;
  // 31 random bits scaled to the span (bias below 2^-31 * span)
  const u = cast(bind("shrl", { bits: 1 }, [bits(k, shape)]), "float32");
  const f = multiply(u, span / 2 ** 31);
  const i = cast(f, "int32");
  return add(clip(i, { max: span - 1 }), minval);
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
  const u = uniform(k, l.shape, { minval: 2 ** -24, maxval: 1 });
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
  checkKey(k, "permutation");
  if (!Number.isInteger(n) || n < 0) throw new ShapeError(`random.permutation: n must be a non-negative integer, got ${n}`);
  const r = bits(k, [n]);
  if (k.node.isBuffer()) {
    // concrete key: sort on the host (n log n)
    const data = r.dataSync();
    const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => data[a]! - data[b]! || a - b);
    return tensor(new Int32Array(idx), { shape: [n], dtype: "int32" });
  }
  // traced key: rank by pairwise comparison (n^2), ties broken by position
  const ri = reshape(r, [n, 1]);
  const rj = reshape(r, [1, n]);
  const ii = reshape(iota([n], 0, "int32"), [n, 1]);
  const jj = reshape(iota([n], 0, "int32"), [1, n]);
  const before = where(less(rj, ri), true, where(bind("eq", {}, [broadcastTo_(ri, [n, n]), broadcastTo_(rj, [n, n])]), less(jj, ii), false));
  const rank = sum(before, { axis: 1 });
  return bind("scatterAdd", { axis: 0, batchDims: 0, shape: [n] }, [iota([n], 0, "int32"), rank]);
}

