/**
 * Shape ops, composed from the movement primitives (reshape, permute, broadcast, pad, slice,
 * flip) and gather. Pure views never cost a copy kernel (the scheduler folds them into indexing).
 */
import { DTypeError, ShapeError, fmtShape } from "../core/errors.js";
import type { Shape } from "../core/shape.js";
import { broadcastShapes, checkPerm, checkShape, normAxes, normAxis, shapeEq, sizeOf } from "../core/shape.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor, bind, broadcastTo_, cast, constant, resultDType } from "./base.js";
import { tensor } from "./creation.js";
import { iota } from "./creation.js";

/**
 * Reshapes (one dimension may be -1).
 * @example
 * ```ts
 * import { reshape, arange } from "tenfold";
 * console.log(reshape(arange(6), [2, -1]).shape); // [2, 3]
 * ```
 */
export function reshape(x: TensorLike, shape: readonly number[]): Tensor {
  const t = asTensor(x, "reshape");
  const n = t.size;
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError(`reshape: only one dimension can be -1, got ${fmtShape(shape)}`);
  for (const d of shape) if (!Number.isInteger(d) || d < -1) throw new ShapeError(`reshape: invalid target shape ${fmtShape(shape)}`);
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  let s = [...shape];
  if (unknown) {
    if (known === 0 || n % known !== 0) throw new ShapeError(`reshape: cannot reshape ${fmtShape(t.shape)} (size ${n}) to ${fmtShape(shape)}`);
    s = s.map((d) => (d === -1 ? n / known : d));
  }
  if (sizeOf(s) !== n) throw new ShapeError(`reshape: cannot reshape ${fmtShape(t.shape)} (size ${n}) to ${fmtShape(shape)} (size ${sizeOf(s)})`);
  if (shapeEq(s, t.shape)) return t;
  return bind("reshape", { shape: s }, [t]);
}

/**
 * Permutes axes (`axes` defaults to reversing them).
 * @example
 * ```ts
 * import { permuteDims, zeros } from "tenfold";
 * console.log(permuteDims(zeros([2, 3, 4]), [2, 0, 1]).shape); // [4, 2, 3]
 * ```
 */
export function permuteDims(x: TensorLike, axes?: readonly number[]): Tensor {
  const t = asTensor(x, "permuteDims");
  const perm = checkPerm("permuteDims", axes ?? t.shape.map((_, i) => t.ndim - 1 - i), t.ndim);
  if (perm.every((p, i) => p === i)) return t;
  return bind("permute", { perm }, [t]);
}

/**
 * Swaps the last two axes.
 * @example
 * ```ts
 * import { matrixTranspose, zeros } from "tenfold";
 * console.log(matrixTranspose(zeros([5, 2, 3])).shape); // [5, 3, 2]
 * ```
 */
export function matrixTranspose(x: TensorLike): Tensor {
  const t = asTensor(x, "matrixTranspose");
  if (t.ndim < 2) throw new ShapeError(`matrixTranspose: needs rank >= 2, got shape ${fmtShape(t.shape)}`);
  const p = t.shape.map((_, i) => i);
  p[t.ndim - 2] = t.ndim - 1;
  p[t.ndim - 1] = t.ndim - 2;
  return permuteDims(t, p);
}

/**
 * Inserts size-1 axes at `axis` (a number or an array, positions in the result).
 * @example
 * ```ts
 * import { expandDims, zeros } from "tenfold";
 * console.log(expandDims(zeros([2, 3]), 1).shape); // [2, 1, 3]
 * ```
 */
export function expandDims(x: TensorLike, axis: number | readonly number[]): Tensor {
  const t = asTensor(x, "expandDims");
  const list = typeof axis === "number" ? [axis] : axis;
  const nd = t.ndim + list.length;
  const axes = normAxes("expandDims", list, nd);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < nd; i++) out.push(axes.includes(i) ? 1 : t.shape[k++]!);
  return reshape(t, out);
}

