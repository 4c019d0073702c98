/**
 * Functional index updates, JAX style: `at(x, idx).set/add/multiply/min/max/get`, `scatter`,
 * `segmentSum`, `dynamicSlice`, `dynamicUpdateSlice` and `gather` with batch dims. Composed from
 * the `gather` and `scatterAdd` primitives, `where` and reductions, so jvp, vjp, vmap and every
 * backend follow from their rules. Indices may be traced (computed inside `jit`/`vmap`).
 *
 * Index semantics (as JAX's defaults): negative indices count from the end; updates whose index is
 * out of range are dropped; `set` with duplicate indices keeps the last update. `add` is one
 * scatter-add (O(updates)); `set`, `multiply`, `min` and `max` compare every update with every
 * target row (O(updates × rows × row size) work and memory, fine for the sizes of model code).
 */
import { DTypeError, ShapeError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor, bind, cast } from "./base.js";
import { iota, tensor } from "./creation.js";
import { add, clip, equal, greaterEqual, less, logicalAnd, logicalNot, maximum, minimum, multiply, subtract, where } from "./elementwise.js";
import { any, max, min, prod } from "./reduce.js";
import { broadcastTo, expandDims, permuteDims, reshape } from "./shape.js";

/** An index along one axis: a number, a list of numbers, or an int32 tensor (traced or not). */
export type IndexLike = number | readonly number[] | Tensor;

function toIndex(op: string, idx: IndexLike): Tensor {
  if (typeof idx === "number") {
    if (!Number.isInteger(idx)) throw new ShapeError(`${op}: index must be an integer, got ${idx}`);
    return tensor(new Int32Array([idx]), { shape: [], dtype: "int32" });
  }
  if (Array.isArray(idx)) {
    const a = idx as readonly number[];
    if (a.some((v) => !Number.isInteger(v))) throw new ShapeError(`${op}: indices must be integers, got ${JSON.stringify(a)}`);
    return tensor(Int32Array.from(a), { shape: [a.length], dtype: "int32" });
  }
  const t = idx as Tensor;
  if (t.dtype !== "int32") throw new DTypeError(`${op}: indices must be int32, got ${t.dtype} (use astype(indices, "int32"))`);
  return t;
}

function normAxis(op: string, axis: number, ndim: number): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= ndim) throw new ShapeError(`${op}: axis ${axis} is out of range for rank ${ndim}`);
  return a;
}

function toFront(x: Tensor, axis: number): Tensor {
  if (axis === 0) return x;
  return permuteDims(x, [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)]);
}

function fromFront(x: Tensor, axis: number): Tensor {
  if (axis === 0) return x;
  return permuteDims(
    x,
    x.shape.map((_, i) => (i < axis ? i + 1 : i === axis ? 0 : i)),
  );
}

/** Wraps negative indices; returns the wrapped index and whether it is in range. */
function wrap(idx: Tensor, n: number): { i: Tensor; valid: Tensor } {
  const i = where(less(idx, 0), add(idx, n), idx);
  return { i, valid: logicalAnd(greaterEqual(i, 0), less(i, n)) };
}

/** The mode of an index update. */
export type UpdateMode = "set" | "add" | "multiply" | "min" | "max";

/**
 * The core update along axis 0 of `x` ([n, ...rest]) at `idx` (shape B) with `updates`
 * (broadcastable to B + rest).
 */
