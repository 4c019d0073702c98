/**
 * The enrollment table: every primitive (from PRIMITIVES; a missing row is a compile error and a
 * failing test) and a list of composite ops, each with a small op-level function that exercises it
 * and an input generator of fixed shapes. tests/transforms/primitives.test.ts instantiates the
 * transform laws for every row.
 */
import fc from "fast-check";
import type { Tensor } from "../../src/index.js";
import type { Primitive } from "../../src/internals.js";
import * as tf from "../../src/index.js";
import { bind } from "../../src/ops/base.js";
import { arb } from "../../laws/index.js";

/** One enrolled function. */
export interface Entry {
  /** The op-level function under test. */
  readonly fn: (...args: Tensor[]) => Tensor;
  /** Its arguments (fixed shapes, random values). */
  readonly args: fc.Arbitrary<Tensor[]>;
  /** Gradient checks: false for non-differentiable rows; `modes` defaults to both. */
  readonly grad: false | { readonly order: number; readonly modes?: readonly ("fwd" | "rev")[]; readonly atol?: number; readonly rtol?: number };
  /** A function whose traced graph must contain the primitive (default `fn`). */
  readonly probe?: (...args: Tensor[]) => unknown;
  /** Tolerance for the transform-equivalence laws (default 1e-4). */
  readonly tol?: number;
}

/** Float32 tensor arbitrary with values in [min, max]. */
export function f32(shape: readonly number[], min = -1, max = 1): fc.Arbitrary<Tensor> {
  return arb.tensor({ shape, min, max });
}

/** Int32 tensor arbitrary with values in [min, max]. */
export function i32(shape: readonly number[], min: number, max: number): fc.Arbitrary<Tensor> {
  return arb.tensor({ shape, dtype: "int32", min, max });
}

/**
 * Float32 values at least 0.2 apart (a shuffled ramp plus small noise): no ties, so max/min,
 * argmax and max pooling are differentiable and finite differences do not cross a kink.
 */
export function distinct(shape: readonly number[]): fc.Arbitrary<Tensor> {
  const n = shape.reduce((a, d) => a * d, 1);
  const ids = Array.from({ length: n }, (_, i) => i);
  return fc
    .tuple(
      fc.shuffledSubarray(ids, { minLength: n, maxLength: n }),
      fc.array(fc.float({ min: Math.fround(-0.05), max: Math.fround(0.05), noNaN: true }), { minLength: n, maxLength: n }),
    )
    .map(([perm, noise]) => tf.tensor(Float32Array.from(perm.map((p, i) => (p - n / 2) * 0.3 + noise[i]!)), { shape: [...shape] }));
}

/** Two float tensors that differ by at least 0.1 everywhere (for maximum/minimum). */
function separated(shape: readonly number[]): fc.Arbitrary<Tensor[]> {
  const n = shape.reduce((a, d) => a * d, 1);
  return fc
    .tuple(
      fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
      fc.array(fc.float({ min: Math.fround(0.1), max: 1, noNaN: true }), { minLength: n, maxLength: n }),
      fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    )
    .map(([a, d, s]) => [
      tf.tensor(Float32Array.from(a), { shape: [...shape] }),
      tf.tensor(Float32Array.from(a.map((v, i) => v + (s[i] ? d[i]! : -d[i]!))), { shape: [...shape] }),
    ]);
}

const args = (...as: fc.Arbitrary<Tensor>[]): fc.Arbitrary<Tensor[]> => fc.tuple(...as).map((t) => [...t]);

const BUF = tf.tensor([
  [0.5, -1.5, 2],
  [1, 0.25, -0.75],
]);

function scanBody(init: Tensor, xs: Tensor): Tensor {
  const [c, ys] = tf.scan(
    (c: Tensor, x: Tensor) => {
      const h = tf.tanh(tf.add(tf.multiply(c, x), 0.5));
      return [h, tf.multiply(h, x)] as const;
    },
    init,
    xs,
  );
  return tf.add(tf.sum(ys, { axis: 0 }), c);
}