/**
 * Removes size-1 axes (all of them, or those in `axis`, which must have size 1).
 * @example
 * ```ts
 * import { squeeze, zeros } from "tenfold";
 * console.log(squeeze(zeros([1, 2, 1])).shape); // [2]
 * ```
 */
export function squeeze(x: TensorLike, options: { axis?: number | readonly number[] } = {}): Tensor {
  const t = asTensor(x, "squeeze");
  const axes = options.axis === undefined ? t.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normAxes("squeeze", options.axis, t.ndim, t.shape);
  for (const a of axes) if (t.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of shape ${fmtShape(t.shape)} has size ${t.shape[a]}, not 1`);
  return reshape(
    t,
    t.shape.filter((_, i) => !axes.includes(i)),
  );
}

/**
 * Broadcasts to a shape (NumPy rules).
 * @example
 * ```ts
 * import { broadcastTo, tensor } from "tenfold";
 * console.log(broadcastTo(tensor([1, 2]), [2, 2]).arraySync()); // [[1, 2], [1, 2]]
 * ```
 */
export function broadcastTo(x: TensorLike, shape: readonly number[]): Tensor {
  const t = asTensor(x, "broadcastTo");
  checkShape("broadcastTo", shape);
  const b = broadcastShapes("broadcastTo", t.shape, shape);
  if (!shapeEq(b, shape)) throw new ShapeError(`broadcastTo: cannot broadcast ${fmtShape(t.shape)} to ${fmtShape(shape)}`);
  return broadcastTo_(t, shape);
}

function padRaw(t: Tensor, widths: (readonly [number, number])[], value: number): Tensor {
  if (widths.every(([a, b]) => a === 0 && b === 0)) return t;
  return bind("pad", { widths, value }, [t]);
}

/**
 * Joins tensors along an existing axis (default 0).
 * @example
 * ```ts
 * import { concat, tensor } from "tenfold";
 * console.log(concat([tensor([1]), tensor([2, 3])]).arraySync()); // [1, 2, 3]
 * ```
 */
export function concat(xs: readonly TensorLike[], options: { axis?: number } = {}): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ShapeError("concat: needs a non-empty array of tensors");
  const d = resultDType(xs);
  const ts = xs.map((x) => cast(asTensor(x, "concat"), d));
  const first = ts[0]!;
  if (first.ndim === 0) throw new ShapeError("concat: zero-dimensional tensors cannot be concatenated (use stack)");
  const axis = normAxis("concat", options.axis ?? 0, first.ndim, first.shape);
  for (const t of ts) {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== axis && s !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${ts.map((u) => fmtShape(u.shape)).join(", ")} differ outside axis ${axis}`);
    }
  }
  if (ts.length === 1) return first;
  const total = ts.reduce((a, t) => a + t.shape[axis]!, 0);
  let off = 0;
  let acc: Tensor | undefined;
  for (const t of ts) {
    const w = t.shape.map((): [number, number] => [0, 0]);
    w[axis] = [off, total - off - t.shape[axis]!];
    off += t.shape[axis]!;
    // padding with -0 keeps a -0 entry (-0 + -0 = -0, and -0 + x = x for every other x)
    const p = padRaw(t, w, d === "float32" || d === "float16" ? -0 : 0);
    acc = acc ? (d === "bool" ? bind("max", {}, [acc, p]) : bind("add", {}, [acc, p])) : p;
  }
  return acc!;
}

/**
 * Stacks tensors of equal shape along a new axis.
 * @example
 * ```ts
 * import { stack, tensor } from "tenfold";
 * console.log(stack([tensor([1, 2]), tensor([3, 4])], { axis: 1 }).arraySync()); // [[1, 3], [2, 4]]
 * ```
 */