function update0(x: Tensor, idx: Tensor, updates: Tensor, mode: UpdateMode): Tensor {
  const n = x.shape[0]!;
  const rest = x.shape.slice(1);
  const bshape = idx.shape;
  const upd = broadcastTo(cast(updates, x.dtype), [...bshape, ...rest]);
  const B = bshape.reduce((a, b) => a * b, 1);
  const flatIdx = reshape(idx, [B]);
  const u = reshape(upd, [B, ...rest]);
  const { i, valid } = wrap(flatIdx, n);
  if (mode === "add") {
    const safe = where(valid, i, 0);
    const contrib = where(reshape(valid, [B, ...rest.map(() => 1)]), u, 0);
    return add(x, bind("scatterAdd", { axis: 0, batchDims: 0, shape: x.shape }, [contrib, safe]));
  }
  // hit[b, r]: update b lands on row r (out-of-range indices hit nothing).
  const hit = logicalAnd(equal(expandDims(i, 1), expandDims(iota([n], 0), 0)), expandDims(valid, 1)); // [B, n]
  const hitR = reshape(hit, [B, n, ...rest.map(() => 1)]);
  const uR = expandDims(u, 1); // [B, 1, ...rest]
  const touched = broadcastTo(reshape(any(hit, { axis: 0 }), [n, ...rest.map(() => 1)]), x.shape);
  if (mode === "set") {
    // Keep only the last update per row: b is last if no later b' hits the same row.
    const later = less(expandDims(iota([B], 0), 1), expandDims(iota([B], 0), 0)); // [b, b']: b < b'
    const same = equal(expandDims(i, 1), expandDims(i, 0));
    const shadowed = any(logicalAnd(later, same), { axis: 1 }); // [B]
    const last = logicalAnd(hit, expandDims(logicalNot(shadowed), 1)); // [B, n]
    const pick = where(reshape(last, [B, n, ...rest.map(() => 1)]), uR, 0);
    const value = reshape(bind("sum", { axes: [0] }, [pick]), x.shape);
    return where(touched, value, x);
  }
  if (mode === "multiply") return multiply(x, prod(where(hitR, uR, 1), { axis: 0 }));
  if (mode === "min") return where(touched, minimum(x, min(where(hitR, uR, Infinity), { axis: 0 })), x);
  return where(touched, maximum(x, max(where(hitR, uR, -Infinity), { axis: 0 })), x);
}

/** The functional update handle returned by `at`. */
export interface AtUpdater {
  /** `x` with the indexed rows replaced by `values` (the last of duplicate indices wins). */
  set(values: TensorLike): Tensor;
  /** `x` with `values` added at the indices (duplicates accumulate). */
  add(values: TensorLike): Tensor;
  /** `x` with the indexed rows multiplied by `values` (duplicates multiply). */
  multiply(values: TensorLike): Tensor;
  /** `minimum(x, values)` at the indices. */
  min(values: TensorLike): Tensor;
  /** `maximum(x, values)` at the indices. */
  max(values: TensorLike): Tensor;
  /** The indexed rows (`take` with traced indices clamped, as JAX). */
  get(): Tensor;
}

/**
 * JAX's `x.at[idx]` along an axis (default 0): a handle whose methods return updated copies of
 * `x`. `idx` is a number, a list, or an int32 tensor of any shape; values broadcast to
 * `idx.shape + x.shape without the axis`. Negative indices count from the end; out-of-range ones
 * are dropped.
 * @example
 * ```ts
 * import { at, tensor } from "tenfold";
 * const x = tensor([1, 2, 3, 4]);
 * console.log(at(x, 1).set(9).arraySync()); // [1, 9, 3, 4]
 * console.log(at(x, [0, 0, 3]).add(1).arraySync()); // [3, 2, 3, 5]
 * console.log(at(x, -1).multiply(10).arraySync()); // [1, 2, 3, 40]
 * ```
 */
export function at(x: TensorLike, idx: IndexLike, options: { axis?: number } = {}): AtUpdater {
  const xt = asTensor(x, "at");
  if (xt.ndim === 0) throw new ShapeError(`at: cannot index a scalar (shape [])`);
  const axis = normAxis("at", options.axis ?? 0, xt.ndim);
  const i = toIndex("at", idx);
  const upd =
    (mode: UpdateMode) =>
    (values: TensorLike): Tensor =>
      scatter(xt, i, values, { axis, mode });
  return {
    set: upd("set"),
    add: upd("add"),
    multiply: upd("multiply"),
    min: upd("min"),
    max: upd("max"),
    get: () => gather(xt, where(less(i, 0), add(i, xt.shape[axis]!), i), { axis }),
  };
}

/** Options of `scatter`. */
export interface ScatterOptions {
  /** The axis of `x` that `indices` index (default 0). */
  readonly axis?: number;
  /** How updates combine with `x` (default "set"). */
  readonly mode?: UpdateMode;
}

/**
 * Scatters `updates` into `x` along `axis` at `indices`: `updates` broadcasts to
 * `indices.shape + x.shape without axis`. Same semantics as `at(x, indices, { axis })[mode]`.
 * @example
 * ```ts
 * import { scatter, zeros, tensor } from "tenfold";
 * const y = scatter(zeros([3, 2]), [2, 0], tensor([[1, 2], [3, 4]]), { mode: "add" });
 * console.log(y.arraySync()); // [[3, 4], [0, 0], [1, 2]]
 * ```
 */
