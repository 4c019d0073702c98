// Max pooling as primitives (core/pool.ts): `maxPool` (XLA reduce_window max), `maxPoolGather`
// (its tangent, select_and_gather_add) and `maxPoolScatter` (its gradient, select_and_scatter_add
// with `ge`). Checked against values JAX 0.10 computed (jax.lax.reduce_window, jax.grad, jax.jvp;
// recorded below), the CPU runners against the reference backend over random geometries and
// values with ties, NaN and ±Inf, and the composite lowering other backends run against both.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { bind } from "../../src/ops/base.js";
import { poolDecomposed } from "../../src/ops/pool.js";
import { Tensor as TensorClass } from "../../src/core/tensor.js";
import { runSeed } from "../scheduler/gen.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 40);
const vals = (t: Tensor): number[] => Array.from(t.dataSync());
const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (v === 0 && b[i] === 0));

async function on(backend: string, f: () => Tensor): Promise<number[]> {
  await tf.setBackend(backend);
  return vals(f());
}

describe("maxPool matches JAX (values, gradients, tangents)", () => {
  const pool = (x: Tensor): Tensor => tf.maxPool(x, [2, 2]);
  const T = tf.tensor([1, 2, 3, 4], { shape: [1, 1, 2, 2] });
  // [window, max, jax.grad of the sum, jax.jvp with tangent [1, 2, 3, 4]]
  const cases: [number[], number, number[], number][] = [
    [[1, 2, 2, 0], 2, [0, 1, 0, 0], 2],
    [[3, 3, 3, 3], 3, [1, 0, 0, 0], 1],
    [[NaN, 1, 2, 0], NaN, [0, 0, 1, 0], 3],
    [[1, NaN, 2, 5], NaN, [0, 0, 0, 1], 4],
    [[1, 2, NaN, NaN], NaN, [0, 0, 0, 1], 4],
    [[1, Infinity, Infinity, 0], Infinity, [0, 1, 0, 0], 2],
  ];
  for (const [w, m, g, t] of cases) {
    it(`window [${w.join(", ")}]`, () => {
      const x = tf.tensor(w, { shape: [1, 1, 2, 2] });
      expect(vals(pool(x))).toEqual([m]);
      expect(vals(tf.grad((a: Tensor) => tf.sum(pool(a)))(x))).toEqual(g);
      expect(vals(tf.jit(tf.grad((a: Tensor) => tf.sum(pool(a))))(x))).toEqual(g);
      const [, dt] = tf.jvp(pool, [x], [T]);
      expect(vals(dt)).toEqual([t]);
    });
  }

  it("an all −Inf window: the first position (jax.grad; JAX's jvp starts its fold from the −Inf init and gives 0)", () => {
    const x = tf.full([1, 1, 2, 2], -Infinity);
    expect(vals(pool(x))).toEqual([-Infinity]);
    expect(vals(tf.grad((a: Tensor) => tf.sum(pool(a)))(x))).toEqual([1, 0, 0, 0]);
    // forward and reverse mode pick the same position here (they are each other's transposes)
    expect(vals(tf.jvp(pool, [x], [T])[1])).toEqual([1]);
  });

  it("padding: values, and a window whose selection falls on the padding gives no gradient", () => {
    const x = tf.reshape(tf.arange(1, 10), [1, 1, 3, 3]);
    const f = (a: Tensor): Tensor =>
      tf.maxPool(a, [2, 2], {
        padding: [
          [0, 1],
          [0, 1],
        ],
      });
    expect(vals(f(x))).toEqual([5, 6, 8, 9]);
    expect(vals(tf.grad((a: Tensor) => tf.sum(f(a)))(x))).toEqual([0, 0, 0, 0, 1, 1, 0, 1, 1]);
    // windows [pad, −Inf], [−Inf, 1], [−Inf, pad]: the first selects the padding
    const y = tf.tensor([[-Infinity, -Infinity, 1, -Infinity]]);
    const g = (a: Tensor): Tensor => tf.maxPool(a, [2], { padding: [[1, 1]] });
    expect(vals(g(y))).toEqual([-Infinity, 1, -Infinity]);
    expect(vals(tf.grad((a: Tensor) => tf.sum(g(a)))(y))).toEqual([0, 0, 1, 1]);
  });

  it("overlapping windows with a NaN: the first maximum after the last NaN", () => {
    const x = tf.tensor([[NaN, 2, 2, 1]]);
    const f = (a: Tensor): Tensor => tf.maxPool(a, [3], { strides: [1], padding: [[1, 1]] });
    expect(vals(f(x))).toEqual([NaN, NaN, 2, 2]);
    expect(vals(tf.grad((a: Tensor) => tf.sum(f(a)))(x))).toEqual([0, 3, 1, 0]);
    expect(vals(tf.jvp(f, [x], [tf.tensor([[1, 10, 100, 1000]])])[1])).toEqual([10, 10, 10, 100]);
  });

  it("int32 and bool pooling pad with the dtype's lowest value", () => {
    const i = tf.tensor([[-5, -7, 3]], { dtype: "int32" });
    expect(tf.maxPool(i, [2], { padding: [[1, 1]] }).arraySync()).toEqual([[-5, 3]]);
    const b = tf.tensor([[false, false, true]], { dtype: "bool" });
    expect(tf.maxPool(b, [2], { padding: [[1, 1]] }).arraySync()).toEqual([[false, true]]);
  });

  it("one primitive, run whole on the CPU as one kernel", () => {
    const x = tf.tensor(
      Array.from({ length: 384 }, (_, i) => i % 7),
      { shape: [2, 3, 8, 8] },
    );
    const y = tf.maxPool(x, [2, 2]);
    expect(y.node.prim).toBe("maxPool");
    const before = tf.memoryStats().kernelsRun;
    y.dataSync();
    expect(tf.memoryStats().kernelsRun - before).toBe(1);
  });
});

