/**
 * The `conv` primitive's definition in core: its parameters' output shape (shape inference)
 * and its reference evaluation (the interpreter and constant folding), NCHW input, OIHW weights,
 * as XLA's ConvGeneralDilated with feature groups.
 */
import { ShapeError, fmtShape } from "./errors.js";
import type { DType, TypedArray } from "./dtype.js";
import { allocArray } from "./dtype.js";
import type { Shape } from "./shape.js";
import { sizeOf } from "./shape.js";

/** Parameters of the `conv` primitive (one entry per spatial dimension). */
export interface ConvParams {
  /** Window strides (>= 1). */
  readonly strides: readonly number[];
  /** `[lo, hi]` zeros added to the (dilated) input; negative values crop. */
  readonly padding: readonly (readonly [number, number])[];
  /** Input (lhs) dilation: `d - 1` zeros between neighbours (transposed convolutions). */
  readonly lhsDilation: readonly number[];
  /** Kernel (rhs) dilation. */
  readonly rhsDilation: readonly number[];
  /** Feature groups: input channels and output channels split into this many groups. */
  readonly groups: number;
}

/** The spatial output sizes of a conv of spatial input `inSp` with kernel `k` (never negative). */
export function convOutSizes(p: ConvParams, inSp: readonly number[], k: readonly number[]): number[] {
  return inSp.map((s, i) => {
    const dil = s === 0 ? 0 : (s - 1) * p.lhsDilation[i]! + 1;
    const padded = dil + p.padding[i]![0] + p.padding[i]![1];
    const kEff = (k[i]! - 1) * p.rhsDilation[i]! + 1;
    return s === 0 || padded < kEff ? 0 : Math.floor((padded - kEff) / p.strides[i]!) + 1;
  });
}

/** The output shape of `conv` (x [N, C, ...sp], w [O, C/groups, ...k]); throws on mismatch. */
export function convShape(p: ConvParams, x: Shape, w: Shape): Shape {
  const nsp = x.length - 2;
  const ok =
    nsp >= 1 &&
    w.length === x.length &&
    [p.strides, p.padding, p.lhsDilation, p.rhsDilation].every((v) => v.length === nsp) &&
    Number.isInteger(p.groups) &&
    p.groups >= 1 &&
    w[1]! * p.groups === x[1] &&
    w[0]! % p.groups === 0;
  if (!ok) throw new ShapeError(`conv: incompatible input ${fmtShape(x)} and weights ${fmtShape(w)} (groups ${p.groups})`);
  return [x[0]!, w[0]!, ...convOutSizes(p, x.slice(2), w.slice(2))];
}

/** Reference evaluation: sums in float64 (in the output's element order), stored in `dtype`. */
export function convEval(p: ConvParams, xs: Shape, ws: Shape, x: TypedArray, w: TypedArray, dtype: DType): TypedArray {
  const ys = convShape(p, xs, ws);
  const out = allocArray(dtype, sizeOf(ys));
  const nsp = xs.length - 2;
  const [N, C] = [xs[0]!, xs[1]!];
  const [O, Cg] = [ws[0]!, ws[1]!];
  const Og = O / p.groups;
  const inSp = xs.slice(2);
  const k = ws.slice(2);
  const outSp = ys.slice(2);
  const K = sizeOf(k);
  const P = sizeOf(outSp);
  const I = sizeOf(inSp);
  // Per (output position, kernel tap): the input's flat spatial index, or -1 (a zero).
  const src = new Int32Array(P * K);
  const oi = new Array<number>(nsp).fill(0);
  for (let q = 0; q < P; q++) {
    let r = q;
    for (let d = nsp - 1; d >= 0; d--) {
      oi[d] = r % outSp[d]!;
      r = Math.floor(r / outSp[d]!);
    }
    for (let t = 0; t < K; t++) {
      let rt = t;
      let flat = 0;
      let valid = true;
      for (let d = nsp - 1, mul = 1; d >= 0; d--) {
        const kt = rt % k[d]!;
        rt = Math.floor(rt / k[d]!);
        // position in the padded, dilated input, then back to the input
        const pos = oi[d]! * p.strides[d]! + kt * p.rhsDilation[d]! - p.padding[d]![0];
        const ld = p.lhsDilation[d]!;
        if (pos < 0 || pos % ld !== 0 || pos / ld >= inSp[d]!) valid = false;
        flat += (pos / ld) * mul;
        mul *= inSp[d]!;
      }
      src[q * K + t] = valid ? flat : -1;
    }
  }
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let q = 0; q < P; q++) {
        let acc = 0;
        for (let c = 0; c < Cg; c++) {
          const xb = (n * C + g * Cg + c) * I;
          const wb = (o * Cg + c) * K;
          for (let t = 0; t < K; t++) {
            // a tap outside the input reads a zero: 0 · w (NaN for an infinite w, as XLA)
            const s = src[q * K + t]!;
            acc += (s >= 0 ? x[xb + s]! : 0) * w[wb + t]!;
          }
        }
        out[(n * O + o) * P + q] = acc;
      }
    }
  }
  return out;
}