export function stack(xs: readonly TensorLike[], options: { axis?: number } = {}): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ShapeError("stack: needs a non-empty array of tensors");
  const ts = xs.map((x) => asTensor(x, "stack"));
  const s0 = ts[0]!.shape;
  for (const t of ts) if (!shapeEq(t.shape, s0)) throw new ShapeError(`stack: all shapes must be equal, got ${ts.map((u) => fmtShape(u.shape)).join(", ")}`);
  const axis = normAxis("stack", options.axis ?? 0, s0.length + 1);
  return concat(
    ts.map((t) => expandDims(t, axis)),
    { axis },
  );
}

/**
 * Splits into equal sections (a number) or at indices (an array), like `np.split`.
 * @example
 * ```ts
 * import { split, arange } from "tenfold";
 * console.log(split(arange(6), 3).map((t) => t.arraySync())); // [[0, 1], [2, 3], [4, 5]]
 * console.log(split(arange(5), [1, 3]).map((t) => t.shape)); // [[1], [2], [2]]
 * ```
 */
export function split(x: TensorLike, sections: number | readonly number[], options: { axis?: number } = {}): Tensor[] {
  const t = asTensor(x, "split");
  const axis = normAxis("split", options.axis ?? 0, t.ndim, t.shape);
  const n = t.shape[axis]!;
  let cuts: number[];
  if (typeof sections === "number") {
    if (!Number.isInteger(sections) || sections <= 0 || n % sections !== 0) {
      throw new ShapeError(`split: axis ${axis} of size ${n} (shape ${fmtShape(t.shape)}) cannot be split into ${sections} equal sections`);
    }
    cuts = Array.from({ length: sections - 1 }, (_, i) => ((i + 1) * n) / sections);
  } else {
    sections.forEach((c, i) => {
      if (typeof c !== "number" || !Number.isInteger(c)) {
        throw new ShapeError(`split: sections must be whole-number indices, got ${String(c)} at position ${i} of ${JSON.stringify(sections)}`);
      }
    });
    cuts = sections.map((c) => Math.min(Math.max(c < 0 ? c + n : c, 0), n));
  }
  const bounds = [0, ...cuts, n];
  const out: Tensor[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const lo = bounds[i]!;
    const hi = Math.max(lo, bounds[i + 1]!);
    out.push(sliceAxis(t, axis, lo, hi, 1));
  }
  return out;
}

/** Slices one axis `[lo, hi)` with a step. */
export function sliceAxis(t: Tensor, axis: number, lo: number, hi: number, step: number): Tensor {
  if (lo === 0 && hi === t.shape[axis] && step === 1) return t;
  const starts = t.shape.map(() => 0);
  const ends = [...t.shape];
  const steps = t.shape.map(() => 1);
  starts[axis] = lo;
  ends[axis] = hi;
  steps[axis] = step;
  return bind("slice", { starts, ends, steps }, [t]);
}

/**
 * Strided slice, JAX `lax.slice` style: per-axis `starts` (inclusive) and `ends` (exclusive;
 * defaults to the full size), optional `strides`. Negative indices count from the end.
 * @example
 * ```ts
 * import { slice, arange, reshape } from "tenfold";
 * const x = reshape(arange(12), [3, 4]);
 * console.log(slice(x, [1, 0], [3, 4], { strides: [1, 2] }).arraySync()); // [[4, 6], [8, 10]]
 * ```
 */
