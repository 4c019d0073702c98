/**
 * Forward-mode rules: one per primitive, written with ops (so their own derivatives, batching and
 * scheduling come for free). A null tangent is a symbolic zero.
 */
import { condJvpRules } from "./cond-rules.js";
import { isFloat } from "../core/dtype.js";
import type { Node } from "../core/node.js";
import type { CallPrim, Primitive } from "../core/primitives.js";
import type { Tensor } from "../core/tensor.js";
import { bind, broadcastTo_, cast, constant } from "../ops/base.js";
import { add, cos, divide, equal, exp, log, logicalAnd, multiply, negative, sin, square, subtract, where } from "../ops/elementwise.js";
import { sum } from "../ops/reduce.js";
import { flip, pad, permuteDims, reshape, sliceAxis } from "../ops/shape.js";
import { zerosLike } from "../ops/creation.js";
import { callJvpRules } from "./call-rules.js";
import { convJvp } from "../ops/conv-general.js";

/** A JVP rule: primal inputs, their tangents (null = zero), the node and its primal output. */
export type JvpRule<P extends Primitive> = (primals: readonly Tensor[], tangents: readonly (Tensor | null)[], node: Node<P>, out: Tensor) => Tensor | null;

/**
 * The JVP rule of a call (multi-output) primitive, applied once per call node: the primal outputs
 * (projections of the call, or of a call that also computes residuals) and their tangents (null =
 * zero), one per output.
 */
export type CallJvpRule<P extends CallPrim> = (
  primals: readonly Tensor[],
  tangents: readonly (Tensor | null)[],
  node: Node<P>,
) => { readonly outs: Tensor[]; readonly touts: (Tensor | null)[] };

/** The JVP rule of `proj`: the tangent of output `index`, given the tangents of every output of the call. */
export type ProjJvpRule = (touts: readonly (Tensor | null)[], node: Node<"proj">) => Tensor | null;

/** The JVP table's entry for primitive P. */
export type JvpEntry<P extends Primitive> = P extends CallPrim ? CallJvpRule<P> : P extends "proj" ? ProjJvpRule : JvpRule<P>;

const zeroRule: JvpRule<Primitive> = () => null;

/** Replaces a symbolic zero by a zero tensor shaped like `like`. */
export function instantiate(t: Tensor | null, like: Tensor): Tensor {
  return t ?? zerosLike(like, { dtype: isFloat(like.dtype) ? like.dtype : "float32" });
}

function addT(a: Tensor | null, b: Tensor | null): Tensor | null {
  if (!a) return b;
  if (!b) return a;
  return add(a, b);
}

function mulT(t: Tensor | null | undefined, f: () => Tensor): Tensor | null {
  return t ? multiply(t, f()) : null;
}

function linear<P extends Primitive>(): JvpRule<P> {
  return (primals, tangents, node) => {
    if (tangents.every((t) => t === null)) return null;
    const ins = tangents.map((t, i) => instantiate(t, primals[i]!));
    return bind(node.prim, node.params, ins);
  };
}

/** keepdims-shaped version of a reduced tensor, broadcast back to the input shape. */
export function unreduce(r: Tensor, inShape: readonly number[], axes: readonly number[]): Tensor {
  return broadcastTo_(
    reshape(
      r,
      inShape.map((d, i) => (axes.includes(i) ? 1 : d)),
    ),
    inShape,
  );
}

function extremumJvp(primals: readonly Tensor[], tangents: readonly (Tensor | null)[], node: Node<"rmax" | "rmin">, out: Tensor): Tensor | null {
  const [x] = primals;
  const [t] = tangents;
  if (!t) return null;
  const axes = node.params.axes;
  const mask = cast(equal(x!, unreduce(out, x!.shape, axes)), x!.dtype);
  const cnt = sum(mask, { axis: axes });
  return divide(sum(multiply(t, mask), { axis: axes }), cnt);
}

