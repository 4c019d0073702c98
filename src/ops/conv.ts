/**
 * Convolution (the `conv` primitive: see ops/conv-general.ts for its lowering and rules) and
 * pooling, composed from pad, strided slices and reductions: their gradients, batching and
 * higher derivatives follow from those primitives' rules.
 */
import { DTypeError, ShapeError, fmtShape } from "../core/errors.js";
import { sizeOf } from "../core/shape.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor, bind, broadcastTo_, cast, constant, resultDType } from "./base.js";
import { divide } from "./elementwise.js";
import { sum } from "./reduce.js";
import { pad, reshape } from "./shape.js";
import { convPrim, windows } from "./conv-general.js";
import { isFloat } from "../core/dtype.js";

/** Padding spec: "SAME", "VALID", or `[lo, hi]` per spatial dim (or one number for all sides). */
export type Padding = "SAME" | "VALID" | number | readonly (readonly [number, number])[] | readonly number[];

function perDim(op: string, name: string, v: number | readonly number[] | undefined, n: number, dflt: number): number[] {
  if (v === undefined) return new Array<number>(n).fill(dflt);
  const arr = typeof v === "number" ? new Array<number>(n).fill(v) : [...v];
  if (arr.length !== n || arr.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new ShapeError(`${op}: ${name} must be ${n} positive integer(s), got ${JSON.stringify(v)}`);
  }
  return arr;
}