export function slice(x: TensorLike, starts: readonly number[], ends?: readonly (number | null)[], options: { strides?: readonly number[] } = {}): Tensor {
  const t = asTensor(x, "slice");
  if (starts.length !== t.ndim) throw new ShapeError(`slice: starts ${fmtShape(starts)} must have one entry per axis of shape ${fmtShape(t.shape)}`);
  if (ends && ends.length !== t.ndim) throw new ShapeError(`slice: ends must have one entry per axis of shape ${fmtShape(t.shape)}`);
  const whole = (what: string, v: unknown, i: number): void => {
    if (typeof v !== "number" || !Number.isInteger(v)) throw new ShapeError(`slice: ${what} must be whole numbers, got ${String(v)} for axis ${i}`);
  };
  starts.forEach((v, i) => whole("starts", v, i));
  ends?.forEach((v, i) => v === null || v === undefined || whole("ends", v, i));
  const steps = options.strides ? [...options.strides] : t.shape.map(() => 1);
  if (steps.length !== t.ndim || steps.some((s) => !Number.isInteger(s) || s < 1))
    throw new ShapeError(`slice: strides ${fmtShape(steps)} must be positive integers, one per axis`);
  const norm = (v: number, n: number): number => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = starts.map((v, i) => norm(v, t.shape[i]!));
  const e = t.shape.map((n, i) => {
    const v = ends?.[i];
    return v === undefined || v === null ? n : Math.max(norm(v, n), s[i]!);
  });
  if (s.every((v) => v === 0) && e.every((v, i) => v === t.shape[i]) && steps.every((v) => v === 1)) return t;
  return bind("slice", { starts: s, ends: e, steps }, [t]);
}

/**
 * Reverses the order along axes (all axes by default).
 * @example
 * ```ts
 * import { flip, tensor } from "tenfold";
 * console.log(flip(tensor([1, 2, 3])).arraySync()); // [3, 2, 1]
 * ```
 */
export function flip(x: TensorLike, options: { axis?: number | readonly number[] } = {}): Tensor {
  const t = asTensor(x, "flip");
  const axes = normAxes("flip", options.axis, t.ndim, t.shape);
  if (!axes.length) return t;
  return bind("flip", { axes }, [t]);
}

/**
 * Repeats the whole tensor `reps` times along each axis (NumPy `tile`).
 * @example
 * ```ts
 * import { tile, tensor } from "tenfold";
 * console.log(tile(tensor([1, 2]), [2]).arraySync()); // [1, 2, 1, 2]
 * ```
 */
export function tile(x: TensorLike, reps: number | readonly number[]): Tensor {
  const t = asTensor(x, "tile");
  const r = typeof reps === "number" ? [reps] : [...reps];
  for (const v of r) if (!Number.isInteger(v) || v < 0) throw new ShapeError(`tile: reps must be non-negative integers, got ${fmtShape(r)}`);
  const nd = Math.max(t.ndim, r.length);
  const shape = [...new Array<number>(nd - t.ndim).fill(1), ...t.shape];
  const reps2 = [...new Array<number>(nd - r.length).fill(1), ...r];
  // [.., 1, d, ..] -> broadcast [.., rep, d, ..] -> reshape [.., rep*d, ..]
  const inter: number[] = [];
  const big: number[] = [];
  shape.forEach((d, i) => {
    inter.push(1, d);
    big.push(reps2[i]!, d);
  });
  checkShape(
    "tile",
    shape.map((d, i) => d * reps2[i]!),
  );
  const e = broadcastTo_(reshape(t, inter), big);
  return reshape(
    e,
    shape.map((d, i) => d * reps2[i]!),
  );
}

/**
 * Repeats each element (NumPy `repeat`; `axis` undefined flattens first).
 * @example
 * ```ts
 * import { repeat, tensor } from "tenfold";
 * console.log(repeat(tensor([1, 2]), 2).arraySync()); // [1, 1, 2, 2]
 * console.log(repeat(tensor([1, 2]), [1, 3]).arraySync()); // [1, 2, 2, 2]
 * ```
 */