/** Exclusive running products along the last axis (Hillis-Steele doubling: exact products, no division). */
function exclusiveCumprod(x: Tensor, reverse: boolean): Tensor {
  const last = x.ndim - 1;
  const n = x.shape[last]!;
  let y = reverse ? flip(x, { axis: last }) : x;
  const shift = (v: Tensor, s: number): Tensor => {
    const widths = v.shape.map((_, i): [number, number] => (i === last ? [s, 0] : [0, 0]));
    return pad(sliceAxis(v, last, 0, n - s, 1), widths, { value: 1 });
  };
  for (let s = 1; s < n; s *= 2) y = multiply(y, shift(y, s));
  const ex = n > 0 ? shift(y, 1) : y;
  return reverse ? flip(ex, { axis: last }) : ex;
}

function prodJvp(primals: readonly Tensor[], tangents: readonly (Tensor | null)[], node: Node<"prod">): Tensor | null {
  const [x] = primals;
  const [t] = tangents;
  if (!t) return null;
  const axes = node.params.axes;
  if (!axes.length) return t;
  // The product of the other factors of each element, as JAX: exclusive running products from
  // both sides (exact beside zeros, NaN and infinities, unlike prod / x). Reduced axes go last.
  const keep = x!.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...keep, ...axes];
  const moved = permuteDims(x!, perm);
  const lead = keep.map((i) => x!.shape[i]!);
  const flat = reshape(moved, [...lead, axes.reduce((a, i) => a * x!.shape[i]!, 1)]);
  const othersFlat = multiply(exclusiveCumprod(flat, false), exclusiveCumprod(flat, true));
  const inv = perm.map((_, i) => perm.indexOf(i));
  const others = permuteDims(reshape(othersFlat, moved.shape), inv);
  return sum(multiply(t, others), { axis: axes });
}

/**
 * max/min: each operand's tangent passes where it equals the result, half each on a tie (JAX's
 * balanced rule); a NaN result passes neither.
 */
function extremumPair(a: Tensor, b: Tensor, ta: Tensor | null | undefined, tb: Tensor | null | undefined, out: Tensor): Tensor | null {
  const [ea, eb] = [equal(a, out), equal(b, out)];
  const wa = where(ea, where(eb, 0.5, 1), 0);
  const wb = where(eb, where(ea, 0.5, 1), 0);
  return addT(ta ? multiply(ta, wa) : null, tb ? multiply(tb, wb) : null);
}

const SQRT_PI_2 = 2 / Math.sqrt(Math.PI);

