/**
 * Transpose rules of the linear primitives: given the cotangent of the output, the cotangents of
 * the linear operands (null where an operand is not linear). Non-linear operands appear as
 * constants.
 */
import { condTransposeRules } from "./cond-rules.js";
import type { Node } from "../core/node.js";
import type { CallPrim, Primitive } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import { bind, broadcastTo_, cast } from "../ops/base.js";
import { divide, multiply, negative, where } from "../ops/elementwise.js";
import { sum } from "../ops/reduce.js";
import { matrixTranspose, permuteDims, reshape } from "../ops/shape.js";
import { callTransposeRules } from "./call-rules.js";
import { convTranspose_ } from "../ops/conv-general.js";

/** A transpose rule: the output cotangent, the node, which operands are linear. */
export type TransposeRule<P extends Primitive> = (ct: Tensor, node: Node<P>, linear: readonly boolean[]) => (Tensor | null)[];

/**
 * The transpose rule of a call (multi-output) primitive, applied once per call node: the
 * cotangents of every output (null = zero), the node, which operands are linear.
 */
export type CallTransposeRule<P extends CallPrim> = (cts: readonly (Tensor | null)[], node: Node<P>, linear: readonly boolean[]) => (Tensor | null)[];

/** The transpose of `proj`: the cotangent of output `index` as a cotangent of the call (one entry per output). */
export type ProjTransposeRule = (ct: Tensor, node: Node<"proj">) => (Tensor | null)[];

/** The transpose table's entry for primitive P. */
export type TransposeEntry<P extends Primitive> = P extends CallPrim ? CallTransposeRule<P> : P extends "proj" ? ProjTransposeRule : TransposeRule<P>;

const notLinear =
  (prim: string): TransposeRule<Primitive> & CallTransposeRule<CallPrim> =>
  () => {
    throw new Error(`internal: primitive "${prim}" appeared in a linear position during transposition`);
  };

const c = (n: Node): Tensor => new Tensor(n);

/** Cotangent of `broadcast`: sum over the expanded axes. */
export function unbroadcast(ct: Tensor, shape: readonly number[]): Tensor {
  const axes = shape.flatMap((d, i) => (d === 1 && ct.shape[i] !== 1 ? [i] : []));
  return axes.length ? reshape(sum(ct, { axis: axes }), shape) : ct;
}

function sliceT(ct: Tensor, node: Node<"slice">): Tensor {
  const inShape = node.inputs[0]!.shape;
  const { starts, steps } = node.params;
  let r = ct;
  for (let d = 0; d < inShape.length; d++) {
    const s = steps[d]!;
    const m = r.shape[d]!;
    if (s > 1 && m > 0) {
      // interleave zeros: [.., m, ..] -> [.., m, s, ..] -> [.., m*s, ..]
      const ex = reshape(r, [...r.shape.slice(0, d + 1), 1, ...r.shape.slice(d + 1)]);
      const w = ex.shape.map((): [number, number] => [0, 0]);
      w[d + 1] = [0, s - 1];
      const padded = bind("pad", { widths: w, value: 0 }, [ex]);
      const merged = [...r.shape];
      merged[d] = m * s;
      r = reshape(padded, merged);
    }
    const len = r.shape[d]!;
    const hi = inShape[d]! - starts[d]! - len;
    if (hi < 0) {
      const st = r.shape.map(() => 0);
      const en = [...r.shape];
      en[d] = len + hi;
      r = bind("slice", { starts: st, ends: en, steps: r.shape.map(() => 1) }, [r]);
    }
    const w = r.shape.map((): [number, number] => [0, 0]);
    w[d] = [starts[d]!, Math.max(0, hi)];
    if (starts[d]! || hi > 0) r = bind("pad", { widths: w, value: 0 }, [r]);
  }
  return r;
}

