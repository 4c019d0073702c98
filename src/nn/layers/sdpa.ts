/**
 * Attention masks (causal and padding) and a fused scaled-dot-product attention
 * `softmax(q kᵀ * scale + mask) v` over `[..., heads, time, headDim]`, as
 * `jax.nn.dot_product_attention` (masked scores get the float32 minimum, so a fully masked row
 * attends uniformly instead of producing NaN).
 */
import type { Tensor, TensorLike } from "../ops.js";
import { ShapeError, add, arange, asTensor, astype, expandDims, less, lessEqual, logicalAnd, matmul, multiply, permuteDims, where } from "../ops.js";
import { softmax } from "../activations.js";

const F32_MIN = -3.4028234663852886e38;

/**
 * The causal mask `[q, k]`: true where key position `j <= i` (each query sees itself and the past;
 * top-left aligned when `q != k`, as JAX's `is_causal` and PyTorch's `is_causal`).
 * @example
 * ```ts
 * import { nn } from "tenfold";
 * console.log(nn.causalMask(3).arraySync()); // [[true, false, false], [true, true, false], [true, true, true]]
 * ```
 */
export function causalMask(q: number, k: number = q): Tensor {
  if (!Number.isInteger(q) || !Number.isInteger(k) || q < 1 || k < 1) throw new ShapeError(`causalMask: q and k must be positive integers, got q=${q}, k=${k}`);
  const qi = expandDims(arange(0, q, 1, { dtype: "int32" }), 1);
  const kj = expandDims(arange(0, k, 1, { dtype: "int32" }), 0);
  return lessEqual(kj, qi);
}

/**
 * The padding mask `[batch, 1, 1, maxLen]` from sequence lengths `[batch]`: true for the first
 * `lengths[b]` key positions. It broadcasts against scores `[batch, heads, q, k]`.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.paddingMask(tensor([1, 3], { dtype: "int32" }), 3).arraySync());
 * // [[[[true, false, false]]], [[[true, true, true]]]]
 * ```
 */
export function paddingMask(lengths: TensorLike, maxLen: number): Tensor {
  const l = asTensor(lengths, "paddingMask");
  if (l.ndim !== 1) throw new ShapeError(`paddingMask: lengths must be [batch], got [${l.shape.join(", ")}]`);
  if (!Number.isInteger(maxLen) || maxLen < 1) throw new ShapeError(`paddingMask: maxLen must be a positive integer, got ${maxLen}`);
  const pos = arange(0, maxLen, 1, { dtype: "int32" });
  const m = less(expandDims(pos, 0), expandDims(astype(l, "int32"), 1)); // [batch, maxLen]
  return expandDims(m, [1, 2]);
}

/** Options of `scaledDotProductAttention`. */
export interface SdpaOptions {
  /** Boolean (true = attend) or additive float mask broadcastable to `[..., q, k]`. */
  readonly mask?: Tensor;
  /** Apply `causalMask(q, k)` as well. */
  readonly causal?: boolean;
  /** Score scale; default `1 / sqrt(headDim)`. */
  readonly scale?: number;
}

/**
 * Fused scaled dot-product attention: `softmax(q kᵀ * scale masked) v` with `q: [..., q, d]`,
 * `k: [..., k, d]`, `v: [..., k, dv]` (leading axes broadcast as in `matmul`).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * const q = tensor([[[1, 0], [0, 1]]]);
 * const v = tensor([[[1, 2], [3, 4]]]);
 * const y = nn.scaledDotProductAttention(q, q, v, { causal: true });
 * console.log((y.arraySync() as number[][][])[0]![0]); // [1, 2]: the first query sees only the first key
 * ```
 */
export function scaledDotProductAttention(q: TensorLike, k: TensorLike, v: TensorLike, options: SdpaOptions = {}): Tensor {
  const [qt, kt, vt] = [asTensor(q, "scaledDotProductAttention"), asTensor(k, "scaledDotProductAttention"), asTensor(v, "scaledDotProductAttention")];
  if (qt.ndim < 2 || kt.ndim < 2 || vt.ndim < 2)
    throw new ShapeError(`scaledDotProductAttention: q, k, v must be [..., time, dim], got ranks ${qt.ndim}, ${kt.ndim}, ${vt.ndim}`);
  const d = qt.shape[qt.ndim - 1]!;
  if (kt.shape[kt.ndim - 1] !== d)
    throw new ShapeError(
      `scaledDotProductAttention: q's last axis ${d} must equal k's ${kt.shape[kt.ndim - 1]} (q [${qt.shape.join(", ")}], k [${kt.shape.join(", ")}])`,
    );
  if (kt.shape[kt.ndim - 2] !== vt.shape[vt.ndim - 2]) {
    throw new ShapeError(`scaledDotProductAttention: k and v need the same key length (axis -2), got k [${kt.shape.join(", ")}], v [${vt.shape.join(", ")}]`);
  }
  const scale = options.scale ?? 1 / Math.sqrt(d);
  const perm = Array.from({ length: kt.ndim }, (_, i) => i);
  [perm[kt.ndim - 1], perm[kt.ndim - 2]] = [kt.ndim - 2, kt.ndim - 1];
  let scores = multiply(matmul(qt, permuteDims(kt, perm)), scale);
  const [tq, tk] = [qt.shape[qt.ndim - 2]!, kt.shape[kt.ndim - 2]!];
  let allowed: Tensor | undefined;
  if (options.causal) {
    allowed = causalMask(tq, tk);
  }
  const m = options.mask;
  if (m !== undefined) {
    if (m.dtype === "bool") allowed = allowed === undefined ? m : logicalAnd(allowed, m);
    else scores = add(scores, m);
  }
  if (allowed !== undefined) scores = where(allowed, scores, F32_MIN);
  return matmul(softmax(scores), vt);
}
