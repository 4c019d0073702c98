/**
 * Entry point of `tenfold/metrics`: classification metrics. Every metric returns a tensor (a
 * float32 scalar, or an int32 matrix for `confusionMatrix`), built with ops so that all but
 * `aucRoc` also work inside `jit` and `vmap` (pass `numClasses` there). Predictions may be class
 * ids, booleans, or logits/probabilities of shape [n, classes] (reduced with argmax).
 */
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "../ops/base.js";
import { asTensor, checkLabels } from "../ops/base.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { arange, eye, scalar } from "../ops/creation.js";
import { add, astype, divide, equal, greater, multiply, where } from "../ops/elementwise.js";
import { matmul } from "../ops/linalg.js";
import { argmax, mean, sum } from "../ops/reduce.js";
import { expandDims, matrixTranspose, reshape } from "../ops/shape.js";

/** How `precision`, `recall` and `f1` combine classes. */
export type Average = "binary" | "macro" | "micro";

/** Options of `precision`, `recall` and `f1`. */
export interface AverageOptions {
  /**
   * `"binary"` (default): the positive class is 1 (labels must be 0/1 or booleans). `"macro"`: the
   * unweighted mean over the classes present in labels or predictions (scikit-learn's default
   * set). `"micro"`: from the global counts (equal to accuracy for single-label data).
   */
  readonly average?: Average;
  /** Number of classes; inferred from the data when omitted (needs concrete tensors: not under jit). */
  readonly numClasses?: number;
}

/** Class ids (int32, 1-D) from class ids, booleans, or [n, classes] scores. */
function classes(x: TensorLike, name: string, what: string): Tensor {
  const t = asTensor(x, name);
  if (t.ndim === 2 && (t.dtype === "float32" || t.dtype === "float16")) return argmax(t, { axis: -1 });
  if (t.ndim > 1) throw new ShapeError(`${name}: ${what} must be 1-D class ids or [n, classes] scores, got shape [${t.shape.join(", ")}] (${t.dtype})`);
  checkLabels(name, what, t, Number.MAX_SAFE_INTEGER);
  return t.dtype === "int32" ? t : astype(t, "int32");
}

function pair(pred: TensorLike, labels: TensorLike, name: string): [Tensor, Tensor] {
  const p = classes(pred, name, "pred");
  const l = classes(labels, name, "labels");
  if (p.size !== l.size) throw new ShapeError(`${name}: pred has ${p.size} samples, labels ${l.size}`);
  return [reshape(p, [-1]), reshape(l, [-1])];
}

function inferClasses(ts: readonly Tensor[], name: string): number {
  let m = 0;
  for (const t of ts) {
    let data: ArrayLike<number>;
    try {
      data = t.dataSync();
    } catch (e) {
      throw new Error(`${name}: cannot infer the number of classes from traced or device tensors; pass { numClasses } (${(e as Error).message})`);
    }
    for (let i = 0; i < data.length; i++) m = Math.max(m, data[i]! + 1);
  }
  return Math.max(m, 1);
}

function oneHotF(c: Tensor, k: number): Tensor {
  return astype(equal(expandDims(c, -1), arange(k, undefined, 1, { dtype: "int32" })), "float32");
}

/** Confusion counts as float32 (exact below 2^24 samples). */
function counts(p: Tensor, l: Tensor, k: number): Tensor {
  return matmul(matrixTranspose(oneHotF(l, k)), oneHotF(p, k));
}

function safeDiv(a: Tensor, b: Tensor): Tensor {
  const ok = greater(b, 0);
  return where(ok, divide(a, where(ok, b, 1)), 0);
}

/**
 * The fraction of predictions equal to the labels (float32 scalar). Predictions of shape
 * [n, classes] are reduced with argmax first; so are one-hot labels of that shape.
 * For binary probabilities of shape [n], threshold them first (`greater(p, 0.5)`).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { accuracy } from "tenfold/metrics";
 * console.log(accuracy(tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), tensor([1, 0, 0])).itemSync()); // 0.666...
 * ```
 */
export function accuracy(predOrLogits: TensorLike, labels: TensorLike): Tensor {
  const [p, l] = pair(predOrLogits, labels, "accuracy");
  return mean(astype(equal(p, l), "float32"));
}

/**
 * The confusion matrix, int32 [numClasses, numClasses]: rows are true labels, columns
 * predictions (scikit-learn's convention). Ids outside [0, numClasses) are not counted.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { confusionMatrix } from "tenfold/metrics";
 * console.log(confusionMatrix(tensor([0, 1, 1, 2]), tensor([0, 1, 2, 2]), 3).arraySync());
 * // [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
 * ```
 */
