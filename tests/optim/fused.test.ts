// The fused optimizer update of the CPU executor (src/backends/cpu/fused-update.ts): a jitted step
// of every optimizer runs its per-parameter update kernels as one group (a Wasm SIMD group for a
// big parameter, one JS loop for small ones), and gives bit for bit the values of the separate
// kernels (fusion off), which agree with the reference interpreter.
import { afterEach, describe, expect, test } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { adadelta, adagrad, adam, adamw, applyUpdates, chain, clipByGlobalNorm, lion, nadam, rmsprop, sgd } from "../../src/optim/index.js";
import type { GradientTransformation } from "../../src/optim/index.js";
import { fusedStats, setFusedGroups } from "../../src/backends/cpu/fused-update.js";

type P = { big: Tensor; w: Tensor; b: Tensor };

afterEach(async () => {
  setFusedGroups(true);
  await tf.setBackend("cpu");
});

const OPTIMIZERS: [string, () => GradientTransformation][] = [
  ["sgd", () => sgd({ lr: 0.1 })],
  ["sgd momentum", () => sgd({ lr: 0.1, momentum: 0.9 })],
  ["sgd nesterov", () => sgd({ lr: 0.05, momentum: 0.8, nesterov: true })],
  ["adam", () => adam({ lr: 1e-2 })],
  ["adamw", () => adamw({ lr: 1e-2, weightDecay: 0.1 })],
  ["rmsprop centered momentum", () => rmsprop({ lr: 1e-2, centered: true, momentum: 0.5 })],
  ["adagrad", () => adagrad({ lr: 0.1 })],
  ["adadelta", () => adadelta({ lr: 1 })],
  ["nadam", () => nadam({ lr: 1e-2 })],
  ["lion", () => lion({ lr: 1e-3 })],
  ["clip + adam", () => chain(clipByGlobalNorm(1), adam({ lr: 1e-2 }))],
];

const values = (n: number, k: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 0.7 * k) * 0.5);

/** Five jitted steps of `opt` on a least-squares loss; the params' values after each step. */
function train(opt: GradientTransformation): number[][] {
  const x = tf.tensor(values(16 * 64, 3), { shape: [16, 64] });
  let p: P = {
    big: tf.tensor(values(64 * 80, 1), { shape: [64, 80] }), // 5120 elements: a SIMD group
    w: tf.tensor(values(80 * 5, 2), { shape: [80, 5] }), // 400: one JS loop
    b: tf.tensor(values(5, 4), { shape: [5] }),
  };
  const loss = (q: P): Tensor => tf.mean(tf.square(tf.add(tf.matmul(tf.tanh(tf.matmul(x, q.big)), q.w), q.b)));
  const step = tf.jit((q: P, s: unknown) => {
    const [u, s2] = opt.update(tf.grad(loss)(q), s as never, q);
    return [applyUpdates(q, u), s2];
  });
  let s: unknown = opt.init(p);
  const out: number[][] = [];
  for (let i = 0; i < 5; i++) {
    [p, s] = step(p, s) as [P, unknown];
    out.push([...p.big.dataSync(), ...p.w.dataSync(), ...p.b.dataSync()]);
  }
  return out;
}

describe("fused optimizer update", () => {
  test.each(OPTIMIZERS)("%s: fused groups give the separate kernels' values bit for bit, and the reference's", async (_name, make) => {
    setFusedGroups(false);
    const before = { ...fusedStats };
    const separate = train(make());
    expect(fusedStats).toEqual(before);
    setFusedGroups(true);
    const fused = train(make());
    // one group per parameter: a SIMD group for the big one, JS loops for the others (plain
    // SGD is one kernel per parameter already)
    // one group per parameter: a SIMD group for the big one, one JS loop for each small one
    // (plain SGD is one kernel per parameter; heavy-ball SGD's momentum kernel reads the gradient
    // product straight from the gemm's memory instead, see matmulFusions)
    const groups = [fusedStats.simd - before.simd, fusedStats.js - before.js];
    if (_name !== "sgd" && _name !== "sgd momentum") expect(groups).toEqual([1, 2]);
    expect(fused).toEqual(separate);
    await tf.setBackend("reference");
    const ref = train(make());
    await tf.setBackend("cpu");
    ref.forEach((row, k) => row.forEach((v, i) => expect(Math.abs(fused[k]![i]! - v)).toBeLessThanOrEqual(2e-5 * (1 + Math.abs(v)))));
    // the params moved
    expect(fused[4]!.some((v, i) => v !== fused[0]![i])).toBe(true);
  });

  test("adam's update of a big parameter is one SIMD group, of small ones one JS loop each", () => {
    const before = { ...fusedStats };
    train(adam({ lr: 1e-2 }));
    // big: m, v and the parameter in one SIMD group; w and b: one loop each
    expect(fusedStats.simd - before.simd).toBeGreaterThanOrEqual(1);
    expect(fusedStats.js - before.js).toBeGreaterThanOrEqual(2);
    expect((fusedStats.kernels - before.kernels) / (fusedStats.simd + fusedStats.js - before.simd - before.js)).toBeGreaterThanOrEqual(3);
  });

  test("a fused group reads a value overwritten later in the pool correctly (eager and jit agree)", () => {
    // u feeds two same-size chains; the intermediate pool buffers are reused between them
    const f = (a: Tensor, b: Tensor): Tensor[] => {
      const u = tf.exp(tf.multiply(a, 0.5));
      const v = tf.add(tf.multiply(u, b), 1);
      const s = tf.sum(v);
      const w = tf.divide(tf.multiply(v, s), tf.add(tf.square(u), 1));
      return [v, w, tf.sqrt(tf.add(tf.square(w), tf.square(v)))];
    };
    const a = tf.tensor(values(6000, 5));
    const b = tf.tensor(values(6000, 6));
    const got = (tf.jit(f)(a, b) as Tensor[]).map((t) => Array.from(t.dataSync()));
    setFusedGroups(false);
    const want = (tf.jit(f)(a, b) as Tensor[]).map((t) => Array.from(t.dataSync()));
    expect(got).toEqual(want);
  });
});