/** x * sin(x) with a hand-written (correct) VJP. */
export const xsinx = tf.customVjp(
  (x: Tensor) => tf.multiply(x, tf.sin(x)),
  (x: Tensor) => [tf.multiply(x, tf.sin(x)), x] as const,
  (x: Tensor, g: Tensor) => [tf.multiply(g, tf.add(tf.sin(x), tf.multiply(x, tf.cos(x))))],
);

/** x * sin(x) with a hand-written (correct) JVP rule. */
export const xsinxJ = tf.customJvp(
  (x: Tensor) => tf.multiply(x, tf.sin(x)),
  ([x]: [Tensor], [t]: [Tensor]) => [tf.multiply(x, tf.sin(x)), tf.multiply(t, tf.add(tf.sin(x), tf.multiply(x, tf.cos(x))))] as const,
);

const ckpt = tf.checkpoint((x: Tensor, y: Tensor) => tf.multiply(tf.sin(tf.cos(x)), y));

const full2 = { order: 2 } as const;

/** Max-pooling params of the enrolled rows: [2, 3] windows, strides [1, 2], padding on two sides. */
const POOL = {
  window: [2, 3],
  strides: [1, 2],
  padding: [
    [1, 0],
    [0, 1],
  ] as [number, number][],
};

/** One row per primitive. */
export const PRIM_TABLE: { readonly [P in Primitive]: Entry } = {
  const: { fn: (x) => tf.add(tf.multiply(x, 3), 2), args: args(f32([2, 3])), grad: full2 },
  buffer: { fn: (x) => tf.multiply(x, BUF), args: args(f32([2, 3])), grad: full2 },
  input: { fn: (x) => tf.multiply(x, x), args: args(f32([3])), grad: full2 },
  iota: { fn: (x) => tf.multiply(x, tf.arange(4)), args: args(f32([2, 4])), grad: full2 },
  neg: { fn: (x) => tf.negative(x), args: args(f32([2, 3])), grad: full2 },
  exp: { fn: (x) => tf.exp(x), args: args(f32([2, 3])), grad: full2 },
  log: { fn: (x) => tf.log(x), args: args(f32([2, 3], 0.5, 2)), grad: full2 },
  expm1: { fn: (x) => tf.expm1(x), args: args(f32([2, 3])), grad: full2 },
  log1p: { fn: (x) => tf.log1p(x), args: args(f32([2, 3], -0.5, 1)), grad: full2 },
  sin: { fn: (x) => tf.sin(x), args: args(f32([2, 3], -3, 3)), grad: full2 },
  cos: { fn: (x) => tf.cos(x), args: args(f32([2, 3], -3, 3)), grad: full2 },
  tanh: { fn: (x) => tf.tanh(x), args: args(f32([2, 3], -2, 2)), grad: full2 },
  sqrt: { fn: (x) => tf.sqrt(x), args: args(f32([2, 3], 0.5, 2)), grad: full2 },
  floor: { fn: (x) => tf.floor(x), args: args(f32([2, 3], -3, 3)), grad: false },
  round: { fn: (x) => tf.round(x), args: args(f32([2, 3], -3, 3)), grad: false },
  erf: { fn: (x) => tf.erf(x), args: args(f32([2, 3], -2, 2)), grad: full2 },
  add: { fn: (a, b) => tf.add(a, b), args: args(f32([2, 3]), f32([3])), grad: full2 },
  mul: { fn: (a, b) => tf.multiply(a, b), args: args(f32([2, 3]), f32([2, 1])), grad: full2 },
  div: { fn: (a, b) => tf.divide(a, b), args: args(f32([2, 3]), f32([2, 3], 0.5, 2)), grad: full2 },
  pow: { fn: (a, b) => tf.pow(a, b), args: args(f32([2, 3], 0.5, 2), f32([2, 3], -2, 2)), grad: full2 },
  max: { fn: (a, b) => tf.maximum(a, b), args: separated([2, 3]), grad: full2 },
  min: { fn: (a, b) => tf.minimum(a, b), args: separated([2, 3]), grad: full2 },
  eq: { fn: (a, b) => tf.equal(a, b), args: args(i32([2, 3], -2, 2), i32([2, 3], -2, 2)), grad: false },
  ne: { fn: (a, b) => tf.notEqual(a, b), args: args(i32([2, 3], -2, 2), i32([2, 3], -2, 2)), grad: false },
  lt: { fn: (a, b) => tf.less(a, b), args: args(f32([2, 3]), f32([2, 3])), grad: false },
  le: { fn: (a, b) => tf.lessEqual(a, b), args: args(i32([2, 3], -2, 2), i32([2, 3], -2, 2)), grad: false },
  where: {
    fn: (c, a, b) => tf.where(c, a, b),
    args: args(arb.tensor({ shape: [2, 3], dtype: "bool" }), f32([2, 3]), f32([3])),
    grad: full2,
  },
  cast: { fn: (x, n) => tf.multiply(x, tf.astype(n, "float32")), args: args(f32([2, 3]), i32([2, 3], -3, 3)), grad: full2 },
  threefry: { fn: (k) => tf.random.bits(k, [2, 3]), args: args(i32([2], -1000, 1000)), grad: false },
  shrl: { fn: (k) => tf.random.uniform(k, [4]), args: args(i32([2], -1000, 1000)), grad: false },
  sum: { fn: (x) => tf.sum(x, { axis: 1 }), args: args(f32([2, 3, 2])), grad: full2 },
  rmax: { fn: (x) => tf.max(x, { axis: -1 }), args: args(distinct([2, 3])), grad: full2 },
  rmin: { fn: (x) => tf.min(x, { axis: 0 }), args: args(distinct([2, 3])), grad: full2 },
  prod: { fn: (x) => tf.prod(x, { axis: 1 }), args: args(f32([2, 3], 0.5, 1.5)), grad: full2 },
  argmax: { fn: (x) => tf.argmax(x, { axis: 1 }), args: args(distinct([2, 3])), grad: false },
  cumsum: { fn: (x) => tf.cumsum(x, { axis: 1 }), args: args(f32([2, 3])), grad: full2 },
  reshape: { fn: (x) => tf.reshape(x, [3, 2]), args: args(f32([2, 3])), grad: full2 },
  permute: { fn: (x) => tf.permuteDims(x, [2, 0, 1]), args: args(f32([2, 3, 2])), grad: full2 },
  broadcast: { fn: (x) => tf.broadcastTo(x, [3, 2, 4]), args: args(f32([2, 1])), grad: full2 },
  pad: {
    fn: (x) =>
      tf.pad(
        x,
        [
          [1, 0],
          [0, 2],
        ],
        { value: 1.5 },
      ),
    args: args(f32([2, 3])),
    grad: full2,
  },
  slice: { fn: (x) => tf.slice(x, [0, 1], [2, 4], { strides: [1, 2] }), args: args(f32([3, 4])), grad: full2 },
  flip: { fn: (x) => tf.flip(x, { axis: 1 }), args: args(f32([2, 3])), grad: full2 },
  gather: { fn: (x, i) => tf.take(x, i, { axis: 1 }), args: args(f32([2, 4]), i32([3], -4, 3)), grad: full2 },
  scatterAdd: {
    fn: (u, i) => bind("scatterAdd", { axis: 0, batchDims: 0, shape: [4, 2] }, [u, i]),
    args: args(f32([3, 2]), i32([3], 0, 3)),
    grad: full2,
  },
  matmul: { fn: (a, b) => tf.matmul(a, b), args: args(f32([2, 3]), f32([3, 2])), grad: full2 },
  // the general form (input dilation, cropping padding) that transposed convs produce
  conv: {
    fn: (x, w) => bind("conv", { strides: [2], padding: [[2, -1]], lhsDilation: [2], rhsDilation: [1], groups: 1 }, [x, w]),
    args: args(f32([2, 2, 4]), f32([3, 2, 2])),
    grad: full2,
  },
  // overlapping, padded windows (the general form); distinct values: no ties, no kinks crossed
  maxPool: { fn: (x) => bind("maxPool", POOL, [x]), args: args(distinct([2, 3, 5])), grad: full2 },
  maxPoolGather: { fn: (t, x) => bind("maxPoolGather", POOL, [t, x]), args: args(f32([2, 3, 5]), distinct([2, 3, 5])), grad: full2 },
  maxPoolScatter: { fn: (g, x) => bind("maxPoolScatter", POOL, [g, x]), args: args(f32([2, 3, 2]), distinct([2, 3, 5])), grad: full2 },
  scan: { fn: scanBody, args: args(f32([2]), f32([4, 2])), grad: full2 },
  // a run-time trip count; forward mode only (as JAX's while_loop), checked in tests/control
  whileLoop: {
    fn: (x) =>
      tf.whileLoop(
        (v: Tensor) => tf.less(tf.sum(v), 2),
        (v: Tensor) => tf.add(v, 0.5),
        x,
      ),
    args: args(f32([3])),
    grad: false,
  },
  // the predicate is the last (int) argument: "first mapped" keeps it unbatched (a cond), "all
  // mapped" batches it (where over the branches)
  cond: {
    fn: (x, y, p) =>
      tf.cond(
        p!,
        (a: Tensor, b: Tensor) => tf.multiply(tf.sin(a), b),
        (a: Tensor, b: Tensor) => tf.add(tf.cos(a), tf.multiply(b, b)),
        x,
        y,
      ),
    args: args(f32([3]), f32([3]), i32([], 0, 1)),
    grad: full2,
  },
  customVjp: { fn: (x) => xsinx(x), args: args(f32([3], -2, 2)), grad: { order: 2, modes: ["rev"] } },
  customVjpLinear: {
    fn: (x) => tf.multiply(xsinx(x), x),
    args: args(f32([3], -2, 2)),
    grad: { order: 2, modes: ["rev"] },
    // the linear tangent map appears in the linearized graph (forward mode through customVjp)
    probe: (x) => tf.jvp((y: Tensor) => xsinx(y), [x], [tf.onesLike(x)])[1],
  },
  customJvp: { fn: (x) => xsinxJ(x), args: args(f32([3], -2, 2)), grad: full2 },
  checkpoint: { fn: (x, y) => ckpt(x, y), args: args(f32([3], -2, 2), f32([3])), grad: full2 },
  // every multi-output call's outputs are read through proj: both outputs of one scan here
  proj: { fn: scanBody, args: args(f32([2]), f32([4, 2])), grad: full2 },
  stopGradient: { fn: (x) => tf.stopGradient(tf.sin(x)), args: args(f32([3])), grad: false },
  barrier: { fn: (x) => tf.sin(bind("barrier", { id: 1 }, [tf.multiply(x, 2)])), args: args(f32([3])), grad: full2 },
};

