/**
 * nn initializers: `(key, shape, { dtype }) => Tensor`. Fans come from the shape: a dense weight
 * is `[in, out]`; a conv weight is OIHW `[out, in, ...kernel]` (fan-in = in × kernel size,
 * fan-out = out × kernel size); a vector has fan-in = fan-out = its length.
 */
import type { DType, Tensor } from "./ops.js";
import { multiply, ones as onesOp, random, zeros as zerosOp } from "./ops.js";

/** An initializer: a key, a shape and options give a tensor. */
export type Initializer = (key: random.Key, shape: readonly number[], options?: { dtype?: DType }) => Tensor;

/** `[fanIn, fanOut]` of a weight shape (see the module comment). */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0]!, shape[0]!];
  if (shape.length === 2) return [shape[0]!, shape[1]!];
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1]! * receptive, shape[0]! * receptive];
}

// Standard deviation of a unit normal truncated to ±2σ; dividing by it restores the variance.
const TRUNC_STD = 0.8796256610342398;

function uniformScaled(key: random.Key, shape: readonly number[], limit: number, dtype?: DType): Tensor {
  return random.uniform(key, shape, { minval: -limit, maxval: limit, dtype: dtype ?? "float32" });
}

function normalScaled(key: random.Key, shape: readonly number[], std: number, dtype?: DType): Tensor {
  return multiply(random.truncatedNormal(key, shape, { dtype: dtype ?? "float32" }), std / TRUNC_STD);
}

/**
 * Glorot (Xavier) uniform: `U(-l, l)` with `l = √(6 / (fanIn + fanOut))`.
 * @example
 * ```ts
 * import { nn, random } from "tenfold";
 * console.log(nn.glorotUniform(random.key(0), [3, 4]).shape); // [3, 4]
 * ```
 */
export const glorotUniform: Initializer = (key, shape, options = {}) => {
  const [fi, fo] = fans(shape);
  return uniformScaled(key, shape, Math.sqrt(6 / (fi + fo)), options.dtype);
};

/**
 * Glorot (Xavier) normal: a ±2σ truncated normal with variance `2 / (fanIn + fanOut)`.
 * @example
 * ```ts
 * import { nn, random } from "tenfold";
 * console.log(nn.glorotNormal(random.key(0), [3, 4]).shape); // [3, 4]
 * ```
 */
export const glorotNormal: Initializer = (key, shape, options = {}) => {
  const [fi, fo] = fans(shape);
  return normalScaled(key, shape, Math.sqrt(2 / (fi + fo)), options.dtype);
};

/**
 * He (Kaiming) uniform: `U(-l, l)` with `l = √(6 / fanIn)` (for ReLU networks).
 * @example
 * ```ts
 * import { nn, random } from "tenfold";
 * console.log(nn.heUniform(random.key(0), [8, 2, 3, 3]).shape); // [8, 2, 3, 3]
 * ```
 */
export const heUniform: Initializer = (key, shape, options = {}) => {
  const [fi] = fans(shape);
  return uniformScaled(key, shape, Math.sqrt(6 / fi), options.dtype);
};

/**
 * He (Kaiming) normal: a ±2σ truncated normal with variance `2 / fanIn`.
 * @example
 * ```ts
 * import { nn, random } from "tenfold";
 * console.log(nn.heNormal(random.key(0), [3, 4]).shape); // [3, 4]
 * ```
 */
export const heNormal: Initializer = (key, shape, options = {}) => {
  const [fi] = fans(shape);
  return normalScaled(key, shape, Math.sqrt(2 / fi), options.dtype);
};

/**
 * All zeros (the key is ignored).
 * @example
 * ```ts
 * import { nn, random } from "tenfold";
 * console.log(nn.zeros(random.key(0), [2]).arraySync()); // [0, 0]
 * ```
 */
export const zeros: Initializer = (_key, shape, options = {}) => zerosOp(shape, { dtype: options.dtype ?? "float32" });

/**
 * All ones (the key is ignored).
 * @example
 * ```ts
 * import { nn, random } from "tenfold";
 * console.log(nn.ones(random.key(0), [2]).arraySync()); // [1, 1]
 * ```
 */
export const ones: Initializer = (_key, shape, options = {}) => onesOp(shape, { dtype: options.dtype ?? "float32" });