/** Resolves padding to `[lo, hi]` pairs, JAX style ("SAME": out = ceil(in / stride)). */
export function resolvePadding(op: string, padding: Padding, inSizes: number[], kEff: number[], strides: number[]): [number, number][] {
  const n = inSizes.length;
  if (padding === "VALID") return inSizes.map(() => [0, 0]);
  if (padding === "SAME") {
    return inSizes.map((s, i) => {
      const out = Math.ceil(s / strides[i]!);
      const total = Math.max((out - 1) * strides[i]! + kEff[i]! - s, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  }
  if (typeof padding === "number") return inSizes.map(() => [padding, padding]);
  if (!Array.isArray(padding) || padding.length !== n) {
    throw new ShapeError(`${op}: padding must be "SAME", "VALID", a number, or ${n} [lo, hi] pairs, got ${JSON.stringify(padding)}`);
  }
  const pairs = padding.map((p): [number, number] => (typeof p === "number" ? [p, p] : [p[0]!, p[1]!]));
  for (const [lo, hi] of pairs)
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < 0) {
      throw new ShapeError(`${op}: bad padding ${JSON.stringify(padding)} (non-negative integers expected)`);
    }
  return pairs;
}

/** Options of `conv`. */
export interface ConvOptions {
  readonly strides?: number | readonly number[];
  readonly padding?: Padding;
  /** Kernel (rhs) dilation. */
  readonly dilation?: number | readonly number[];
  readonly groups?: number;
}

/**
 * N-D convolution (cross-correlation, as in JAX/PyTorch) with NCHW input and OIHW weights; the
 * rank picks 1-D, 2-D or 3-D. Padding "VALID" by default.
 * @example
 * ```ts
 * import { conv, ones } from "tenfold";
 * const y = conv(ones([1, 1, 4, 4]), ones([2, 1, 3, 3]), { padding: "SAME" });
 * console.log(y.shape); // [1, 2, 4, 4]
 * ```
 */
export function conv(x: TensorLike, w: TensorLike, options: ConvOptions = {}): Tensor {
  const d = resultDType([x, w]);
  if (!isFloat(d)) throw new DTypeError(`conv: expected float operands, got ${asTensor(x).dtype} and ${asTensor(w).dtype}`);
  const xt = cast(asTensor(x, "conv"), d);
  const wt = cast(asTensor(w, "conv"), d);
  if (xt.ndim < 3 || wt.ndim !== xt.ndim) {
    throw new ShapeError(
      `conv: input ${fmtShape(xt.shape)} must be [N, C, ...spatial] and weights ${fmtShape(wt.shape)} [O, C/groups, ...kernel] of the same rank`,
    );
  }
  const nsp = xt.ndim - 2;
  const groups = options.groups ?? 1;
  const [N, C] = [xt.shape[0]!, xt.shape[1]!];
  const [O, Cg] = [wt.shape[0]!, wt.shape[1]!];
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0) {
    throw new ShapeError(`conv: groups=${groups} must divide input channels ${C} and output channels ${O}`);
  }
  if (Cg * groups !== C) {
    throw new ShapeError(
      `conv: channel mismatch: input ${fmtShape(xt.shape)} has ${C} channels, weights ${fmtShape(wt.shape)} expect ${Cg * groups} (${Cg} per group × ${groups} groups)`,
    );
  }
  const k = wt.shape.slice(2);
  const strides = perDim("conv", "strides", options.strides, nsp, 1);
  const dil = perDim("conv", "dilation", options.dilation, nsp, 1);
  const kEff = k.map((v, i) => (v - 1) * dil[i]! + 1);
  const inSp = xt.shape.slice(2);
  const pads = resolvePadding("conv", options.padding ?? "VALID", inSp, kEff, strides);
  const out = inSp.map((s, i) => Math.floor((s + pads[i]![0] + pads[i]![1] - kEff[i]!) / strides[i]!) + 1);
  if (inSp.includes(0) || N === 0 || O === 0) {
    // an empty input (or batch, or set of filters) gives an empty output, as lax.conv_general_dilated
    return broadcastTo_(constant(0, d), [N, O, ...out.map((o, i) => (inSp[i] === 0 ? 0 : Math.max(o, 0)))]);
  }
  if (out.some((o) => o <= 0))
    throw new ShapeError(`conv: kernel ${fmtShape(k)} (dilation ${fmtShape(dil)}) is larger than the padded input ${fmtShape(inSp)}`);
  return convPrim(xt, wt, { strides, padding: pads, lhsDilation: strides.map(() => 1), rhsDilation: dil, groups });
}

/** Options of the pooling ops. */
export interface PoolOptions {
  /** Defaults to the window (non-overlapping windows). */
  readonly strides?: number | readonly number[];
  /** "VALID" by default. */
  readonly padding?: Padding;
}

/** The checked geometry of a pooling op: window, strides and padding per pooled axis. */
function poolGeometry(
  op: string,
  x: TensorLike,
  window: number | readonly number[],
  options: PoolOptions,
): { xt: Tensor; win: number[]; strides: number[]; pads: [number, number][]; inSp: number[]; out: number[]; lead: number } {
  const xt = asTensor(x, op);
  const win = typeof window === "number" ? new Array<number>(Math.max(1, xt.ndim - 2)).fill(window) : [...window];
  const nsp = win.length;
  if (nsp > xt.ndim || win.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new ShapeError(`${op}: window ${JSON.stringify(window)} does not fit input ${fmtShape(xt.shape)} (pooling runs over the last ${nsp} axes)`);
  }
  const strides = perDim(op, "strides", options.strides, nsp, 0).map((s, i) => (options.strides === undefined ? win[i]! : s));
  const inSp = xt.shape.slice(xt.ndim - nsp);
  const pads = resolvePadding(op, options.padding ?? "VALID", inSp, win, strides);
  const out = inSp.map((s, i) => Math.floor((s + pads[i]![0] + pads[i]![1] - win[i]!) / strides[i]!) + 1);
  const lead = xt.ndim - nsp;
  if (!inSp.includes(0) && out.some((o) => o <= 0)) throw new ShapeError(`${op}: window ${fmtShape(win)} is larger than the padded input ${fmtShape(inSp)}`);
  return { xt, win, strides, pads, inSp, out, lead };
}

/** An empty pooled output: an input with a zero-size pooled axis (as lax.reduce_window). */
function emptyPool(g: ReturnType<typeof poolGeometry>): Tensor {
  const shape = [...g.xt.shape.slice(0, g.lead), ...g.out.map((o, i) => (g.inSp[i] === 0 ? 0 : Math.max(o, 0)))];
  return broadcastTo_(constant(0, g.xt.dtype), shape);
}

/**
 * The values each pooling window reduces over, as `x` reduced over `axes`: for non-overlapping,
 * unpadded windows that tile the input exactly, the input itself reshaped so that each window
 * is a pair of axes (`[..., H/2, 2, W/2, 2]`: no copy, one reduce kernel, and a gradient that
 * stays at the input's size); else the windows stacked on a new leading axis.
 */
function pool(
  op: string,
  x: TensorLike,
  window: number | readonly number[],
  options: PoolOptions,
  padValue: number,
): { win: Tensor; axes: number[]; count: number } {
  const g = poolGeometry(op, x, window, options);
  const { xt, win, strides, pads, inSp, out, lead } = g;
  if (inSp.includes(0)) {
    const e = emptyPool(g);
    return { win: reshape(e, [...e.shape, 1]), axes: [e.ndim], count: 1 };
  }
  const count = sizeOf(win);
  if (pads.every(([lo, hi]) => lo === 0 && hi === 0) && win.every((w, i) => strides[i] === w && inSp[i]! % w === 0)) {
    const tiled = reshape(xt, [...xt.shape.slice(0, lead), ...out.flatMap((o, i) => [o, win[i]!])]);
    return { win: tiled, axes: win.map((_, i) => lead + 2 * i + 1), count };
  }
  const xp = pad(xt, [...new Array<[number, number]>(lead).fill([0, 0]), ...pads], { value: padValue });
  return {
    win: windows(
      xp,
      win.length,
      win,
      strides,
      win.map(() => 1),
      out,
    ),
    axes: [0],
    count,
  };
}

/**
 * Max pooling over the last `window.length` axes (NCHW: pass a 2-entry window). Strides
 * default to the window; padding "VALID" by default ("SAME" pads with -Infinity). A NaN in a
 * window gives NaN. The gradient (and tangent) of each window goes to one position, as JAX's
 * `select_and_scatter_add` with `ge`: its first maximum (ties: the first), or with NaNs the
 * first maximum after the last NaN (see core/pool.ts). One primitive (`maxPool`), run whole by
 * the CPU backend and lowered to reductions and selects elsewhere.
 * @example
 * ```ts
 * import { maxPool, arange, reshape } from "tenfold";
 * const x = reshape(arange(16), [1, 1, 4, 4]);
 * console.log(maxPool(x, [2, 2]).arraySync()); // [[[[5, 7], [13, 15]]]]
 * ```
 */
export function maxPool(x: TensorLike, window: number | readonly number[], options: PoolOptions = {}): Tensor {
  const g = poolGeometry("maxPool", x, window, options);
  if (g.inSp.includes(0)) return emptyPool(g);
  return bind("maxPool", { window: g.win, strides: g.strides, padding: g.pads }, [g.xt]);
}

/**
 * Average pooling (padding counts toward the window size, as flax's default).
 * @example
 * ```ts
 * import { avgPool, arange, reshape } from "tenfold";
 * const x = reshape(arange(16), [1, 1, 4, 4]);
 * console.log(avgPool(x, [2, 2]).arraySync()); // [[[[2.5, 4.5], [10.5, 12.5]]]]
 * ```
 */
export function avgPool(x: TensorLike, window: number | readonly number[], options: PoolOptions = {}): Tensor {
  const { win, axes, count } = pool("avgPool", x, window, options, 0);
  return divide(sum(win, { axis: axes }), count);
}