export function scatter(x: TensorLike, indices: IndexLike, updates: TensorLike, options: ScatterOptions = {}): Tensor {
  const xt = asTensor(x, "scatter");
  if (xt.ndim === 0) throw new ShapeError(`scatter: cannot index a scalar (shape [])`);
  const axis = normAxis("scatter", options.axis ?? 0, xt.ndim);
  const mode = options.mode ?? "set";
  if (!["set", "add", "multiply", "min", "max"].includes(mode))
    throw new ShapeError(`scatter: mode must be set, add, multiply, min or max, got ${JSON.stringify(mode)}`);
  const idx = toIndex("scatter", indices);
  const u = asTensor(updates, "scatter");
  const rest = xt.shape.filter((_, i) => i !== axis);
  const want = [...idx.shape, ...rest];
  if (u.ndim > want.length || u.shape.some((d, k) => d !== 1 && d !== want[want.length - u.ndim + k])) {
    throw new ShapeError(`scatter: updates ${fmtShape(u.shape)} must broadcast to indices.shape + x.shape without axis ${axis} = ${fmtShape(want)}`);
  }
  const y = update0(toFront(xt, axis), idx, u, mode);
  return fromFront(y, axis);
}

/**
 * Sums rows of `data` ([n, ...]) into `numSegments` segments by `segmentIds` ([n], int32), as
 * `jax.ops.segment_sum`: ids out of `[0, numSegments)` are dropped.
 * @example
 * ```ts
 * import { segmentSum, tensor } from "tenfold";
 * const ids = tensor([0, 2, 0, 1], { dtype: "int32" });
 * console.log(segmentSum(tensor([1, 2, 3, 4]), ids, 3).arraySync()); // [4, 4, 2]
 * ```
 */
export function segmentSum(data: TensorLike, segmentIds: IndexLike, numSegments: number): Tensor {
  const d = asTensor(data, "segmentSum");
  const ids = toIndex("segmentSum", segmentIds);
  if (!Number.isInteger(numSegments) || numSegments < 1) throw new ShapeError(`segmentSum: numSegments must be a positive integer, got ${numSegments}`);
  if (d.ndim < 1 || ids.ndim !== 1 || ids.shape[0] !== d.shape[0]) {
    throw new ShapeError(`segmentSum: segmentIds must be [n] matching data's axis 0, got ids ${fmtShape(ids.shape)} and data ${fmtShape(d.shape)}`);
  }
  const valid = logicalAnd(greaterEqual(ids, 0), less(ids, numSegments));
  const contrib = where(reshape(valid, [ids.shape[0]!, ...d.shape.slice(1).map(() => 1)]), d, 0);
  return bind("scatterAdd", { axis: 0, batchDims: 0, shape: [numSegments, ...d.shape.slice(1)] }, [contrib, where(valid, ids, 0)]);
}

/**
 * `gather(x, indices, { axis, batchDims })`: picks along `axis` with int32 `indices`; the first
 * `batchDims` axes of `x` and `indices` are shared (as `jnp.take` with batch dims /
 * `tf.gather(batch_dims)`). Output shape `x.shape[:axis] + indices.shape[batchDims:] +
 * x.shape[axis+1:]`. Traced indices are clamped into range.
 * @example
 * ```ts
 * import { gather, tensor } from "tenfold";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * const idx = tensor([[2, 0], [1, 1]], { dtype: "int32" });
 * console.log(gather(x, idx, { axis: 1, batchDims: 1 }).arraySync()); // [[3, 1], [5, 5]]
 * ```
 */
export function gather(x: TensorLike, indices: IndexLike, options: { axis?: number; batchDims?: number } = {}): Tensor {
  const xt = asTensor(x, "gather");
  const idx = toIndex("gather", indices);
  const bd = options.batchDims ?? 0;
  if (!Number.isInteger(bd) || bd < 0 || bd > idx.ndim || bd >= xt.ndim)
    throw new ShapeError(`gather: batchDims ${bd} must be in [0, min(indices.ndim ${idx.ndim}, x.ndim ${xt.ndim} - 1)]`);
  const axis = normAxis("gather", options.axis ?? bd, xt.ndim);
  if (axis < bd) throw new ShapeError(`gather: axis ${axis} must be >= batchDims ${bd}`);
  for (let k = 0; k < bd; k++) {
    if (xt.shape[k] !== idx.shape[k]) throw new ShapeError(`gather: batch axis ${k} differs: x ${fmtShape(xt.shape)} vs indices ${fmtShape(idx.shape)}`);
  }
  const n = xt.shape[axis]!;
  const clamped = clip(where(less(idx, 0), add(idx, n), idx), { min: 0, max: n - 1 });
  return bind("gather", { axis, batchDims: bd }, [xt, cast(clamped, "int32")]);
}

