/** Reductions with `{ axis, keepdims }`, composed from the reduce primitives. */
import { isFloat } from "../core/dtype.js";
import { ShapeError, fmtShape } from "../core/errors.js";
import { normAxes, normAxis } from "../core/shape.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor, bind, broadcastTo_, cast, constant, floatOf } from "./base.js";
import { reshape } from "./shape.js";
import { divide, exp, isfinite, log, multiply, negative, subtract, where } from "./elementwise.js";
import { stopGradient } from "./stopgrad.js";

/** Options shared by reductions. */
export interface ReduceOptions {
  /** Axis or axes to reduce (negative counts from the end); all axes when omitted. */
  readonly axis?: number | readonly number[] | null;
  /** Keep reduced axes with size 1. */
  readonly keepdims?: boolean;
}

function keep(t: Tensor, x: Tensor, axes: number[], keepdims: boolean | undefined): Tensor {
  if (!keepdims) return t;
  return reshape(
    t,
    x.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
  );
}

function reduceWith(prim: "sum" | "rmax" | "rmin" | "prod", op: string, x: Tensor, opts: ReduceOptions, emptyOk: boolean): Tensor {
  const axes = normAxes(op, opts.axis, x.ndim, x.shape);
  if (!emptyOk) {
    for (const a of axes)
      if (x.shape[a] === 0) throw new ShapeError(`${op}: cannot reduce over axis ${a} of size 0 (shape ${fmtShape(x.shape)}): ${op} has no identity`);
  }
  const r = axes.length ? bind(prim, { axes }, [x]) : x;
  return keep(r, x, axes, opts.keepdims);
}

/**
 * Sum (bool counts as int32; the sum over an empty axis is 0).
 * @example
 * ```ts
 * import { sum, tensor } from "tenfold";
 * console.log(sum(tensor([[1, 2], [3, 4]]), { axis: 0 }).arraySync()); // [4, 6]
 * ```
 */
export function sum(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  let t = asTensor(x, "sum");
  if (t.dtype === "bool") t = cast(t, "int32");
  return reduceWith("sum", "sum", t, opts, true);
}

/**
 * Product.
 * @example
 * ```ts
 * import { prod, tensor } from "tenfold";
 * console.log(prod(tensor([1, 2, 3, 4])).arraySync()); // 24
 * ```
 */
export function prod(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  let t = asTensor(x, "prod");
  if (t.dtype === "bool") t = cast(t, "int32");
  return reduceWith("prod", "prod", t, opts, true);
}

/**
 * Maximum (NaN propagates; an empty axis is an error).
 * @example
 * ```ts
 * import { max, tensor } from "tenfold";
 * console.log(max(tensor([[1, 5], [3, 4]]), { axis: 1 }).arraySync()); // [5, 4]
 * ```
 */
export function max(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  return reduceWith("rmax", "max", asTensor(x, "max"), opts, false);
}

/**
 * Minimum.
 * @example
 * ```ts
 * import { min, tensor } from "tenfold";
 * console.log(min(tensor([3, 1, 2])).arraySync()); // 1
 * ```
 */
export function min(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  return reduceWith("rmin", "min", asTensor(x, "min"), opts, false);
}

function count(x: Tensor, opts: ReduceOptions, op: string): number {
  return normAxes(op, opts.axis, x.ndim, x.shape).reduce((a, ax) => a * x.shape[ax]!, 1);
}

/**
 * Arithmetic mean (integers promote to float32).
 * @example
 * ```ts
 * import { mean, tensor } from "tenfold";
 * console.log(mean(tensor([1, 2, 3, 4])).arraySync()); // 2.5
 * ```
 */
export function mean(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  const t = floatOf(asTensor(x, "mean"));
  normAxes("mean", opts.axis, t.ndim, t.shape);
  return divide(sum(t, opts), count(t, opts, "mean"));
}

/**
 * Variance with `ddof` (0 by default, as NumPy).
 * @example
 * ```ts
 * import { var_, tensor } from "tenfold";
 * console.log(var_(tensor([1, 2, 3, 4])).arraySync()); // 1.25
 * ```
 */
export function var_(x: TensorLike, opts: ReduceOptions & { ddof?: number } = {}): Tensor {
  const t = floatOf(asTensor(x, "var_"));
  normAxes("var_", opts.axis, t.ndim, t.shape);
  const m = mean(t, { axis: opts.axis ?? null, keepdims: true });
  const d = subtract(t, m);
  const n = count(t, opts, "var_") - (opts.ddof ?? 0);
  return divide(sum(multiply(d, d), opts), n);
}

/**
 * Standard deviation.
 * @example
 * ```ts
 * import { std, tensor } from "tenfold";
 * console.log(std(tensor([1, 3])).arraySync()); // 1
 * ```
 */
export function std(x: TensorLike, opts: ReduceOptions & { ddof?: number } = {}): Tensor {
  return bind("sqrt", {}, [var_(x, opts)]);
}

/**
 * `log(sum(exp(x)))`, computed stably (shifted by the max).
 * @example
 * ```ts
 * import { logsumexp, tensor } from "tenfold";
 * console.log(logsumexp(tensor([1000, 1000])).arraySync()); // 1000.6931...
 * ```
 */
