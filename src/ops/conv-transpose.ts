/**
 * Transposed convolution, upsampling and global average pooling, composed from pad, reshape,
 * slice, flip, gather and `conv` (so gradients, jvp, vmap and every backend come from those
 * primitives' rules). `convTranspose` follows PyTorch's `ConvTranspose1d/2d` (weights
 * `[inC, outC, ...kernel]`); `upsample` follows PyTorch `interpolate` (`nearest`, and `bilinear`
 * with `align_corners=False`, which equals `jax.image.resize(..., "bilinear")` when upsampling).
 */
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor, requireFloat } from "./base.js";
import { conv } from "./conv.js";
import { tensor } from "./creation.js";
import { add, multiply, subtract } from "./elementwise.js";
import { mean } from "./reduce.js";
import { expandDims, flip, pad, permuteDims, reshape, slice, take } from "./shape.js";

function perDim(op: string, name: string, v: number | readonly number[] | undefined, n: number, dflt: number, min: number): number[] {
  if (v === undefined) return new Array<number>(n).fill(dflt);
  const arr = typeof v === "number" ? new Array<number>(n).fill(v) : [...v];
  if (arr.length !== n || arr.some((s) => !Number.isInteger(s) || s < min)) {
    throw new ShapeError(`${op}: ${name} must be ${n} integer(s) >= ${min}, got ${JSON.stringify(v)}`);
  }
  return arr;
}

/** Inserts `s - 1` zeros between neighbours along `axis` (length n -> (n-1)s+1). */
function dilateAxis(x: Tensor, axis: number, s: number): Tensor {
  if (s === 1) return x;
  const n = x.shape[axis]!;
  const e = expandDims(x, axis + 1);
  const widths = e.shape.map((_, i): [number, number] => (i === axis + 1 ? [0, s - 1] : [0, 0]));
  const merged = reshape(pad(e, widths), [...x.shape.slice(0, axis), n * s, ...x.shape.slice(axis + 1)]);
  return slice(
    merged,
    merged.shape.map(() => 0),
    merged.shape.map((d, i) => (i === axis ? (n - 1) * s + 1 : d)),
  );
}

/** Options of `convTranspose` (PyTorch's ConvTranspose names, per spatial dim or one number). */
export interface ConvTransposeOptions {
  /** Default 1. */
  readonly strides?: number | readonly number[];
  /** Implicit zero padding removed from both sides of the output (PyTorch `padding`); default 0. */
  readonly padding?: number | readonly number[];
  /** Extra size added to one side of the output (must be < stride or < dilation); default 0. */
  readonly outputPadding?: number | readonly number[];
  /** Kernel dilation; default 1. */
  readonly dilation?: number | readonly number[];
}

/**
 * Transposed convolution (the gradient of `conv` with respect to its input), PyTorch semantics:
 * `x` is `[N, inC, ...spatial]`, `w` is `[inC, outC, ...kernel]`, and each output size is
 * `(in - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1`. 1-D, 2-D and
 * n-D by rank. Built as a stride-1 `conv` of the zero-dilated input with the flipped kernel.
 * @example
 * ```ts
 * import { convTranspose, ones, tensor } from "tenfold";
 * const x = tensor([[[1, 2, 3]]]); // [1, 1, 3]
 * console.log(convTranspose(x, ones([1, 1, 2]), { strides: 2 }).arraySync()); // [[[1, 1, 2, 2, 3, 3]]]
 * ```
 */
export function convTranspose(x: TensorLike, w: TensorLike, options: ConvTransposeOptions = {}): Tensor {
  const xt = asTensor(x, "convTranspose");
  const wt = asTensor(w, "convTranspose");
  requireFloat("convTranspose", xt);
  requireFloat("convTranspose", wt);
  if (xt.ndim < 3 || wt.ndim !== xt.ndim) {
    throw new ShapeError(
      `convTranspose: expected x [N, C, ...spatial] and w [C, O, ...kernel] of equal rank >= 3, got ${fmtShape(xt.shape)} and ${fmtShape(wt.shape)}`,
    );
  }
  if (wt.shape[0] !== xt.shape[1]) {
    throw new ShapeError(
      `convTranspose: channel mismatch: x ${fmtShape(xt.shape)} has ${xt.shape[1]} channels, w ${fmtShape(wt.shape)} expects ${wt.shape[0]} (axis 0 of w)`,
    );
  }
  const nsp = xt.ndim - 2;
  const strides = perDim("convTranspose", "strides", options.strides, nsp, 1, 1);
  const dil = perDim("convTranspose", "dilation", options.dilation, nsp, 1, 1);
  const padding = perDim("convTranspose", "padding", options.padding, nsp, 0, 0);
  const outPad = perDim("convTranspose", "outputPadding", options.outputPadding, nsp, 0, 0);
  outPad.forEach((op, i) => {
    if (op >= Math.max(strides[i]!, dil[i]!))
      throw new ShapeError(`convTranspose: outputPadding ${op} must be smaller than the stride ${strides[i]} or the dilation ${dil[i]} (axis ${i + 2})`);
  });
  const k = wt.shape.slice(2);
  const outSizes = xt.shape.slice(2).map((n, i) => (n - 1) * strides[i]! - 2 * padding[i]! + dil[i]! * (k[i]! - 1) + outPad[i]! + 1);
  if (outSizes.some((o) => o <= 0)) throw new ShapeError(`convTranspose: padding ${fmtShape(padding)} leaves no output for input ${fmtShape(xt.shape)}`);
  let xd = xt;
  for (let i = 0; i < nsp; i++) xd = dilateAxis(xd, i + 2, strides[i]!);
  const lo = k.map((kk, i) => dil[i]! * (kk - 1) - padding[i]!);
  const hi = lo.map((l, i) => l + outPad[i]!);
  const wf = flip(permuteDims(wt, [1, 0, ...k.map((_, i) => i + 2)]), { axis: k.map((_, i) => i + 2) });
  const y = conv(xd, wf, { padding: lo.map((l, i): [number, number] => [Math.max(l, 0), Math.max(hi[i]!, 0)]), dilation: dil });
  // Negative padding crops the output.
  const starts = [0, 0, ...lo.map((l) => Math.max(-l, 0))];
  const ends = [y.shape[0]!, y.shape[1]!, ...hi.map((h, i) => y.shape[i + 2]! - Math.max(-h, 0))];
  return starts.some((s) => s > 0) || ends.some((e, i) => e !== y.shape[i]) ? slice(y, starts, ends) : y;
}

