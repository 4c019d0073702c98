/**
 * nn losses, all called as `(predictions or logits, targets, { reduction })`. `reduction` is
 * "mean" (default: the mean over every loss value), "sum", or "none" (the unreduced losses:
 * elementwise for mse/mae/binary losses, one value per example for the categorical ones, whose
 * class axis is reduced). The logit forms use log-sum-exp and softplus, with no cancellation, so
 * they are accurate over the whole float32 range (values and gradients). Predictions and targets
 * must have the same shape (a ShapeError naming both, never a silent broadcast: `[64, 1]` against
 * `[64]` would average a 64×64 matrix); a plain number target is allowed. Class labels known at
 * the call are checked (whole numbers in `[0, classes)`, else a ValueError).
 */
import type { Tensor, TensorLike } from "./ops.js";
import { abs, asTensor, clip, expandDims, log, logsumexp, mean, multiply, negative, square, squeeze, subtract, sum, takeAlongAxis, add } from "./ops.js";
import { ShapeError, ValueError } from "./ops.js";
import { asLabels, logSoftmax, softplus } from "./activations.js";

/** How per-example losses are combined. */
export type Reduction = "mean" | "sum" | "none";

/** Options shared by every loss. */
export interface LossOptions {
  /** "mean" (default), "sum" or "none". */
  readonly reduction?: Reduction;
}

/** Options of the categorical losses. */
export interface CategoricalLossOptions extends LossOptions {
  /** The class axis; default -1. */
  readonly axis?: number;
}

/** Throws a ShapeError unless `a` and `b` have the same shape (a plain number `b` is allowed). */
function sameShape(op: string, a: TensorLike, b: TensorLike, names: readonly [string, string]): void {
  if (typeof b === "number") return;
  const x = asTensor(a, op);
  const y = asTensor(b, op);
  if (x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) {
    throw new ShapeError(
      `${op}: ${names[0]} shape [${x.shape.join(", ")}] and ${names[1]} shape [${y.shape.join(", ")}] differ; ` +
        "losses do not broadcast (that would silently compare every prediction with every target): reshape one of them",
    );
  }
}

function reduce(l: Tensor, options: LossOptions, op: string): Tensor {
  const r = options.reduction ?? "mean";
  switch (r) {
    case "mean":
      return mean(l);
    case "sum":
      return sum(l);
    case "none":
      return l;
    default:
      throw new ValueError(`${op}: unknown reduction ${JSON.stringify(r as unknown)} (use "mean", "sum" or "none")`);
  }
}

/**
 * Mean squared error `(p - t)²`.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.mse(tensor([1, 2]), tensor([1, 4])).itemSync()); // 2
 * ```
 */
export function mse(predictions: TensorLike, targets: TensorLike, options: LossOptions = {}): Tensor {
  sameShape("mse", predictions, targets, ["predictions", "targets"]);
  return reduce(square(subtract(predictions, targets)), options, "mse");
}

/**
 * Mean absolute error `|p - t|`.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.mae(tensor([1, 2]), tensor([1, 4]), { reduction: "sum" }).itemSync()); // 2
 * ```
 */
export function mae(predictions: TensorLike, targets: TensorLike, options: LossOptions = {}): Tensor {
  sameShape("mae", predictions, targets, ["predictions", "targets"]);
  return reduce(abs(subtract(predictions, targets)), options, "mae");
}

/**
 * Binary cross-entropy of probabilities: `-(t log p + (1 - t) log(1 - p))`, with `p` clipped to
 * `[eps, 1 - eps]` (eps default 1e-7) so 0 and 1 give finite values. Prefer
 * `binaryCrossEntropyWithLogits` when you have logits.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.binaryCrossEntropy(tensor([0.5]), tensor([1])).itemSync()); // 0.6931...
 * ```
 */
export function binaryCrossEntropy(probs: TensorLike, targets: TensorLike, options: LossOptions & { eps?: number } = {}): Tensor {
  sameShape("binaryCrossEntropy", probs, targets, ["probs", "targets"]);
  const eps = options.eps ?? 1e-7;
  const p = clip(probs, { min: eps, max: 1 - eps });
  const t = targets;
  const l = negative(add(multiply(t, log(p)), multiply(subtract(1, t), log(subtract(1, p)))));
  return reduce(l, options, "binaryCrossEntropy");
}

