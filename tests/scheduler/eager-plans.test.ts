// Eager realizations plan a graph structure once (scheduler/engine.ts: the eager plan cache): a
// graph realized again with new leaf data runs the kept program on the new leaves' storages, and
// the values equal the reference interpreter's (which plans nothing). Leaf data is never part of
// the plan (a stale plan would return the old data's result), constants are (2·x and 3·x are two
// plans), the cache is bounded, and an eager training loop whose pending update was built before
// its parameters were realized runs one realization per step however long it runs (the lazy-depth
// limit counts realized inputs as leaves).
import { runInNewContext } from "node:vm";
import v8 from "node:v8";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { EAGER_PLAN_LIMIT, eagerPlanStats } from "../../src/scheduler/engine.js";
import { MAX_LAZY_DEPTH } from "../../src/ops/base.js";

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const runs = (): number => eagerPlanStats.planned + eagerPlanStats.reused;

/** `steps` eager momentum-SGD steps on a quadratic, reading the loss each step (as a training loop does). */
function train(backend: string, steps: number, x0: readonly number[]): { losses: number[]; p: number[] } {
  tf.setBackend(backend);
  let p: Tensor = tf.tensor([...x0]);
  let m: Tensor = tf.zerosLike(p);
  const target = tf.tensor(x0.map((_, i) => Math.sin(i)));
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const d = tf.subtract(p, target);
    const l = tf.mean(tf.square(d));
    m = tf.add(tf.multiply(m, 0.9), tf.multiply(d, 2 / x0.length));
    p = tf.subtract(p, tf.multiply(m, 0.5));
    losses.push(l.itemSync());
  }
  return { losses, p: Array.from(p.dataSync()) };
}

const near = (got: readonly number[], want: readonly number[]): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
};

