/**
 * nn activations: elementwise nonlinearities and softmax, composed from tenfold ops. Every form is
 * numerically stable for large |x| (no exp of a large positive number on any branch, so neither
 * values nor gradients overflow to Inf/NaN for logits of ±100).
 */
import type { Tensor, TensorLike, DType } from "./ops.js";
import {
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
  log,
  log1p,
  max,
  multiply,
  negative,
  pow,
  stopGradient,
  subtract,
  sum,
  tanh as tanhOp,
  where,
} from "./ops.js";

/**
 * Rectified linear unit `max(x, 0)` (gradient 0 at 0, as in JAX).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.relu(tensor([-1, 0, 2])).arraySync()); // [0, 0, 2]
 * ```
 */
export function relu(x: TensorLike): Tensor {
  return where(greater(x, 0), x, 0);
}

/**
 * Leaky ReLU: `x` for positive inputs, `alpha * x` otherwise (alpha defaults to 0.01).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.leakyRelu(tensor([-10, 3]), { alpha: 0.1 }).arraySync()); // [-1, 3]
 * ```
 */
export function leakyRelu(x: TensorLike, options: { alpha?: number } = {}): Tensor {
  const alpha = options.alpha ?? 0.01;
  return where(greater(x, 0), x, multiply(x, alpha));
}

/**
 * Logistic sigmoid `1 / (1 + exp(-x))`, computed from `exp(-|x|)` so neither branch overflows.
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
 * `log(softmax(x))` along `axis` (default -1), as `x - max - log(sum(exp(x - max)))`.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * const y = nn.logSoftmax(tensor([1000, 1000]));
 * console.log(y.arraySync()); // [-0.6931..., -0.6931...]
 * ```
 */
export function logSoftmax(x: TensorLike, options: AxisOptions = {}): Tensor {
  const axis = options.axis ?? -1;
  const shifted = subtract(x, stopGradient(max(x, { axis, keepdims: true })));
  return subtract(shifted, log(sum(exp(shifted), { axis, keepdims: true })));
}

/**
 * Softmax along `axis` (default -1), shifted by the maximum so large logits do not overflow.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.softmax(tensor([0, 0])).arraySync()); // [0.5, 0.5]
 * ```
 */
export function softmax(x: TensorLike, options: AxisOptions = {}): Tensor {
  const axis = options.axis ?? -1;
  const e = exp(subtract(x, stopGradient(max(x, { axis, keepdims: true }))));
  return divide(e, sum(e, { axis, keepdims: true }));
}

/**
 * Gaussian error linear unit. Exact `x * Φ(x)` by default; `{ approximate: true }` uses the tanh
 * form `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.gelu(tensor([0, 10])).arraySync()); // [0, 10]
 * ```
 */
export function gelu(x: TensorLike, options: { approximate?: boolean } = {}): Tensor {
  if (options.approximate) {
    const inner = multiply(Math.sqrt(2 / Math.PI), add(x, multiply(0.044715, pow(x, 3))));
    return multiply(multiply(0.5, x), add(1, tanhOp(inner)));
  }
  return multiply(multiply(0.5, x), add(1, erf(multiply(x, Math.SQRT1_2))));
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

/**
 * Softplus `log(1 + exp(x))`, as `(x + |x|)/2 + log1p(exp(-|x|))`: finite for any input, and its
 * gradient is exactly `sigmoid(x)` (also at 0).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.softplus(tensor([0, 100, -100])).arraySync()); // [0.693..., 100, ~0]
 * ```
 */
export function softplus(x: TensorLike): Tensor {
  const a = abs(x);
  return add(multiply(0.5, add(x, a)), log1p(exp(negative(a))));
}

/**
 * Heaviside step: 1 where `x > 0`, else 0 (float32). Its gradient is zero everywhere.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.step(tensor([-1, 0, 2])).arraySync()); // [0, 0, 1]
 * ```
 */
export function step(x: TensorLike): Tensor {
  return astype(greater(x, 0), "float32");
}

/**
 * One-hot encoding: integer labels `[...]` become `[..., numClasses]` (float32 unless told).
 * Labels outside `[0, numClasses)` give an all-zero row.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * const y = nn.oneHot(tensor([0, 2], { dtype: "int32" }), 3);
 * console.log(y.arraySync()); // [[1, 0, 0], [0, 0, 1]]
 * ```
 */
export function oneHot(labels: TensorLike, numClasses: number, options: { dtype?: DType } = {}): Tensor {
  const cls = arange(numClasses, undefined, 1, { dtype: "int32" });
  return astype(equal(expandDims(labels, -1), cls), options.dtype ?? "float32");
}