/**
 * Binary cross-entropy of logits `z` against targets `t ∈ [0, 1]`, as optax's
 * `sigmoid_binary_cross_entropy`: `t·softplus(-z) + (1 - t)·softplus(z)`, with no cancellation
 * (logit +30 against target 1 gives 9.4e-14, not 0).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.binaryCrossEntropyWithLogits(tensor([100, -100]), tensor([1, 0])).itemSync()); // 0
 * ```
 */
export function binaryCrossEntropyWithLogits(logits: TensorLike, targets: TensorLike, options: LossOptions = {}): Tensor {
  sameShape("binaryCrossEntropyWithLogits", logits, targets, ["logits", "targets"]);
  const z = asTensor(logits, "binaryCrossEntropyWithLogits");
  return reduce(add(multiply(targets, softplus(negative(z))), multiply(subtract(1, targets), softplus(z))), options, "binaryCrossEntropyWithLogits");
}

/**
 * Categorical cross-entropy of probabilities against one-hot (or soft) targets:
 * `-Σ t log(clip(p, eps, 1))` over the class axis.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * const l = nn.categoricalCrossEntropy(tensor([[0.5, 0.5]]), tensor([[1, 0]]));
 * console.log(l.itemSync()); // 0.6931...
 * ```
 */
export function categoricalCrossEntropy(probs: TensorLike, targets: TensorLike, options: CategoricalLossOptions & { eps?: number } = {}): Tensor {
  sameShape("categoricalCrossEntropy", probs, targets, ["probs", "targets"]);
  const eps = options.eps ?? 1e-7;
  const l = negative(sum(multiply(targets, log(clip(probs, { min: eps, max: 1 }))), { axis: options.axis ?? -1 }));
  return reduce(l, options, "categoricalCrossEntropy");
}

/**
 * Cross-entropy of logits against a target distribution (one-hot or soft):
 * `-Σ t · logSoftmax(z)` over the class axis.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * const l = nn.softmaxCrossEntropy(tensor([[0, 0]]), tensor([[1, 0]]));
 * console.log(l.itemSync()); // 0.6931...
 * ```
 */
export function softmaxCrossEntropy(logits: TensorLike, targets: TensorLike, options: CategoricalLossOptions = {}): Tensor {
  sameShape("softmaxCrossEntropy", logits, targets, ["logits", "targets"]);
  const axis = options.axis ?? -1;
  return reduce(negative(sum(multiply(targets, logSoftmax(logits, { axis })), { axis })), options, "softmaxCrossEntropy");
}

/**
 * Cross-entropy of logits `[..., classes]` against integer labels `[...]`:
 * `logsumexp(z) - z[label]`. Labels must have the logits' shape without the class axis, and be
 * whole numbers in `[0, classes)` (checked at the call: a ValueError names the bad label).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * const l = nn.sparseSoftmaxCrossEntropy(tensor([[0, 0], [100, -100]]), tensor([0, 0], { dtype: "int32" }));
 * console.log(l.itemSync()); // 0.3466...
 * ```
 */
export function sparseSoftmaxCrossEntropy(logits: TensorLike, labels: TensorLike, options: LossOptions = {}): Tensor {
  const z = asTensor(logits, "sparseSoftmaxCrossEntropy");
  if (z.ndim < 1) throw new ShapeError(`sparseSoftmaxCrossEntropy: logits must be [..., classes], got shape []`);
  const y = asLabels("sparseSoftmaxCrossEntropy", "labels", labels, z.shape[z.ndim - 1]!);
  const want = z.shape.slice(0, -1);
  if (y.ndim !== want.length || y.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(
      `sparseSoftmaxCrossEntropy: labels shape [${y.shape.join(", ")}] must be the logits shape [${z.shape.join(", ")}] without its class axis ([${want.join(", ")}])`,
    );
  }
  const picked = squeeze(takeAlongAxis(z, expandDims(y, -1), { axis: -1 }), { axis: -1 });
  return reduce(subtract(logsumexp(z, { axis: -1 }), picked), options, "sparseSoftmaxCrossEntropy");
}
