/**
 * Sorting and selection: `argsort` (stable), `sort`, `topK`, `searchsorted`. `argsort` is a
 * bitonic sorting network composed of static gathers and `where`: the axis is padded to the next
 * power of two N and sorted in log2(N)·(log2(N)+1)/2 compare-exchange rounds, each O(N) per row
 * (so O(N log² N) work, no data-dependent control flow: it runs the same under jit, vmap and on
 * every backend). Keys are (value, original index), which makes it stable; NaN sorts last, as
 * NumPy/JAX. `sort` and `topK` gather the values with the permutation, so their gradients flow
 * to the selected entries (the permutation itself is piecewise constant).
 */
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor, bind } from "./base.js";
import { iota, tensor, zerosLike } from "./creation.js";
import { astype, equal, isnan, less, lessEqual, logicalAnd, logicalOr, negative, where } from "./elementwise.js";
import { sum } from "./reduce.js";
import { expandDims, pad, permuteDims, slice, takeAlongAxis } from "./shape.js";
import { stopGradient } from "./stopgrad.js";

function normAxis(op: string, axis: number, x: Tensor): number {
  const a = axis < 0 ? axis + x.ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= x.ndim) throw new ShapeError(`${op}: axis ${axis} is out of range for ${fmtShape(x.shape)}`);
  return a;
}

function swapToLast(x: Tensor, axis: number): Tensor {
  const last = x.ndim - 1;
  if (axis === last) return x;
  const perm = x.shape.map((_, i) => i);
  [perm[axis], perm[last]] = [last, axis];
  return permuteDims(x, perm);
}

interface Keys {
  readonly val: Tensor;
  readonly cls: Tensor;
  readonly idx: Tensor;
}

/** a < b in the (class, value, index) order: class 0 numbers, 1 NaN, 2 padding. */
function lessKeys(a: Keys, b: Keys): Tensor {
  const clsLess = less(a.cls, b.cls);
  const clsEq = equal(a.cls, b.cls);
  const numeric = equal(a.cls, 0);
  const valLess = logicalAnd(numeric, less(a.val, b.val));
  const valTie = logicalOr(logicalAnd(numeric, equal(a.val, b.val)), logicalAnd(clsEq, logicalOr(equal(a.cls, 1), equal(a.cls, 2))));
  return logicalOr(clsLess, logicalAnd(clsEq, logicalOr(valLess, logicalAnd(valTie, less(a.idx, b.idx)))));
}

function gatherLast(t: Tensor, perm: Int32Array): Tensor {
  return bind("gather", { axis: t.ndim - 1, batchDims: 0 }, [t, tensor(perm, { shape: [perm.length], dtype: "int32" })]);
}

/** The stable ascending permutation along the last axis. */
function bitonicArgsort(x: Tensor): Tensor {
  const n = x.shape[x.ndim - 1]!;
  let N = 1;
  while (N < n) N *= 2;
  const widths = x.shape.map((_, i): [number, number] => (i === x.ndim - 1 ? [0, N - n] : [0, 0]));
  const v0 = stopGradient(x);
  const float = x.dtype === "float32" || x.dtype === "float16";
  const cls0 = float ? astype(isnan(v0), "int32") : zerosLike(v0, { dtype: "int32" });
  let k: Keys = {
    val: pad(float ? where(isnan(v0), 0, v0) : v0, widths),
    cls: pad(cls0, widths, { value: 2 }),
    idx: iota([...x.shape.slice(0, -1), N], x.ndim - 1),
  };
  for (let size = 2; size <= N; size *= 2) {
    for (let j = size / 2; j >= 1; j /= 2) {
      const partner = Int32Array.from({ length: N }, (_, i) => i ^ j);
      const wantMin = Uint8Array.from({ length: N }, (_, i) => Number(i < (i ^ j) === ((i & size) === 0)));
      const p: Keys = { val: gatherLast(k.val, partner), cls: gatherLast(k.cls, partner), idx: gatherLast(k.idx, partner) };
      const keepSelf = equal(lessKeys(k, p), tensor(wantMin, { shape: [N], dtype: "bool" }));
      k = { val: where(keepSelf, k.val, p.val), cls: where(keepSelf, k.cls, p.cls), idx: where(keepSelf, k.idx, p.idx) };
    }
  }
  return N === n
    ? k.idx
    : slice(
        k.idx,
        x.shape.map(() => 0),
        x.shape,
      );
}