/** Random pooling geometry and values with ties, NaN and ±Inf. */
const geometry = fc
  .record({
    lead: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }),
    sp: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 2 }),
    seed: fc.integer({ min: 0, max: 1 << 30 }),
  })
  .chain(({ lead, sp, seed }) =>
    fc.record({
      lead: fc.constant(lead),
      sp: fc.constant(sp),
      seed: fc.constant(seed),
      window: fc.tuple(...sp.map(() => fc.integer({ min: 1, max: 3 }))),
      strides: fc.tuple(...sp.map(() => fc.integer({ min: 1, max: 3 }))),
      // unpadded windows half the time (the CPU's row-arithmetic path for 2-D ones)
      padding: fc.oneof(
        fc.constant(sp.map((): [number, number] => [0, 0])),
        fc.tuple(...sp.map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })))),
      ),
      vals: fc.array(fc.constantFrom(0, 1, 2, -1, 2.5, NaN, Infinity, -Infinity), { minLength: 1, maxLength: 8 }),
    }),
  )
  .filter(({ sp, window, padding }) => sp.every((s, i) => s + padding[i]![0] + padding[i]![1] >= window[i]!));

/** 2-D 2×2 windows without padding (the CPU's direct path), any strides. */
const twoByTwo = fc.record({
  lead: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }),
  sp: fc.tuple(fc.integer({ min: 2, max: 7 }), fc.integer({ min: 2, max: 7 })),
  seed: fc.integer({ min: 0, max: 1 << 30 }),
  window: fc.constant<number[]>([2, 2]),
  strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padding: fc.constant([
    [0, 0],
    [0, 0],
  ] as [number, number][]),
  vals: fc.array(fc.constantFrom(0, 1, 2, -1, 2.5, NaN, Infinity, -Infinity), { minLength: 1, maxLength: 8 }),
});

