/**
 * The max-pooling primitives' definition in core, as XLA's reduce_window (max) and its
 * select_and_gather_add / select_and_scatter_add with the `ge` selector (what `jax.grad` of a
 * max pool builds): shape inference and the reference evaluation, which the CPU backend also runs
 * as its kernel. Other backends run the composite lowering (ops/pool.ts).
 *
 * Windows cover the last `window.length` axes; padding positions hold the dtype's lowest value
 * (−Inf for floats). Each window's value is its maximum (NaN when it holds a NaN). Each window
 * also *selects* one position, by a fold in row-major window order that starts at the first
 * position and moves to position k unless `current >= value[k]`: the first maximum when the
 * window has no NaN; with NaNs, the first maximum after the last NaN (the last NaN itself when
 * it ends the window). A selected padding position selects nothing. Tangents and gradients go to
 * the selected position only (maxPoolGather reads it, maxPoolScatter adds into it).
 */
import { DTypeError, ShapeError, fmtShape } from "./errors.js";
import type { DType, TypedArray } from "./dtype.js";
import { allocArray } from "./dtype.js";
import type { Shape } from "./shape.js";
import { sizeOf } from "./shape.js";

/** Parameters of the max-pooling primitives (one entry per pooled axis, the last axes). */
export interface PoolParams {
  /** Window size per pooled axis (>= 1). */
  readonly window: readonly number[];
  /** Window strides (>= 1). */
  readonly strides: readonly number[];
  /** `[lo, hi]` padding (>= 0) per pooled axis. */
  readonly padding: readonly (readonly [number, number])[];
}

/** The value padding positions hold for dtype `d` (the identity of max). */
export function poolPadValue(d: DType): number {
  return d === "int32" ? -2147483648 : d === "bool" ? 0 : -Infinity;
}

/** The output shape of a pool of input shape `x` (throws when a window does not fit). */
export function poolShape(p: PoolParams, x: Shape): Shape {
  const n = p.window.length;
  const ok =
    n >= 1 &&
    n <= x.length &&
    p.strides.length === n &&
    p.padding.length === n &&
    p.window.every((w) => Number.isInteger(w) && w >= 1) &&
    p.strides.every((s) => Number.isInteger(s) && s >= 1) &&
    p.padding.every(([lo, hi]) => Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && hi >= 0);
  if (!ok) throw new ShapeError(`maxPool: bad window ${fmtShape(p.window)} / strides ${fmtShape(p.strides)} / padding for input ${fmtShape(x)}`);
  const lead = x.length - n;
  const out = x.slice(lead).map((s, i) => {
    const padded = s + p.padding[i]![0] + p.padding[i]![1];
    if (padded < p.window[i]!) throw new ShapeError(`maxPool: window ${fmtShape(p.window)} is larger than the padded input ${fmtShape(x.slice(lead))}`);
    return Math.floor((padded - p.window[i]!) / p.strides[i]!) + 1;
  });
  return [...x.slice(0, lead), ...out];
}

/** Checks the operand pair of maxPoolGather / maxPoolScatter; returns the pooled shape. */
export function poolPairShape(
  op: string,
  p: PoolParams,
  v: { shape: Shape; dtype: DType },
  x: { shape: Shape; dtype: DType },
  vShape: "input" | "output",
): Shape {
  const out = poolShape(p, x.shape);
  const want = vShape === "input" ? x.shape : out;
  if (v.shape.length !== want.length || v.shape.some((d, i) => d !== want[i]))
    throw new ShapeError(`${op}: operand of shape ${fmtShape(v.shape)} does not match ${fmtShape(want)} (operand shape ${fmtShape(x.shape)})`);
  if (v.dtype !== "float32" && v.dtype !== "float16") throw new DTypeError(`${op}: values must be float, got ${v.dtype}`);
  return out;
}

/**
 * The window geometry of a pool over input shape `xs`: `lead` (product of the unpooled axes),
 * the input and output sizes of one pooled slab (`inner`, `outer`), the window size `k`, and
 * `off[q·k + j]`: the slab offset of window position j of output position q (−1 for padding).
 */