/** Options of `upsample`. */
export interface UpsampleOptions {
  /** "nearest" (default) or "bilinear" (linear per spatial axis: also 1-D and 3-D). */
  readonly method?: "nearest" | "bilinear";
  /** Output spatial sizes instead of a scale factor. */
  readonly size?: readonly number[];
}

function checkScale(scale: number | readonly number[] | undefined, nsp: number): number[] {
  const arr = scale === undefined ? [] : typeof scale === "number" ? new Array<number>(nsp).fill(scale) : [...scale];
  if (arr.length !== nsp || arr.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new ShapeError(`upsample: scale must be a positive number or ${nsp} positive numbers, got ${JSON.stringify(scale)}`);
  }
  return arr;
}

/**
 * Resizes the spatial axes of `[N, C, ...spatial]` by `scale` (or to `options.size`), PyTorch
 * `interpolate` semantics: "nearest" picks source `floor(o * in / out)`; "bilinear" is
 * `align_corners=False` (half-pixel centres `(o + 0.5) * in / out - 0.5`, clamped at the edges),
 * which equals `jax.image.resize(x, shape, "bilinear")` when upsampling (JAX antialiases when
 * downsampling; this does not). Composed of gathers and a weighted sum per axis.
 * @example
 * ```ts
 * import { upsample, tensor } from "tenfold";
 * const x = tensor([[[1, 2]]]);
 * console.log(upsample(x, 2).arraySync()); // [[[1, 1, 2, 2]]]
 * console.log(upsample(x, 2, { method: "bilinear" }).arraySync()); // [[[1, 1.25, 1.75, 2]]]
 * ```
 */
export function upsample(x: TensorLike, scale: number | readonly number[] | undefined, options: UpsampleOptions = {}): Tensor {
  let t = asTensor(x, "upsample");
  if (t.ndim < 3) throw new ShapeError(`upsample: expected x [N, C, ...spatial], got ${fmtShape(t.shape)}`);
  const nsp = t.ndim - 2;
  const method = options.method ?? "nearest";
  if (method !== "nearest" && method !== "bilinear") throw new ShapeError(`upsample: method must be "nearest" or "bilinear", got ${JSON.stringify(method)}`);
  const inSp = t.shape.slice(2);
  let out: number[];
  if (options.size !== undefined) {
    out = [...options.size];
    if (out.length !== nsp || out.some((o) => !Number.isInteger(o) || o < 1))
      throw new ShapeError(`upsample: size must be ${nsp} positive integers, got ${JSON.stringify(options.size)}`);
  } else {
    out = checkScale(scale, nsp).map((s, i) => Math.floor(inSp[i]! * s));
  }
  if (method === "bilinear") requireFloat("upsample", t);
  for (let i = 0; i < nsp; i++) {
    const axis = i + 2;
    const [n, m] = [inSp[i]!, out[i]!];
    if (n === m) continue;
    if (method === "nearest") {
      const idx = Int32Array.from({ length: m }, (_, o) => Math.min(Math.floor((o * n) / m), n - 1));
      t = take(t, tensor(idx, { shape: [m], dtype: "int32" }), { axis });
      continue;
    }
    const i0 = new Int32Array(m);
    const i1 = new Int32Array(m);
    const wt = new Float32Array(m);
    for (let o = 0; o < m; o++) {
      const src = Math.max(((o + 0.5) * n) / m - 0.5, 0);
      const f = Math.min(Math.floor(src), n - 1);
      i0[o] = f;
      i1[o] = Math.min(f + 1, n - 1);
      wt[o] = src - f;
    }
    const wshape = [m, ...new Array<number>(nsp - 1 - i).fill(1)];
    const w1 = tensor(wt, { shape: wshape });
    const a = take(t, tensor(i0, { shape: [m], dtype: "int32" }), { axis });
    const b = take(t, tensor(i1, { shape: [m], dtype: "int32" }), { axis });
    t = add(a, multiply(subtract(b, a), w1));
  }
  return t;
}

/**
 * Global average pooling: the mean over every spatial axis of `[N, C, ...spatial]`, giving
 * `[N, C]` (or `[N, C, 1, ...]` with `keepdims`).
 * @example
 * ```ts
 * import { globalAvgPool, reshape, arange } from "tenfold";
 * console.log(globalAvgPool(reshape(arange(8), [1, 2, 2, 2])).arraySync()); // [[1.5, 5.5]]
 * ```
 */
export function globalAvgPool(x: TensorLike, options: { keepdims?: boolean } = {}): Tensor {
  const t = asTensor(x, "globalAvgPool");
  if (t.ndim < 3) throw new ShapeError(`globalAvgPool: expected x [N, C, ...spatial], got ${fmtShape(t.shape)}`);
  return mean(t, { axis: t.shape.slice(2).map((_, i) => i + 2), keepdims: options.keepdims ?? false });
}
