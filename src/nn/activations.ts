/**
 * nn activations: elementwise nonlinearities and softmax, composed from tenfold ops, with JAX's
 * (`jax.nn`) definitions and conventions. Every form is stable over the whole float32 range for
 * values and gradients (no exp of a large positive number on any branch, no cancellation in the
 * tails, every branch of a `where` fed a safe input so the untaken one cannot poison the
 * gradient); NaN propagates, ±Infinity gives JAX's limits. Deliberate differences: docs/jax.md.
 */
import type { Tensor, TensorLike, DType } from "./ops.js";
import {
  asTensor,
  abs,
  add,
  arange,
  astype,
  divide,
  equal,
  erf,
  exp,
  expandDims,
  expm1,
  greater,
  greaterEqual,
  isnan,
  less,
  log,
  log1p,
  max,
  maximum,
  multiply,
  negative,
  stopGradient,
  subtract,
  sum,
  tanh as tanhOp,
  where,
  full,
  ValueError,
  DTypeError,
  ShapeError,
  checkLabels,
  customJvp,
} from "./ops.js";

/**
 * Rectified linear unit `max(x, 0)`; NaN stays NaN and the gradient is 0 at 0 (and at NaN), as in
 * JAX.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.relu(tensor([-1, 0, 2])).arraySync()); // [0, 0, 2]
 * ```
 */
export function relu(x: TensorLike): Tensor {
  return where(greater(x, 0), x, where(isnan(x), stopGradient(x), 0));
}

/**
 * Leaky ReLU: `x` for `x >= 0`, `alpha * x` otherwise (alpha defaults to 0.01); the gradient at
 * 0 is 1, as JAX's `leaky_relu`.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.leakyRelu(tensor([-10, 3]), { alpha: 0.1 }).arraySync()); // [-1, 3]
 * ```
 */
export function leakyRelu(x: TensorLike, options: { alpha?: number } = {}): Tensor {
  const alpha = options.alpha ?? 0.01;
  return where(greaterEqual(x, 0), x, multiply(x, alpha));
}

/**
 * Logistic sigmoid `1 / (1 + exp(-x))`, computed from `exp(-|x|)` so neither branch overflows;
 * tiny values (`sigmoid(-100)` ≈ 3.7e-44) and their gradients do not underflow early.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.sigmoid(tensor([0, 100, -100])).arraySync()); // [0.5, 1, 0] (approximately)
 * ```
 */
export function sigmoid(x: TensorLike): Tensor {
  const z = exp(negative(abs(x)));
  const r = divide(1, add(1, z));
  return where(greaterEqual(x, 0), r, multiply(z, r));
}

/**
 * Hyperbolic tangent (the same function as the core `tanh` op).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.tanh(tensor(0)).itemSync()); // 0
 * ```
 */
export function tanh(x: TensorLike): Tensor {
  return tanhOp(x);
}

/** Options of softmax-like functions. */
export interface AxisOptions {
  /** The axis normalized over; default -1. */
  readonly axis?: number;
}

/**
 * `log(softmax(x))` along `axis` (default -1), as `x - max - log(sum(exp(x - max)))` (JAX's
 * formula: -Infinity entries give -Infinity, a row of only -Infinity gives NaN, an empty axis an
 * empty result).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * const y = nn.logSoftmax(tensor([1000, 1000]));
 * console.log(y.arraySync()); // [-0.6931..., -0.6931...]
 * ```
 */
export function logSoftmax(x: TensorLike, options: AxisOptions = {}): Tensor {
  const axis = options.axis ?? -1;
  const e = emptyAxis("logSoftmax", x, axis);
  if (e) return e;
  const shifted = subtract(x, stopGradient(max(x, { axis, keepdims: true })));
  return subtract(shifted, log(sum(exp(shifted), { axis, keepdims: true })));
}