type Geo = typeof geometry extends fc.Arbitrary<infer G> ? G : never;

function operands(g: Geo): { x: Tensor; t: Tensor; ct: Tensor; params: { window: number[]; strides: number[]; padding: [number, number][] } } {
  const shape = [...g.lead, ...g.sp];
  const n = shape.reduce((a, b) => a * b, 1);
  let s = g.seed;
  const next = (): number => (s = (s * 1103515245 + 12345) & 0x7fffffff);
  const x = tf.tensor(
    Array.from({ length: n }, () => g.vals[next() % g.vals.length]!),
    { shape },
  );
  const t = tf.tensor(
    Array.from({ length: n }, () => (next() % 200) / 10 - 10),
    { shape },
  );
  const params = { window: [...g.window], strides: [...g.strides], padding: g.padding.map(([a, b]): [number, number] => [a, b]) };
  const y = bind("maxPool", params, [x]);
  const ct = tf.tensor(
    Array.from({ length: y.size }, () => (next() % 200) / 10 - 10),
    { shape: y.shape },
  );
  return { x, t, ct, params };
}

describe("maxPool primitives: CPU runners ≡ reference ≡ composite lowering", () => {
  afterAll(async () => tf.setBackend("cpu"));

  it("values, tangents (maxPoolGather) and gradients (maxPoolScatter) over random geometries", async () => {
    const seed = runSeed("maxpool-prims");
    await fc.assert(
      fc.asyncProperty(fc.oneof(geometry, twoByTwo), async (g) => {
        const { x, t, ct, params } = operands(g);
        const prims: [string, () => Tensor][] = [
          ["maxPool", () => bind("maxPool", params, [x])],
          ["maxPoolGather", () => bind("maxPoolGather", params, [t, x])],
          ["maxPoolScatter", () => bind("maxPoolScatter", params, [ct, x])],
        ];
        for (const [name, f] of prims) {
          const want = await on("reference", f);
          const cpu = await on("cpu", f);
          const jitted = await on("cpu", () => tf.jit(f)());
          // the composite every backend without a pooling kernel runs (WebGPU), here on the CPU
          const composite = await on("cpu", () => new TensorClass(poolDecomposed(f().node)));
          expect(same(cpu, want), `${name} cpu ${JSON.stringify(cpu)} vs ${JSON.stringify(want)}`).toBe(true);
          expect(same(jitted, want), `${name} jit`).toBe(true);
          // (overlapping windows' gradients add up in float32 there, in float64 in the reference)
          const near =
            composite.length === want.length &&
            composite.every((v, i) => Object.is(v, want[i]) || Math.abs(v - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)));
          expect(name === "maxPoolScatter" ? near : same(composite, want), `${name} composite ${JSON.stringify(composite)} vs ${JSON.stringify(want)}`).toBe(
            true,
          );
        }
      }),
      { seed, numRuns: RUNS },
    );
  });

  it("vmap of the gradient equals the per-example gradients", () => {
    const xs = tf.tensor([3, 1, NaN, 2, 5, 5, 0, -1, 4, 4, 4, 4], { shape: [3, 1, 4] });
    const g = tf.grad((a: Tensor) => tf.sum(tf.square(tf.maxPool(a, [2], { strides: [1] }))));
    const batched = vals(tf.vmap(g)(xs));
    const each = [0, 1, 2].flatMap((i) => vals(g(tf.reshape(tf.slice(xs, [i, 0, 0], [i + 1, 1, 4]), [1, 4]))));
    expect(same(batched, each)).toBe(true);
  });

  it("bad windows fail at the call", () => {
    expect(() => tf.maxPool(tf.zeros([1, 1, 2, 2]), [3, 3])).toThrow(/maxPool: window \[3, 3\] is larger than the padded input \[2, 2\]/);
    expect(() => tf.maxPool(tf.zeros([2, 2]), [0])).toThrow(/maxPool: window \[0\]/);
  });
});