export function repeat(x: TensorLike, repeats: number | readonly number[], options: { axis?: number } = {}): Tensor {
  let t = asTensor(x, "repeat");
  if (options.axis === undefined) t = reshape(t, [-1]);
  const axis = normAxis("repeat", options.axis ?? 0, t.ndim, t.shape);
  const n = t.shape[axis]!;
  if (typeof repeats === "number") {
    if (!Number.isInteger(repeats) || repeats < 0) throw new ShapeError(`repeat: repeats must be a non-negative integer, got ${repeats}`);
    // [.., n, 1, ..] -> [.., n, r, ..] -> [.., n*r, ..]
    const s1 = [...t.shape.slice(0, axis + 1), 1, ...t.shape.slice(axis + 1)];
    const s2 = [...t.shape.slice(0, axis + 1), repeats, ...t.shape.slice(axis + 1)];
    const out = [...t.shape];
    out[axis] = n * repeats;
    checkShape("repeat", out);
    return reshape(broadcastTo_(reshape(t, s1), s2), out);
  }
  if (repeats.length !== n) throw new ShapeError(`repeat: ${repeats.length} repeats for axis ${axis} of size ${n}`);
  const idx: number[] = [];
  repeats.forEach((r, i) => {
    if (!Number.isInteger(r) || r < 0) throw new ShapeError(`repeat: repeats must be non-negative integers`);
    for (let k = 0; k < r; k++) idx.push(i);
  });
  return take(t, tensor(new Int32Array(idx), { shape: [idx.length] }), { axis });
}

type PadWidth = number | readonly [number, number] | readonly (readonly [number, number])[] | readonly (readonly number[])[];

/**
 * Constant padding (NumPy `pad` widths: a number, `[lo, hi]`, or one pair per axis).
 * @example
 * ```ts
 * import { pad, tensor } from "tenfold";
 * console.log(pad(tensor([1, 2]), [1, 2], { value: 9 }).arraySync()); // [9, 1, 2, 9, 9]
 * ```
 */
export function pad(x: TensorLike, padWidth: PadWidth, options: { value?: number } = {}): Tensor {
  const t = asTensor(x, "pad");
  let widths: [number, number][];
  if (typeof padWidth === "number") widths = t.shape.map((): [number, number] => [padWidth, padWidth]);
  else if (padWidth.length === 2 && typeof padWidth[0] === "number" && (t.ndim !== 2 || typeof padWidth[1] === "number")) {
    const p = padWidth as readonly [number, number];
    widths = t.shape.map((): [number, number] => [p[0], p[1]]);
  } else {
    const list = padWidth as readonly (readonly number[])[];
    if (list.length === 1 && t.ndim > 1) widths = t.shape.map((): [number, number] => [list[0]![0]!, list[0]![1] ?? list[0]![0]!]);
    else if (list.length !== t.ndim) throw new ShapeError(`pad: ${list.length} pad widths for a tensor of rank ${t.ndim} (shape ${fmtShape(t.shape)})`);
    else widths = list.map((p) => [p[0]!, p[1] ?? p[0]!]);
  }
  widths.forEach(([lo, hi], i) => {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < 0) {
      throw new ShapeError(`pad: pad widths must be non-negative integers, got [${lo}, ${hi}] for axis ${i} of shape ${fmtShape(t.shape)}`);
    }
  });
  checkShape(
    "pad",
    t.shape.map((d, i) => d + widths[i]![0] + widths[i]![1]),
  );
  return padRaw(t, widths, options.value ?? 0);
}

function toIndices(indices: TensorLike | readonly number[], op: string): Tensor {
  if (Array.isArray(indices)) {
    (indices as unknown[]).forEach((v, i) => {
      if (typeof v !== "number" || !Number.isInteger(v)) throw new DTypeError(`${op}: indices must be whole numbers, got ${String(v)} at position ${i}`);
      if (Math.abs(v) > 2147483647) throw new ShapeError(`${op}: index ${v} at position ${i} is out of range`);
    });
    return tensor(new Int32Array(indices as number[]), { shape: [indices.length] });
  }
  const t = asTensor(indices as TensorLike, op);
  if (t.dtype !== "int32") throw new DTypeError(`${op}: indices must be int32, got ${t.dtype} (use astype(indices, "int32"))`);
  return t;
}