/**
 * Softmax along `axis` (default -1), shifted by the maximum so large logits do not overflow:
 * `e · (1 / sum(e))` with `e = exp(x - max)`, as PyTorch's CPU kernel computes it (one reciprocal
 * per row, then a multiply per element; within 1 ulp of `e / sum(e)`, which JAX computes).
 * float16 divides (a reciprocal of a long row's sum would fall below its normal range).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.softmax(tensor([0, 0])).arraySync()); // [0.5, 0.5]
 * ```
 */
export function softmax(x: TensorLike, options: AxisOptions = {}): Tensor {
  const axis = options.axis ?? -1;
  const em = emptyAxis("softmax", x, axis);
  if (em) return em;
  const e = exp(subtract(x, stopGradient(max(x, { axis, keepdims: true }))));
  const s = sum(e, { axis, keepdims: true });
  return e.dtype === "float16" ? divide(e, s) : multiply(e, divide(1, s));
}

/**
 * Gaussian error linear unit, as JAX's `jax.nn.gelu`: by default (`approximate: true`) the tanh
 * form `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`; with `{ approximate: false }` the exact
 * `x Φ(x) = (x/2) erfc(-x/√2)`, computed through an erfc that keeps its relative accuracy in the
 * far left tail (`gelu(-10, exact)` ≈ -7.6e-23, not 0).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.gelu(tensor([0, 10])).arraySync()); // [0, 10]
 * console.log(nn.gelu(tensor([-10]), { approximate: false }).arraySync()); // [-7.6e-23] (approximately)
 * ```
 */
export function gelu(x: TensorLike, options: { approximate?: boolean } = {}): Tensor {
  if (options.approximate ?? true) {
    const x3 = multiply(x, multiply(x, x));
    const inner = multiply(Math.sqrt(2 / Math.PI), add(x, multiply(0.044715, x3)));
    return multiply(x, multiply(0.5, add(1, tanhOp(inner))));
  }
  // x >= 0 (or NaN): 1 + erf(x/√2) has no cancellation. x < 0: erfc(|x|/√2) directly, on an
  // input that is 0 where that branch is not taken (so neither branch's gradient sees a bad value).
  const neg = less(x, 0);
  const zPos = multiply(where(neg, 0, x), Math.SQRT1_2);
  const zNeg = multiply(where(neg, negative(x), 0), Math.SQRT1_2);
  const cdf = where(neg, multiply(0.5, erfcNonNeg(zNeg)), multiply(0.5, add(1, erf(zPos))));
  return multiply(x, cdf);
}

/**
 * `erfc(z)` for `z >= 0` with a relative error below 1.2e-7 everywhere (Numerical Recipes'
 * Chebyshev fit `t·exp(-z² + P(t))`, `t = 1/(1 + z/2)`), so it stays accurate where erfc is tiny.
 */
function erfcNonNeg(z: Tensor): Tensor {
  const t = divide(1, add(1, multiply(0.5, z)));
  const c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.1352039, 1.48851587, -0.82215223, 0.17087277];
  let p: Tensor = multiply(t, c[9]!);
  for (let k = 8; k >= 1; k--) p = multiply(t, add(c[k]!, p));
  return multiply(t, exp(add(negative(multiply(z, z)), add(c[0]!, p))));
}

/**
 * SiLU (swish): `x * sigmoid(x)`.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.silu(tensor(0)).itemSync()); // 0
 * ```
 */
export function silu(x: TensorLike): Tensor {
  return multiply(x, sigmoid(x));
}

/**
 * Exponential linear unit: `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise (alpha default 1).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.elu(tensor([2, -100])).arraySync()); // [2, -1]
 * ```
 */
export function elu(x: TensorLike, options: { alpha?: number } = {}): Tensor {
  const alpha = options.alpha ?? 1;
  return where(greater(x, 0), x, multiply(alpha, expm1(where(greater(x, 0), 0, x))));
}