/** Composite ops (softmax, logsumexp, conv, pooling, ...), checked with the same laws. */
export const OP_TABLE: { readonly [name: string]: Entry } = {
  softmax: {
    fn: (x) => {
      const e = tf.exp(tf.subtract(x, tf.max(x, { axis: -1, keepdims: true })));
      return tf.divide(e, tf.sum(e, { axis: -1, keepdims: true }));
    },
    args: args(f32([2, 4], -2, 2)),
    grad: full2,
  },
  logsumexp: { fn: (x) => tf.logsumexp(x, { axis: 1 }), args: args(f32([2, 4], -2, 2)), grad: full2 },
  conv: {
    fn: (x, w) => tf.conv(x, w, { strides: [1, 2], padding: "SAME", dilation: [2, 1] }),
    args: args(f32([1, 2, 5, 5]), f32([3, 2, 2, 3])),
    grad: full2,
  },
  convGroups: {
    fn: (x, w) => tf.conv(x, w, { padding: [[1, 0]], groups: 2 }),
    args: args(f32([2, 4, 5]), f32([2, 2, 3])),
    grad: full2,
  },
  maxPool: { fn: (x) => tf.maxPool(x, [2, 2]), args: args(distinct([1, 2, 4, 4])), grad: full2 },
  avgPool: { fn: (x) => tf.avgPool(x, [2, 2], { strides: [1, 1], padding: "SAME" }), args: args(f32([1, 1, 3, 3])), grad: full2 },
  matmulBatched: { fn: (a, b) => tf.matmul(a, b), args: args(f32([2, 2, 3]), f32([3])), grad: full2 },
  tanh: { fn: (x) => tf.tanh(tf.multiply(x, 2)), args: args(f32([3])), grad: full2 },
  sigmoid: { fn: (x) => tf.divide(1, tf.add(1, tf.exp(tf.negative(x)))), args: args(f32([2, 3], -3, 3)), grad: full2 },
  einsum: { fn: (a, b) => tf.einsum("ij,jk->ik", a, b), args: args(f32([2, 3]), f32([3, 2])), grad: full2 },
  einsumTrace: { fn: (a, b) => tf.einsum("bij,bjk->bi", a, b), args: args(f32([2, 2, 3]), f32([2, 3, 2])), grad: full2 },
  take: { fn: (x, i) => tf.take(x, i, { axis: 0 }), args: args(f32([3, 2]), i32([2, 2], -3, 2)), grad: full2 },
  takeAlongAxis: { fn: (x, i) => tf.takeAlongAxis(x, i, { axis: 1 }), args: args(f32([2, 3]), i32([2, 2], 0, 2)), grad: full2 },
  cumsumReverse: { fn: (x) => tf.cumsum(x, { axis: 0, reverse: true }), args: args(f32([3, 2])), grad: full2 },
  pad: {
    fn: (x) =>
      tf.pad(x, [
        [0, 1],
        [2, 0],
      ]),
    args: args(f32([2, 2])),
    grad: full2,
  },
  concatSplit: {
    fn: (a, b) => {
      const c = tf.concat([a, b], { axis: 1 });
      const [p, q] = tf.split(c, [1], { axis: 1 });
      return tf.add(tf.multiply(p!, 2), tf.sum(tf.sin(q!), { axis: 1, keepdims: true }));
    },
    args: args(f32([2, 2]), f32([2, 1])),
    grad: full2,
  },
  meanVarStd: {
    fn: (x) => tf.add(tf.add(tf.mean(x, { axis: 1 }), tf.var_(x, { axis: 1 })), tf.std(x, { axis: 1 })),
    args: args(distinct([2, 3])),
    grad: full2,
  },
  abs: { fn: (x) => tf.abs(x), args: args(f32([3], 0.2, 1)), grad: full2 },
  clip: { fn: (x) => tf.clip(x, { min: -0.5, max: 0.5 }), args: args(distinct([2, 3])), grad: full2 },
  rsqrtSquare: { fn: (x) => tf.add(tf.rsqrt(x), tf.square(x)), args: args(f32([3], 0.5, 2)), grad: full2 },
  tensordot: { fn: (a, b) => tf.tensordot(a, b, { axes: 1 }), args: args(f32([2, 3]), f32([3, 2])), grad: full2 },
  tile: { fn: (x) => tf.tile(x, [2, 1]), args: args(f32([2, 3])), grad: full2 },
  repeat: { fn: (x) => tf.repeat(x, 2, { axis: 0 }), args: args(f32([2, 3])), grad: full2 },
};