/** The JVP rule of every primitive. */
export const JVP: { readonly [P in Primitive]: JvpEntry<P> } = {
  const: zeroRule,
  buffer: zeroRule,
  input: zeroRule,
  iota: zeroRule,
  neg: ([_x], [t]) => (t ? negative(t) : null),
  exp: (_p, [t], _n, out) => mulT(t, () => out),
  log: ([x], [t]) => (t ? divide(t, x!) : null),
  expm1: (_p, [t], _n, out) => mulT(t, () => add(out, 1)),
  log1p: ([x], [t]) => (t ? divide(t, add(x!, 1)) : null),
  sin: ([x], [t]) => mulT(t, () => cos(x!)),
  cos: ([x], [t]) => mulT(t, () => negative(sin(x!))),
  tanh: (_p, [t], _n, out) => mulT(t, () => subtract(1, square(out))),
  sqrt: (_p, [t], _n, out) => (t ? divide(t, multiply(out, 2)) : null),
  floor: zeroRule,
  round: zeroRule,
  erf: ([x], [t]) => mulT(t, () => multiply(exp(negative(square(x!))), SQRT_PI_2)),
  add: linear<"add">(),
  mul: ([a, b], [ta, tb]) => addT(ta ? multiply(ta, b!) : null, tb ? multiply(a!, tb) : null),
  div: ([_a, b], [ta, tb], _n, out) => {
    if (!ta && !tb) return null;
    const num = ta && tb ? subtract(ta, multiply(out, tb)) : ta ? ta : negative(multiply(out, tb!));
    return divide(num, b!);
  },
  pow: ([a, b], [ta, tb], _n, out) => {
    if (!isFloat(out.dtype)) return null;
    // b * a^(b-1), defined as 0 at a = b = 0 (where it reads 0 * inf). Masking only that point
    // (not every b = 0) keeps the derivative with respect to b right: d/db (b a^(b-1)) = 1/a at b = 0.
    const da = ta ? multiply(ta, where(logicalAnd(equal(b!, 0), equal(a!, 0)), 0, multiply(b!, bind("pow", {}, [a!, subtract(b!, 1)])))) : null;
    const db = tb ? multiply(tb, where(equal(a!, 0), 0, multiply(log(a!), out))) : null;
    return addT(da, db);
  },
  max: ([a, b], [ta, tb], _n, out) => {
    if (!ta && !tb) return null;
    return extremumPair(a!, b!, ta, tb, out);
  },
  min: ([a, b], [ta, tb], _n, out) => {
    if (!ta && !tb) return null;
    return extremumPair(a!, b!, ta, tb, out);
  },
  eq: zeroRule,
  ne: zeroRule,
  lt: zeroRule,
  le: zeroRule,
  where: ([c, a, b], [_tc, ta, tb]) => {
    if (!ta && !tb) return null;
    return bind("where", {}, [c!, instantiate(ta!, a!), instantiate(tb!, b!)]);
  },
  cast: ([x], [t], node) => (t && isFloat(node.params.dtype) && isFloat(x!.dtype) ? cast(t, node.params.dtype) : null),
  threefry: zeroRule,
  shrl: zeroRule,
  sum: linear<"sum">(),
  rmax: extremumJvp,
  rmin: extremumJvp,
  prod: prodJvp,
  argmax: zeroRule,
  cumsum: linear<"cumsum">(),
  reshape: linear<"reshape">(),
  permute: linear<"permute">(),
  broadcast: linear<"broadcast">(),
  pad: ([x], [t], node) => (t ? bind("pad", { widths: node.params.widths, value: 0 }, [t]) : (void x, null)),
  slice: linear<"slice">(),
  flip: linear<"flip">(),
  gather: ([_x, idx], [t], node) => (t ? bind("gather", node.params, [t, idx!]) : null),
  scatterAdd: ([_u, idx], [t], node) => (t ? bind("scatterAdd", node.params, [t, idx!]) : null),
  conv: (p, t, n) => convJvp(p, t, n),
  // the tangent of each window's maximum is the tangent at its selected position (as JAX)
  maxPool: ([x], [t], n) => (t ? bind("maxPoolGather", n.params, [t, x!]) : null),
  maxPoolGather: ([_t, x], [t], n) => (t ? bind("maxPoolGather", n.params, [t, x!]) : null),
  maxPoolScatter: ([_g, x], [t], n) => (t ? bind("maxPoolScatter", n.params, [t, x!]) : null),
  matmul: ([a, b], [ta, tb]) => addT(ta ? bind("matmul", {}, [ta, b!]) : null, tb ? bind("matmul", {}, [a!, tb]) : null),
  scan: (p, t, n) => callJvpRules.scan(p, t, n),
  whileLoop: (p, t, n) => condJvpRules.whileLoop(p, t, n),
  cond: (p, t, n) => condJvpRules.cond(p, t, n),
  customVjp: (p, t, n) => callJvpRules.customVjp(p, t, n),
  customVjpLinear: (p, t, n) => callJvpRules.customVjpLinear(p, t, n),
  customJvp: (p, t, n) => callJvpRules.customJvp(p, t, n),
  checkpoint: (p, t, n) => callJvpRules.checkpoint(p, t, n),
  proj: (touts, n) => (isFloat(n.dtype) ? (touts[n.params.index] ?? null) : null),
  stopGradient: zeroRule,
  barrier: (_p, [t]) => t ?? null,
};

export { constant };