/** softplus(x) = max(x, 0) + log1p(exp(−|x|)), its derivative sigmoid(x) given by hand (see softplus). */
const softplusD = customJvp(
  (x: Tensor): Tensor => add(maximum(x, 0), log1p(exp(negative(abs(x))))),
  ([x]: [Tensor], [t]: [Tensor]) => [add(maximum(x, 0), log1p(exp(negative(abs(x))))), multiply(t, sigmoid(x))] as const,
);

/**
 * Softplus `log(1 + exp(x))` (JAX's `logaddexp(x, 0)`) as `max(x, 0) + log1p(exp(-|x|))`: one
 * exp and one log1p per element, exact in both tails (`softplus(-30)` ≈ 9.4e-14,
 * `softplus(-Infinity)` = 0, `softplus(Infinity)` = Infinity). Its derivative is `sigmoid(x)`
 * by a custom JVP rule (0.5 at 0, where `max` and `|x|` have kinks), at every order.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.softplus(tensor([0, 100, -30])).arraySync()); // [0.693..., 100, 9.357e-14]
 * ```
 */
export function softplus(x: TensorLike): Tensor {
  return softplusD(asTensor(x));
}

/**
 * Heaviside step: 1 where `x > 0`, else 0 (float32; NaN stays NaN). Its gradient is zero
 * everywhere.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.step(tensor([-1, 0, 2])).arraySync()); // [0, 0, 1]
 * ```
 */
export function step(x: TensorLike): Tensor {
  const t = astype(x, "float32");
  return where(isnan(t), stopGradient(t), astype(greater(t, 0), "float32"));
}

/**
 * One-hot encoding: integer labels `[...]` become `[..., numClasses]` (float32 unless told).
 * `numClasses` must be a positive integer; labels known at the call must be whole numbers in
 * `[0, numClasses)` (else a ValueError; JAX would give an all-zero row, which hides the bug).
 * Labels computed lazily (or traced under jit) cannot be checked there and follow JAX.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * const y = nn.oneHot(tensor([0, 2], { dtype: "int32" }), 3);
 * console.log(y.arraySync()); // [[1, 0, 0], [0, 0, 1]]
 * ```
 */
export function oneHot(labels: TensorLike, numClasses: number, options: { dtype?: DType } = {}): Tensor {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new ValueError(`oneHot: numClasses must be a positive integer, got ${String(numClasses)}`);
  }
  const l = asLabels("oneHot", "labels", labels, numClasses);
  const cls = arange(numClasses, undefined, 1, { dtype: "int32" });
  return astype(equal(expandDims(l, -1), cls), options.dtype ?? "float32");
}

/**
 * Validates class labels for `op` (bool labels are not class ids: a DTypeError; values known at
 * the call must be whole numbers in `[0, n)`: a ValueError) and returns them as int32.
 * @internal
 */
export function asLabels(op: string, arg: string, labels: TensorLike, n: number): Tensor {
  const l = typeof labels === "number" ? full([], labels, { dtype: Number.isInteger(labels) ? "int32" : "float32" }) : asTensor(labels, op);
  if (l.dtype === "bool") throw new DTypeError(`${op}: ${arg} must be integer class ids (int32), got bool`);
  checkLabels(op, arg, l, n);
  return astype(l, "int32");
}

function emptyAxis(op: string, x: TensorLike, axis: number): Tensor | undefined {
  const t = asTensor(x, op);
  if (typeof axis !== "number" || !Number.isInteger(axis) || axis < -t.ndim || axis >= t.ndim) {
    throw new ShapeError(
      `${op}: axis ${String(axis)} is out of range for a tensor of rank ${t.ndim} (shape [${t.shape.join(", ")}]); allowed: ${-t.ndim} to ${t.ndim - 1}`,
    );
  }
  const a = axis < 0 ? axis + t.ndim : axis;
  // an empty axis: the (empty) result, in the float dtype softmax computes in
  return t.shape[a] === 0 ? astype(t, t.dtype === "float16" ? "float16" : "float32") : undefined;
}