/** Options of `argsort`/`sort`. */
export interface SortOptions {
  /** Default -1. */
  readonly axis?: number;
  /** Largest first (ties keep their original order; NaN still last). */
  readonly descending?: boolean;
}

/**
 * Indices (int32) that sort `x` along `axis` (default -1), stable: equal values keep their
 * order; NaN last. A bitonic network of gathers and `where` (O(n log² n); see the module notes).
 * @example
 * ```ts
 * import { argsort, tensor } from "tenfold";
 * console.log(argsort(tensor([3, 1, 2, 1])).arraySync()); // [1, 3, 2, 0]
 * console.log(argsort(tensor([3, 1, 2, 1]), { descending: true }).arraySync()); // [0, 2, 1, 3]
 * ```
 */
export function argsort(x: TensorLike, options: SortOptions = {}): Tensor {
  const t = asTensor(x, "argsort");
  if (t.ndim === 0) throw new ShapeError(`argsort: expected a tensor of rank >= 1, got a scalar`);
  if (t.dtype === "bool") return argsort(astype(t, "int32"), options);
  const axis = normAxis("argsort", options.axis ?? -1, t);
  const keys = options.descending ? negative(t) : t;
  return swapToLast(bitonicArgsort(swapToLast(keys, axis)), axis);
}

/**
 * `x` sorted along `axis` (default -1); differentiable (the gradient is routed through the
 * permutation).
 * @example
 * ```ts
 * import { sort, tensor } from "tenfold";
 * console.log(sort(tensor([[3, 1, 2], [0, -1, 5]])).arraySync()); // [[1, 2, 3], [-1, 0, 5]]
 * ```
 */
export function sort(x: TensorLike, options: SortOptions = {}): Tensor {
  const t = asTensor(x, "sort");
  const idx = argsort(t, options);
  return takeAlongAxis(t, idx, { axis: options.axis ?? -1 });
}

/**
 * The `k` largest entries along the last axis and their indices, largest first (ties: lower
 * index first), as `lax.top_k`. Returns `[values, indices]`.
 * @example
 * ```ts
 * import { topK, tensor } from "tenfold";
 * const [v, i] = topK(tensor([1, 5, 3, 5]), 2);
 * console.log(v.arraySync(), i.arraySync()); // [5, 5] [1, 3]
 * ```
 */
export function topK(x: TensorLike, k: number): [Tensor, Tensor] {
  const t = asTensor(x, "topK");
  if (t.ndim === 0) throw new ShapeError(`topK: expected a tensor of rank >= 1, got a scalar`);
  const n = t.shape[t.ndim - 1]!;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new ShapeError(`topK: k must be an integer in [0, ${n}] (the last axis of ${fmtShape(t.shape)}), got ${k}`);
  const all = argsort(t, { descending: true });
  const idx = slice(
    all,
    t.shape.map(() => 0),
    [...t.shape.slice(0, -1), k],
  );
  return [takeAlongAxis(t, idx, { axis: -1 }), idx];
}

/**
 * Insertion points of `values` into the sorted 1-D `sorted` (`jnp.searchsorted`): "left" gives the
 * first `i` with `values <= sorted[i]`, "right" the first with `values < sorted[i]`. Computed as a
 * count of comparisons (O(n·m) work, one fused reduction), int32 of `values`' shape.
 * @example
 * ```ts
 * import { searchsorted, tensor } from "tenfold";
 * console.log(searchsorted(tensor([1, 2, 2, 4]), tensor([2, 3, 5])).arraySync()); // [1, 3, 4]
 * console.log(searchsorted(tensor([1, 2, 2, 4]), tensor([2]), { side: "right" }).arraySync()); // [3]
 * ```
 */
export function searchsorted(sorted: TensorLike, values: TensorLike, options: { side?: "left" | "right" } = {}): Tensor {
  const a = asTensor(sorted, "searchsorted");
  const v = asTensor(values, "searchsorted");
  if (a.ndim !== 1) throw new ShapeError(`searchsorted: sorted must be 1-D, got ${fmtShape(a.shape)}`);
  const side = options.side ?? "left";
  if (side !== "left" && side !== "right") throw new ShapeError(`searchsorted: side must be "left" or "right", got ${JSON.stringify(side)}`);
  const ve = expandDims(v, -1);
  const cmp = side === "left" ? less(a, ve) : lessEqual(a, ve);
  return astype(sum(astype(cmp, "int32"), { axis: -1 }), "int32");
}