/** The transpose rule of every primitive (non-linear ones throw). */
export const TRANSPOSE: { readonly [P in Primitive]: TransposeEntry<P> } = {
  const: notLinear("const"),
  buffer: notLinear("buffer"),
  input: notLinear("input"),
  iota: notLinear("iota"),
  neg: (ct) => [negative(ct)],
  exp: notLinear("exp"),
  log: notLinear("log"),
  expm1: notLinear("expm1"),
  log1p: notLinear("log1p"),
  sin: notLinear("sin"),
  cos: notLinear("cos"),
  tanh: notLinear("tanh"),
  sqrt: notLinear("sqrt"),
  floor: notLinear("floor"),
  round: notLinear("round"),
  erf: notLinear("erf"),
  add: (ct, _n, lin) => [lin[0] ? ct : null, lin[1] ? ct : null],
  mul: (ct, n, lin) => {
    if (lin[0] && lin[1]) throw new Error("internal: mul of two linear values is not linear");
    return lin[0] ? [multiply(ct, c(n.inputs[1]!)), null] : [null, multiply(c(n.inputs[0]!), ct)];
  },
  div: (ct, n, lin) => {
    if (lin[1]) throw new Error("internal: division by a linear value is not linear");
    return [divide(ct, c(n.inputs[1]!)), null];
  },
  pow: notLinear("pow"),
  max: notLinear("max"),
  min: notLinear("min"),
  eq: notLinear("eq"),
  ne: notLinear("ne"),
  lt: notLinear("lt"),
  le: notLinear("le"),
  where: (ct, n, lin) => {
    const cond = c(n.inputs[0]!);
    return [null, lin[1] ? where(cond, ct, 0) : null, lin[2] ? where(cond, 0, ct) : null];
  },
  cast: (ct, n) => [cast(ct, n.inputs[0]!.dtype)],
  threefry: notLinear("threefry"),
  shrl: notLinear("shrl"),
  sum: (ct, n) => {
    const inShape = n.inputs[0]!.shape;
    return [
      broadcastTo_(
        reshape(
          ct,
          inShape.map((d, i) => (n.params.axes.includes(i) ? 1 : d)),
        ),
        inShape,
      ),
    ];
  },
  rmax: notLinear("rmax"),
  rmin: notLinear("rmin"),
  prod: notLinear("prod"),
  argmax: notLinear("argmax"),
  cumsum: (ct, n) => [bind("cumsum", { axis: n.params.axis, reverse: !n.params.reverse }, [ct])],
  reshape: (ct, n) => [reshape(ct, n.inputs[0]!.shape)],
  permute: (ct, n) => {
    const inv = new Array<number>(n.params.perm.length);
    n.params.perm.forEach((p, i) => (inv[p] = i));
    return [permuteDims(ct, inv)];
  },
  broadcast: (ct, n) => [unbroadcast(ct, n.inputs[0]!.shape)],
  pad: (ct, n) => {
    if (n.params.value !== 0) throw new Error("internal: pad with a nonzero value is affine, not linear");
    const inShape = n.inputs[0]!.shape;
    const starts = n.params.widths.map((w) => w[0]);
    const ends = inShape.map((d, i) => d + starts[i]!);
    return [bind("slice", { starts, ends, steps: inShape.map(() => 1) }, [ct])];
  },
  slice: (ct, n) => [sliceT(ct, n)],
  flip: (ct, n) => [bind("flip", { axes: n.params.axes }, [ct])],
  gather: (ct, n, lin) => {
    if (lin[1]) throw new Error("internal: gather indices cannot be linear");
    const x = n.inputs[0]!;
    return [bind("scatterAdd", { axis: n.params.axis, batchDims: n.params.batchDims, shape: x.shape }, [ct, c(n.inputs[1]!)]), null];
  },
  scatterAdd: (ct, n) => [bind("gather", { axis: n.params.axis, batchDims: n.params.batchDims }, [ct, c(n.inputs[1]!)]), null],
  matmul: (ct, n, lin) => {
    if (lin[0] && lin[1]) throw new Error("internal: matmul of two linear values is not linear");
    if (lin[0]) return [bind("matmul", {}, [ct, matrixTranspose(c(n.inputs[1]!))]), null];
    return [null, bind("matmul", {}, [matrixTranspose(c(n.inputs[0]!)), ct])];
  },
  conv: (ct, n, lin) => convTranspose_(ct, n, lin),
  maxPool: notLinear("maxPool"),
  maxPoolGather: (ct, n, lin) => {
    if (lin[1]) throw new Error("internal: the pooled operand of maxPoolGather cannot be linear");
    return [bind("maxPoolScatter", n.params, [ct, c(n.inputs[1]!)]), null];
  },
  maxPoolScatter: (ct, n, lin) => {
    if (lin[1]) throw new Error("internal: the pooled operand of maxPoolScatter cannot be linear");
    return [bind("maxPoolGather", n.params, [ct, c(n.inputs[1]!)]), null];
  },
  scan: (cts, n, lin) => callTransposeRules.scan(cts, n, lin),
  whileLoop: (cts, n, lin) => condTransposeRules.whileLoop(cts, n, lin),
  cond: (cts, n, lin) => condTransposeRules.cond(cts, n, lin),
  customVjp: notLinear("customVjp"),
  customVjpLinear: (cts, n, lin) => callTransposeRules.customVjpLinear(cts, n, lin),
  customJvp: (cts, n, lin) => callTransposeRules.customJvp(cts, n, lin),
  checkpoint: (cts, n, lin) => callTransposeRules.checkpoint(cts, n, lin),
  proj: (ct, n) => n.inputs[0]!.avals!.map((_, i) => (i === n.params.index ? ct : null)),
  stopGradient: notLinear("stopGradient"),
  barrier: (ct) => [ct],
};