export function logsumexp(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  const t = floatOf(asTensor(x, "logsumexp"));
  const axes0 = normAxes("logsumexp", opts.axis, t.ndim, t.shape);
  if (axes0.some((a) => t.shape[a] === 0)) {
    // an empty sum is 0, its log -Infinity (as JAX)
    const shape = t.shape.map((d, i) => (axes0.includes(i) ? 1 : d));
    const r = broadcastTo_(constant(-Infinity, t.dtype), shape);
    return opts.keepdims
      ? r
      : reshape(
          r,
          t.shape.filter((_, i) => !axes0.includes(i)),
        );
  }
  const m = max(t, { axis: opts.axis ?? null, keepdims: true });
  const ms = stopGradient(where(isfinite(m), m, 0));
  const s = sum(exp(subtract(t, ms)), { axis: opts.axis ?? null, keepdims: true });
  const r = bind("add", {}, [log(s), ms]);
  const axes = normAxes("logsumexp", opts.axis, t.ndim, t.shape);
  return opts.keepdims
    ? r
    : reshape(
        r,
        t.shape.filter((_, i) => !axes.includes(i)),
      );
}

function argReduce(x: Tensor, opts: { axis?: number; keepdims?: boolean }, op: string): Tensor {
  let t = x;
  if (opts.axis === undefined) t = reshape(t, [-1]);
  const axis = normAxis(op, opts.axis ?? 0, t.ndim, t.shape);
  if (t.shape[axis] === 0) throw new ShapeError(`${op}: axis ${axis} of shape ${fmtShape(t.shape)} is empty`);
  const r = bind("argmax", { axis }, [t]);
  if (!opts.keepdims) return r;
  return reshape(r, opts.axis === undefined ? x.shape.map(() => 1) : t.shape.map((d, i) => (i === axis ? 1 : d)));
}

/**
 * Index of the maximum (first one on ties; `axis` undefined flattens).
 * @example
 * ```ts
 * import { argmax, tensor } from "tenfold";
 * console.log(argmax(tensor([[1, 9, 3], [7, 2, 8]]), { axis: 1 }).arraySync()); // [1, 2]
 * ```
 */
export function argmax(x: TensorLike, opts: { axis?: number; keepdims?: boolean } = {}): Tensor {
  const t = asTensor(x, "argmax");
  return argReduce(t.dtype === "bool" ? cast(t, "int32") : t, opts, "argmax");
}

/**
 * Index of the minimum.
 * @example
 * ```ts
 * import { argmin, tensor } from "tenfold";
 * console.log(argmin(tensor([3, 1, 2])).arraySync()); // 1
 * ```
 */
export function argmin(x: TensorLike, opts: { axis?: number; keepdims?: boolean } = {}): Tensor {
  let t = asTensor(x, "argmin");
  if (t.dtype === "bool") t = cast(t, "int32");
  // order-reversing map: -x for floats, ~x = -x - 1 (exact with int32 wraparound) for ints
  const rev = isFloat(t.dtype) ? negative(t) : bind("add", {}, [negative(t), broadcastTo_(constant(-1, "int32"), t.shape)]);
  return argReduce(rev, opts, "argmin");
}

/**
 * Cumulative sum (`axis` undefined flattens; `reverse` sums from the end).
 * @example
 * ```ts
 * import { cumsum, tensor } from "tenfold";
 * console.log(cumsum(tensor([1, 2, 3])).arraySync()); // [1, 3, 6]
 * ```
 */
export function cumsum(x: TensorLike, opts: { axis?: number; reverse?: boolean } = {}): Tensor {
  let t = asTensor(x, "cumsum");
  if (t.dtype === "bool") t = cast(t, "int32");
  if (opts.axis === undefined) t = reshape(t, [-1]);
  const axis = normAxis("cumsum", opts.axis ?? 0, t.ndim, t.shape);
  return bind("cumsum", { axis, reverse: opts.reverse ?? false }, [t]);
}

/**
 * Whether any element is true (nonzero). False over an empty axis.
 * @example
 * ```ts
 * import { any, tensor } from "tenfold";
 * console.log(any(tensor([false, true])).arraySync()); // true
 * ```
 */
export function any(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  const b = cast(cast(asTensor(x, "any"), "bool"), "int32");
  const s = sum(b, opts);
  return bind("lt", {}, [broadcastTo_(constant(0, "int32"), s.shape), s]);
}

/**
 * Whether all elements are true. True over an empty axis.
 * @example
 * ```ts
 * import { all, tensor } from "tenfold";
 * console.log(all(tensor([true, false])).arraySync()); // false
 * ```
 */
export function all(x: TensorLike, opts: ReduceOptions = {}): Tensor {
  const b = cast(cast(asTensor(x, "all"), "bool"), "int32");
  const notB = bind("add", {}, [broadcastTo_(constant(1, "int32"), b.shape), negative(b)]);
  const s = sum(notB, opts);
  return bind("eq", {}, [s, broadcastTo_(constant(0, "int32"), s.shape)]);
}