function starts(op: string, x: Tensor, startIndices: readonly (number | Tensor)[], sizes: readonly number[]): Tensor[] {
  if (startIndices.length !== x.ndim || sizes.length !== x.ndim) {
    throw new ShapeError(`${op}: need ${x.ndim} start indices and sizes for x ${fmtShape(x.shape)}, got ${startIndices.length} and ${sizes.length}`);
  }
  return startIndices.map((s, k) => {
    const size = sizes[k]!;
    if (!Number.isInteger(size) || size < 0 || size > x.shape[k]!) throw new ShapeError(`${op}: size ${size} on axis ${k} must be in [0, ${x.shape[k]}]`);
    const st = typeof s === "number" ? tensor(new Int32Array([s]), { shape: [], dtype: "int32" }) : s;
    if (st.ndim !== 0 || st.dtype !== "int32")
      throw new ShapeError(`${op}: start index ${k} must be a number or an int32 scalar tensor, got ${st.dtype} ${fmtShape(st.shape)}`);
    return clip(st, { min: 0, max: x.shape[k]! - size });
  });
}

/**
 * `lax.dynamic_slice`: the block of `sizes` starting at `startIndices` (numbers or traced int32
 * scalars), each start clamped into `[0, dim - size]` as JAX does, so the block always fits.
 * @example
 * ```ts
 * import { dynamicSlice, arange } from "tenfold";
 * console.log(dynamicSlice(arange(6), [4], [3]).arraySync()); // [3, 4, 5] (start clamped to 3)
 * ```
 */
export function dynamicSlice(x: TensorLike, startIndices: readonly (number | Tensor)[], sizes: readonly number[]): Tensor {
  let t = asTensor(x, "dynamicSlice");
  const st = starts("dynamicSlice", t, startIndices, sizes);
  st.forEach((s, k) => {
    if (sizes[k] === t.shape[k]) return;
    const idx = add(iota([sizes[k]!], 0), s);
    t = bind("gather", { axis: k, batchDims: 0 }, [t, cast(idx, "int32")]);
  });
  return t;
}

/**
 * `lax.dynamic_update_slice`: `x` with the block `update` written at `startIndices` (numbers or
 * traced int32 scalars, clamped as JAX so the block fits).
 * @example
 * ```ts
 * import { dynamicUpdateSlice, zeros, ones } from "tenfold";
 * console.log(dynamicUpdateSlice(zeros([2, 4]), ones([1, 2]), [1, 1]).arraySync()); // [[0, 0, 0, 0], [0, 1, 1, 0]]
 * ```
 */
export function dynamicUpdateSlice(x: TensorLike, update: TensorLike, startIndices: readonly (number | Tensor)[]): Tensor {
  const xt = asTensor(x, "dynamicUpdateSlice");
  let u = cast(asTensor(update, "dynamicUpdateSlice"), xt.dtype);
  if (u.ndim !== xt.ndim) throw new ShapeError(`dynamicUpdateSlice: update ${fmtShape(u.shape)} must have the rank of x ${fmtShape(xt.shape)}`);
  const st = starts("dynamicUpdateSlice", xt, startIndices, u.shape);
  let inside: Tensor | undefined;
  st.forEach((s, k) => {
    const n = xt.shape[k]!;
    const size = u.shape[k]!;
    const rel = subtract(iota([n], 0), s); // [n]
    const ok = logicalAnd(greaterEqual(rel, 0), less(rel, size));
    u = bind("gather", { axis: k, batchDims: 0 }, [u, cast(clip(rel, { min: 0, max: Math.max(size - 1, 0) }), "int32")]);
    const okB = reshape(
      ok,
      xt.shape.map((d, j) => (j === k ? d : 1)),
    );
    inside = inside === undefined ? okB : logicalAnd(inside, okB);
  });
  return inside === undefined ? xt : where(broadcastTo(inside, xt.shape), u, xt);
}
