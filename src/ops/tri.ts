/**
 * Triangular masks and cumulative scans beyond `cumsum`: `tril`, `triu`, `cumprod`, `cummax`,
 * `cummin`. The scans use log-step doubling (Hillis–Steele: ⌈log2 n⌉ rounds of a shifted
 * combine built from pad and slice), so each is ⌈log2 n⌉ fused elementwise passes, and the
 * gradients come from `multiply`/`maximum`'s rules (for `cumprod` exact also with zeros).
 */
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor } from "./base.js";
import { iota, zerosLike } from "./creation.js";
import { add, greaterEqual, lessEqual, maximum, minimum, multiply, where } from "./elementwise.js";
import { pad, reshape, slice } from "./shape.js";

function triMask(op: string, x: Tensor, k: number, lower: boolean): Tensor {
  if (x.ndim < 2) throw new ShapeError(`${op}: expected a tensor of rank >= 2, got ${fmtShape(x.shape)}`);
  if (!Number.isInteger(k)) throw new ShapeError(`${op}: k must be an integer, got ${k}`);
  const [m, n] = [x.shape[x.ndim - 2]!, x.shape[x.ndim - 1]!];
  const row = iota([m, n], 0);
  const col = iota([m, n], 1);
  return lower ? lessEqual(col, add(row, k)) : greaterEqual(col, add(row, k));
}

/**
 * The lower triangle of the last two axes: entries with `col <= row + k` kept, others zero
 * (`jnp.tril`).
 * @example
 * ```ts
 * import { tril, ones } from "tenfold";
 * console.log(tril(ones([2, 3])).arraySync()); // [[1, 0, 0], [1, 1, 0]]
 * ```
 */
export function tril(x: TensorLike, options: { k?: number } = {}): Tensor {
  const t = asTensor(x, "tril");
  return where(triMask("tril", t, options.k ?? 0, true), t, zerosLike(t));
}

/**
 * The upper triangle of the last two axes: entries with `col >= row + k` kept (`jnp.triu`).
 * @example
 * ```ts
 * import { triu, ones } from "tenfold";
 * console.log(triu(ones([3, 2]), { k: 1 }).arraySync()); // [[0, 1], [0, 0], [0, 0]]
 * ```
 */
export function triu(x: TensorLike, options: { k?: number } = {}): Tensor {
  const t = asTensor(x, "triu");
  return where(triMask("triu", t, options.k ?? 0, false), t, zerosLike(t));
}

/** Options of the cumulative scans. */
export interface CumOptions {
  /** Axis to scan; omitted, the flattened input is scanned (as `jnp.cumsum`). */
  readonly axis?: number;
  /** Scan from the end. */
  readonly reverse?: boolean;
}

function scanDoubling(op: string, x: TensorLike, options: CumOptions, combine: (a: Tensor, b: Tensor) => Tensor, identity: number): Tensor {
  let t = asTensor(x, op);
  if (options.axis === undefined) t = reshape(t, [-1]);
  const a0 = options.axis ?? 0;
  const axis = a0 < 0 ? a0 + t.ndim : a0;
  if (!Number.isInteger(axis) || axis < 0 || axis >= t.ndim) throw new ShapeError(`${op}: axis ${a0} is out of range for ${fmtShape(t.shape)}`);
  const n = t.shape[axis]!;
  const rev = options.reverse ?? false;
  let y = t;
  for (let s = 1; s < n; s *= 2) {
    // shifted[i] = y[i - s] (identity before the start), or y[i + s] when reversed
    const widths = t.shape.map((_, i): [number, number] => (i === axis ? (rev ? [0, s] : [s, 0]) : [0, 0]));
    const fill = t.dtype === "int32" && !Number.isFinite(identity) ? (identity > 0 ? 2147483647 : -2147483648) : identity;
    const padded = pad(y, widths, { value: fill });
    const starts = t.shape.map((_, i) => (i === axis && rev ? s : 0));
    const ends = t.shape.map((d, i) => (i === axis && rev ? d + s : d));
    y = combine(y, slice(padded, starts, ends));
  }
  return y;
}

/**
 * Cumulative product along `axis` (the flattened input by default), as `jnp.cumprod`; `reverse` scans from the end.
 * @example
 * ```ts
 * import { cumprod, tensor } from "tenfold";
 * console.log(cumprod(tensor([1, 2, 3, 4])).arraySync()); // [1, 2, 6, 24]
 * ```
 */
export function cumprod(x: TensorLike, options: CumOptions = {}): Tensor {
  return scanDoubling("cumprod", x, options, multiply, 1);
}

/**
 * Running maximum along `axis` (the flattened input by default), as `lax.cummax`.
 * @example
 * ```ts
 * import { cummax, tensor } from "tenfold";
 * console.log(cummax(tensor([1, 3, 2, 5, 4])).arraySync()); // [1, 3, 3, 5, 5]
 * ```
 */
export function cummax(x: TensorLike, options: CumOptions = {}): Tensor {
  return scanDoubling("cummax", x, options, maximum, -Infinity);
}

/**
 * Running minimum along `axis` (the flattened input by default), as `lax.cummin`.
 * @example
 * ```ts
 * import { cummin, tensor } from "tenfold";
 * console.log(cummin(tensor([3, 1, 2, 0])).arraySync()); // [3, 1, 1, 0]
 * ```
 */
export function cummin(x: TensorLike, options: CumOptions = {}): Tensor {
  return scanDoubling("cummin", x, options, minimum, Infinity);
}