export function confusionMatrix(pred: TensorLike, labels: TensorLike, numClasses: number): Tensor {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new ValueError(`confusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
  const [p, l] = pair(pred, labels, "confusionMatrix");
  checkLabels("confusionMatrix", "pred", p, numClasses);
  checkLabels("confusionMatrix", "labels", l, numClasses);
  return astype(counts(p, l, numClasses), "int32");
}

interface Stats {
  readonly tp: Tensor;
  readonly predicted: Tensor;
  readonly actual: Tensor;
  readonly present: Tensor;
}

function stats(pred: TensorLike, labels: TensorLike, opts: AverageOptions, name: string): { s: Stats; average: Average } {
  const average = opts.average ?? "binary";
  const [p, l] = pair(pred, labels, name);
  const k = average === "binary" ? 2 : (opts.numClasses ?? inferClasses([p, l], name));
  checkLabels(name, "pred", p, k);
  checkLabels(name, "labels", l, k);
  const c = counts(p, l, k);
  const predicted = sum(c, { axis: 0 });
  const actual = sum(c, { axis: 1 });
  const tp = sum(multiply(c, eye(k)), { axis: 0 });
  const present = astype(greater(add(predicted, actual), 0), "float32");
  return { s: { tp, predicted, actual, present }, average };
}

type PerClass = (s: Stats) => Tensor;

function combine(name: string, pred: TensorLike, labels: TensorLike, opts: AverageOptions, perClass: PerClass): Tensor {
  const { s, average } = stats(pred, labels, opts, name);
  switch (average) {
    case "binary":
      return reshape(perClass({ tp: pick1(s.tp), predicted: pick1(s.predicted), actual: pick1(s.actual), present: pick1(s.present) }), []);
    case "micro":
      return perClass({ tp: sum(s.tp), predicted: sum(s.predicted), actual: sum(s.actual), present: scalar(1) });
    case "macro":
      return safeDiv(sum(multiply(perClass(s), s.present)), sum(s.present));
    default: {
      const never: never = average;
      throw new ValueError(`${name}: unknown average ${JSON.stringify(never)} (use "binary", "macro" or "micro")`);
    }
  }
}

function pick1(t: Tensor): Tensor {
  return sum(multiply(t, arange(2)));
}

const precisionOf: PerClass = (s) => safeDiv(s.tp, s.predicted);
const recallOf: PerClass = (s) => safeDiv(s.tp, s.actual);
const f1Of: PerClass = (s) => {
  const p = precisionOf(s);
  const r = recallOf(s);
  return safeDiv(multiply(2, multiply(p, r)), add(p, r));
};

/**
 * Precision `tp / (tp + fp)` (0 when nothing is predicted positive), float32 scalar.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { precision } from "tenfold/metrics";
 * console.log(precision(tensor([1, 1, 0, 1]), tensor([1, 0, 0, 1])).itemSync()); // 0.666...
 * console.log(precision(tensor([0, 2, 1, 2]), tensor([0, 1, 1, 2]), { average: "macro" }).itemSync()); // 0.8333...
 * ```
 */
export function precision(pred: TensorLike, labels: TensorLike, options: AverageOptions = {}): Tensor {
  return combine("precision", pred, labels, options, precisionOf);
}

/**
 * Recall `tp / (tp + fn)` (0 when a class has no true samples), float32 scalar.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { recall } from "tenfold/metrics";
 * console.log(recall(tensor([1, 0, 0, 1]), tensor([1, 1, 0, 1])).itemSync()); // 0.666...
 * ```
 */
export function recall(pred: TensorLike, labels: TensorLike, options: AverageOptions = {}): Tensor {
  return combine("recall", pred, labels, options, recallOf);
}

/**
 * F1, the harmonic mean of precision and recall (macro: the mean of per-class F1, as
 * scikit-learn), float32 scalar.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { f1 } from "tenfold/metrics";
 * console.log(f1(tensor([1, 1, 0, 1]), tensor([1, 0, 1, 1])).itemSync()); // 0.666...
 * console.log(f1(tensor([0, 1, 2]), tensor([0, 2, 1]), { average: "micro" }).itemSync()); // 0.333...
 * ```
 */
export function f1(pred: TensorLike, labels: TensorLike, options: AverageOptions = {}): Tensor {
  return combine("f1", pred, labels, options, f1Of);
}

/**
 * Area under the ROC curve for binary labels (0/1 or booleans) and real scores, by the
 * Mann–Whitney U statistic: `(sum of positive ranks - P(P+1)/2) / (P·N)` with tied scores given
 * their average rank (so a tie counts one half). Computed on the host in O(n log n): the inputs
 * must be concrete (not traced under jit). Throws when only one class is present.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { aucRoc } from "tenfold/metrics";
 * console.log(aucRoc(tensor([0.1, 0.4, 0.35, 0.8]), tensor([0, 0, 1, 1])).itemSync()); // 0.75
 * console.log(aucRoc(tensor([0.5, 0.5]), tensor([0, 1])).itemSync()); // 0.5 (a tie)
 * ```
 */
export function aucRoc(scores: TensorLike, labels: TensorLike): Tensor {
  const s = asTensor(scores, "aucRoc");
  const l = asTensor(labels, "aucRoc");
  if (s.size !== l.size || (s.ndim > 1 && s.size !== s.shape[0])) {
    throw new ShapeError(`aucRoc: scores must be 1-D with one per label, got shapes [${s.shape.join(", ")}] and [${l.shape.join(", ")}]`);
  }
  const sd = s.dataSync();
  const ld = l.dataSync();
  const n = sd.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => sd[a]! - sd[b]!);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && sd[order[j + 1]!] === sd[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1; // 1-based average rank of the tie group
    for (let k = i; k <= j; k++) {
      const y = ld[order[k]!]!;
      if (y !== 0 && y !== 1) throw new ValueError(`aucRoc: labels must be 0/1 (or booleans), got ${y}`);
      if (y === 1) {
        rankSumPos += avgRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) throw new ValueError(`aucRoc: needs both classes in labels, got ${pos} positive and ${neg} negative`);
  return scalar((rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg));
}