/** Checks realized indices eagerly: out-of-range indices throw at the call. */
function checkRange(op: string, idx: Tensor, n: number, axis: number, shape: Shape): void {
  if (!idx.node.isBuffer()) return;
  const data = idx.dataSync();
  for (const v of data) {
    if (v < -n || v >= n) throw new ShapeError(`${op}: index ${v} is out of range for axis ${axis} with size ${n} (shape ${fmtShape(shape)})`);
  }
}

/**
 * Takes elements along an axis (`axis` undefined flattens). Negative indices count from the end.
 * Indices known at the call are range-checked there (a ShapeError); indices computed lazily are
 * clamped into range, as JAX does on device.
 * @example
 * ```ts
 * import { take, tensor } from "tenfold";
 * console.log(take(tensor([[1, 2], [3, 4]]), [1, 0], { axis: 0 }).arraySync()); // [[3, 4], [1, 2]]
 * ```
 */
export function take(x: TensorLike, indices: TensorLike | readonly number[], options: { axis?: number } = {}): Tensor {
  let t = asTensor(x, "take");
  const idx = toIndices(indices, "take");
  if (options.axis === undefined) t = reshape(t, [-1]);
  const axis = normAxis("take", options.axis ?? 0, t.ndim, t.shape);
  checkRange("take", idx, t.shape[axis]!, axis, t.shape);
  return bind("gather", { axis, batchDims: 0 }, [t, idx]);
}

/**
 * Picks values along an axis with indices of the same rank (NumPy `take_along_axis`).
 * @example
 * ```ts
 * import { takeAlongAxis, tensor } from "tenfold";
 * const x = tensor([[10, 30, 20], [60, 40, 50]]);
 * console.log(takeAlongAxis(x, tensor([[1], [0]], { dtype: "int32" }), { axis: 1 }).arraySync()); // [[30], [60]]
 * ```
 */
export function takeAlongAxis(x: TensorLike, indices: TensorLike, options: { axis?: number } = {}): Tensor {
  let t = asTensor(x, "takeAlongAxis");
  let idx = toIndices(indices, "takeAlongAxis");
  if (options.axis === undefined) {
    t = reshape(t, [-1]);
    idx = reshape(idx, [-1]);
  }
  if (idx.ndim !== t.ndim)
    throw new ShapeError(`takeAlongAxis: indices rank ${idx.ndim} (shape ${fmtShape(idx.shape)}) must equal the rank of x ${fmtShape(t.shape)}`);
  const axis = normAxis("takeAlongAxis", options.axis ?? 0, t.ndim, t.shape);
  checkRange("takeAlongAxis", idx, t.shape[axis]!, axis, t.shape);
  // broadcast all non-axis dims, then move axis last and gather with batch dims
  const bshape = broadcastShapes(
    "takeAlongAxis",
    t.shape.filter((_, i) => i !== axis),
    idx.shape.filter((_, i) => i !== axis),
  );
  const withAxis = (s: number[], n: number): number[] => [...s.slice(0, axis), n, ...s.slice(axis)];
  const tb = broadcastTo_(t, withAxis(bshape, t.shape[axis]!));
  const ib = broadcastTo_(idx, withAxis(bshape, idx.shape[axis]!));
  const nd = t.ndim;
  const toLast = [...Array.from({ length: nd }, (_, i) => i).filter((i) => i !== axis), axis];
  const tp = permuteDims(tb, toLast);
  const ip = permuteDims(ib, toLast);
  const g = bind("gather", { axis: nd - 1, batchDims: nd - 1 }, [tp, ip]);
  const back = new Array<number>(nd);
  toLast.forEach((src, i) => (back[src] = i));
  return permuteDims(g, back);
}

/** A constant int32 index vector 0..n-1. */
export function range(n: number): Tensor {
  return iota([n], 0, "int32");
}

export { constant };