describe("eager plan cache", () => {
  afterAll(() => tf.setBackend("cpu"));

  it("an eager loop plans its step once and computes what the reference interpreter does", () => {
    const x0 = Array.from({ length: 37 }, (_, i) => Math.cos(i * 0.7) * 3);
    const want = train("reference", 40, x0);
    const [p0, r0] = [eagerPlanStats.planned, eagerPlanStats.reused];
    const got = train("cpu", 40, x0);
    near(got.losses, want.losses);
    near(got.p, want.p);
    expect(want.losses[39]!).toBeLessThan(want.losses[0]! / 10); // it trains
    // Steps 1 and 2 differ in structure (step 1's moment is a zeros constant); every later step reuses.
    expect(eagerPlanStats.planned - p0).toBeLessThanOrEqual(4);
    expect(eagerPlanStats.reused - r0).toBeGreaterThanOrEqual(36);
  });

  it("leaf data is not part of a plan: the same structure over new data gives the new data's result", () => {
    tf.setBackend("cpu");
    const f = (x: Tensor): Tensor => tf.add(tf.multiply(tf.exp(x), 2), tf.sum(x));
    const before = eagerPlanStats.reused;
    for (const k of [1, 2, 3]) {
      const xs = [0.5 * k, -1, k];
      const got = Array.from(f(tf.tensor(xs)).dataSync());
      const s = xs.reduce((a, b) => a + b, 0);
      near(
        got,
        xs.map((v) => Math.fround(Math.fround(Math.exp(v)) * 2) + s),
      );
    }
    expect(eagerPlanStats.reused - before).toBeGreaterThanOrEqual(2);
  });

  it("constants are part of a plan: 2·x and 3·x give their own results", () => {
    tf.setBackend("cpu");
    const x = tf.tensor([1, 2, 3]);
    expect(Array.from(tf.multiply(x, 2).dataSync())).toEqual([2, 4, 6]);
    expect(Array.from(tf.multiply(x, 3).dataSync())).toEqual([3, 6, 9]);
    expect(Array.from(tf.multiply(x, 2).dataSync())).toEqual([2, 4, 6]);
  });

  it("keeps at most EAGER_PLAN_LIMIT plans (least recently used go first) and reports them in memoryStats", () => {
    tf.setBackend("cpu");
    for (let n = 1; n <= EAGER_PLAN_LIMIT + 40; n++) {
      const v = tf.sum(tf.exp(tf.ones([n]))).itemSync();
      expect(v).toBeCloseTo(n * Math.E, 3);
    }
    const s = tf.memoryStats();
    expect(s.eagerPlanCapacity).toBe(EAGER_PLAN_LIMIT);
    expect(s.eagerPlans).toBe(EAGER_PLAN_LIMIT);
  });

  it("kept plans do not keep their last leaves' data alive", async () => {
    tf.setBackend("cpu");
    // Three plans (three structures), each run once on its own 4 MB tensor (big enough for the
    // Wasm SIMD path, whose programs remember their inputs' arrays to skip copying them again),
    // then an unrelated realization; every watched array must be collectable afterwards.
    const fs = [(x: Tensor) => tf.sum(tf.exp(x)), (x: Tensor) => tf.sum(tf.tanh(x)), (x: Tensor) => tf.max(tf.exp(tf.negative(x)))];
    const collected: number[] = [];
    const fr = new FinalizationRegistry<number>((i) => collected.push(i));
    fs.forEach((f, i) => {
      const x = tf.tensor(new Float32Array(1 << 20).fill(0.25));
      fr.register(x.dataSync(), i);
      expect(Number.isFinite(f(x).itemSync())).toBe(true);
    });
    expect(tf.sum(tf.exp(tf.ones([5000]))).itemSync()).toBeCloseTo(5000 * Math.E, 0);
    // on a loaded machine a finalizer can run many event-loop turns after its GC: wait up to 5 s
    for (const end = Date.now() + 5000; collected.length < fs.length && Date.now() < end;) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(collected.sort()).toEqual([0, 1, 2]);
  });

  it(`an eager loop runs one realization per step past ${MAX_LAZY_DEPTH} steps (stale build-time depths are recomputed)`, () => {
    tf.setBackend("cpu");
    // Each step's update is built on parameters the loss read realizes only afterwards, so the depth
    // recorded when it is built grows by one a step; recomputed, it stays the depth of one step.
    const steps = MAX_LAZY_DEPTH + 600;
    let p: Tensor = tf.tensor([1, 2, 3, 4]);
    let m: Tensor = tf.zerosLike(p);
    const r0 = runs();
    for (let i = 0; i < steps; i++) {
      const l = tf.sum(tf.multiply(p, p));
      m = tf.add(tf.multiply(m, 0.9), tf.multiply(p, 2));
      p = tf.subtract(p, tf.multiply(m, 0.001));
      l.itemSync();
    }
    expect(runs() - r0).toBe(steps);
    const want = train("reference", 1, [1]); // (the reference backend still works after the loop)
    expect(want.losses.length).toBe(1);
  });

  it("an eager Adam loop runs the same kernels every step for 3,000 steps (time independent of the step count)", () => {
    tf.setBackend("cpu");
    type P = { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor };
    const x = tf.random.normal(tf.random.key(0), [32, 20]);
    const y = tf.random.normal(tf.random.key(1), [32, 5]);
    let p: P = { W1: tf.random.normal(tf.random.key(2), [20, 16]), b1: tf.zeros([16]), W2: tf.random.normal(tf.random.key(3), [16, 5]), b2: tf.zeros([5]) };
    let m = tf.tree.map((a: Tensor) => tf.zerosLike(a), p) as P;
    let v = tf.tree.map((a: Tensor) => tf.zerosLike(a), p) as P;
    const loss = (q: P): Tensor => tf.mean(tf.square(tf.subtract(tf.add(tf.matmul(tf.nn.relu(tf.add(tf.matmul(x, q.W1), q.b1)), q.W2), q.b2), y)));
    const vg = tf.valueAndGrad(loss);
    const perStep: number[] = [];
    const losses: number[] = [];
    for (let i = 1; i <= 3000; i++) {
      const k0 = tf.memoryStats().kernelsRun;
      const [l, g] = vg(p) as unknown as [Tensor, P];
      m = tf.tree.map((a: Tensor, b: Tensor) => tf.add(tf.multiply(a, 0.9), tf.multiply(b, 0.1)), m, g) as P;
      v = tf.tree.map((a: Tensor, b: Tensor) => tf.add(tf.multiply(a, 0.999), tf.multiply(tf.square(b), 0.001)), v, g) as P;
      const t = tf.scalar(i);
      const c1 = tf.subtract(1, tf.pow(0.9, t));
      const c2 = tf.subtract(1, tf.pow(0.999, t));
      p = tf.tree.map(
        (a: Tensor, mm: Tensor, vv: Tensor) => tf.subtract(a, tf.multiply(0.01, tf.divide(tf.divide(mm, c1), tf.add(tf.sqrt(tf.divide(vv, c2)), 1e-8)))),
        p,
        m,
        v,
      ) as P;
      losses.push(l.itemSync());
      perStep.push(tf.memoryStats().kernelsRun - k0);
    }
    // Before the depth fix, steps past ~2,300 were split into extra realizations (42–95 kernels).
    expect(new Set(perStep.slice(5))).toEqual(new Set([perStep[5]]));
    expect(losses[2999]!).toBeLessThan(losses[0]! / 2);
  });

  it("equal subexpressions of an eager graph are merged when it is planned, and its kept plan runs them merged", () => {
    tf.setBackend("cpu");
    const r = (seed: number): Tensor => tf.random.normal(tf.random.key(seed), [48, 40]);
    const kernels = (f: () => Tensor): [number, Float32Array] => {
      const before = tf.memoryStats().kernelsRun;
      const v = Float32Array.from(f().dataSync());
      return [tf.memoryStats().kernelsRun - before, v];
    };
    // Two separately built products of the same operands, and the product built once and used twice.
    const twice = (x: Tensor, y: Tensor): Tensor => tf.add(tf.matmul(x, tf.matrixTranspose(y)), tf.matmul(x, tf.matrixTranspose(y)));
    const shared = (x: Tensor, y: Tensor): Tensor => {
      const m = tf.matmul(x, tf.matrixTranspose(y));
      return tf.add(m, m);
    };
    const [x, y] = [r(1), r(2)];
    const [k0, want] = kernels(() => shared(x, y));
    const [k1, v1] = kernels(() => twice(x, y)); // planned: the products merged while planning
    const [k2] = kernels(() => twice(r(3), r(4)));
    const planned = eagerPlanStats.planned;
    const [k3, v2] = kernels(() => twice(r(5), r(6))); // the kept plan of that structure, new leaves
    expect(eagerPlanStats.planned).toBe(planned);
    expect([k1, k2, k3]).toEqual([k0, k0, k0]);
    expect(Array.from(v1)).toEqual(Array.from(want));
    tf.setBackend("reference");
    const ref = Float32Array.from(twice(tf.tensor(r(5).dataSync(), { shape: [48, 40] }), tf.tensor(r(6).dataSync(), { shape: [48, 40] })).dataSync());
    tf.setBackend("cpu");
    near(Array.from(v2), Array.from(ref));
  });
});