export function poolTable(p: PoolParams, xs: Shape): { lead: number; inner: number; outer: number; k: number; off: Int32Array } {
  const n = p.window.length;
  const sp = xs.slice(xs.length - n);
  const out = poolShape(p, xs).slice(xs.length - n);
  const k = sizeOf(p.window);
  const outer = sizeOf(out);
  const inner = sizeOf(sp);
  const off = new Int32Array(outer * k);
  const o = new Array<number>(n).fill(0);
  const w = new Array<number>(n).fill(0);
  for (let q = 0; q < outer; q++) {
    w.fill(0);
    for (let j = 0; j < k; j++) {
      let at = 0;
      for (let d = 0; d < n; d++) {
        const c = o[d]! * p.strides[d]! - p.padding[d]![0] + w[d]!;
        if (c < 0 || c >= sp[d]!) {
          at = -1;
          break;
        }
        at = at * sp[d]! + c;
      }
      off[q * k + j] = at;
      for (let d = n - 1; d >= 0 && ++w[d]! === p.window[d]!; d--) w[d] = 0;
    }
    for (let d = n - 1; d >= 0 && ++o[d]! === out[d]!; d--) o[d] = 0;
  }
  return { lead: sizeOf(xs.slice(0, xs.length - n)), inner, outer, k, off };
}

/**
 * For each window (lead-major, then output position), the flat input index of its selected
 * position, or −1 when that is padding; and, when `values` is given, each window's maximum.
 */
export function poolSelect(p: PoolParams, xs: Shape, x: TypedArray, pad: number, values?: TypedArray): Int32Array {
  const { lead, inner, outer, k, off } = poolTable(p, xs);
  const sel = new Int32Array(lead * outer);
  for (let l = 0; l < lead; l++) {
    const base = l * inner;
    for (let q = 0; q < outer; q++) {
      const row = q * k;
      let o = off[row]!;
      let s = o < 0 ? -1 : base + o;
      let cur = o < 0 ? pad : x[base + o]!;
      let m = cur;
      for (let j = 1; j < k; j++) {
        o = off[row + j]!;
        const v = o < 0 ? pad : x[base + o]!;
        if (!(cur >= v)) {
          cur = v;
          s = o < 0 ? -1 : base + o;
        }
        if (v > m || v !== v) m = m !== m ? m : v;
      }
      sel[l * outer + q] = s;
      if (values) values[l * outer + q] = m;
    }
  }
  return sel;
}

/** Reference `maxPool`: each window's maximum (NaN when it holds one). */
export function maxPoolEval(p: PoolParams, xs: Shape, x: TypedArray, dtype: DType): TypedArray {
  const out = allocArray(dtype, sizeOf(poolShape(p, xs)));
  poolSelect(p, xs, x, poolPadValue(dtype), out);
  return out;
}

/** Reference `maxPoolGather(t, x)`: t at each window's selected position of x (0 for padding). */
export function maxPoolGatherEval(p: PoolParams, xs: Shape, t: TypedArray, x: TypedArray, xDtype: DType, dtype: DType): TypedArray {
  const sel = poolSelect(p, xs, x, poolPadValue(xDtype));
  const out = allocArray(dtype, sel.length);
  for (let i = 0; i < sel.length; i++) out[i] = sel[i]! < 0 ? 0 : t[sel[i]!]!;
  return out;
}

/**
 * Reference `maxPoolScatter(g, x)`: zeros of x's shape with each window's g added at its selected
 * position (sums of overlapping windows in float64, rounded once).
 */
export function maxPoolScatterEval(p: PoolParams, xs: Shape, g: TypedArray, x: TypedArray, xDtype: DType, dtype: DType): TypedArray {
  const sel = poolSelect(p, xs, x, poolPadValue(xDtype));
  const acc = new Float64Array(sizeOf(xs));
  for (let i = 0; i < sel.length; i++) {
    const s = sel[i]!;
    if (s >= 0) acc[s] = acc[s]! + g[i]!;
  }
  const out = allocArray(dtype, acc.length);
  out.set(acc);
  return out;
}
