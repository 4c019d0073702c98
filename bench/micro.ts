// Micro benchmarks of tenfold's own overheads: a jitted call on 4-element tensors, an eager
// training step of a tiny MLP (all overhead: tracing the gradient, hash-consing, planning), the
// time to trace + schedule + compile + run a graph of 1000 (and 2000, to show growth) nodes, and
// the fused row ops (softmax, logSoftmax, logsumexp, layerNorm over 4096x1024: one Wasm SIMD row
// group each) with their median and fastest call.
import * as tf from "../src/index.js";
import type { Tensor } from "../src/index.js";

/** Lines of results. */
export async function microCases(): Promise<string[]> {
  const out: string[] = [];
  const f = tf.jit((x: Tensor, y: Tensor) => tf.add(tf.multiply(x, y), 1));
  const a = tf.tensor([1, 2, 3, 4]);
  const b = tf.tensor([5, 6, 7, 8]);
  for (let i = 0; i < 2000; i++) f(a, b);
  const n = 20000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(a, b);
  out.push(`jitted call on 4-element tensors: ${(((performance.now() - t0) / n) * 1000).toFixed(1)} µs`);
  out.push(eagerStep());
  for (const size of [1000, 2000]) {
    const g = tf.jit((x: Tensor) => {
      let y = x;
      for (let i = 0; i < size; i++) y = i % 3 === 0 ? tf.sin(y) : i % 3 === 1 ? tf.add(y, i) : tf.multiply(y, 0.999);
      return y;
    });
    const t1 = performance.now();
    g(tf.ones([16])).dataSync();
    out.push(`jit of a ${size}-node graph (trace + optimize + schedule + compile + run): ${(performance.now() - t1).toFixed(1)} ms`);
  }
  out.push(...rowOps());
  return out;
}

/** Median and fastest of `n` calls of `f` (after 3 warm-up calls), in ms. */
function stats(f: () => void, n = 25): { median: number; min: number } {
  for (let i = 0; i < 3; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { median: ts[n >> 1]!, min: ts[0]! };
}

/**
 * An eager Adam step of a 16-8-4 MLP on 8 rows, the loss read every step: the kernels are tiny,
 * so the time is tenfold's per-step overhead (median and fastest of 7 runs of 200 steps).
 */
function eagerStep(): string {
  type P = { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor };
  const x = tf.random.normal(tf.random.key(0), [8, 16]);
  const y = tf.random.normal(tf.random.key(1), [8, 4]);
  const loss = (p: P): Tensor => {
    const lo = tf.add(tf.matmul(tf.maximum(tf.add(tf.matmul(x, p.W1), p.b1), 0), p.W2), p.b2);
    return tf.negative(tf.mean(tf.sum(tf.multiply(y, tf.nn.logSoftmax(lo)), { axis: -1 })));
  };
  const lossAndGrad = tf.valueAndGrad(loss);
  const opt = tf.optim.adam({ lr: 1e-3 });
  const run = (steps: number): void => {
    let p: P = { W1: tf.random.normal(tf.random.key(2), [16, 8]), b1: tf.zeros([8]), W2: tf.random.normal(tf.random.key(3), [8, 4]), b2: tf.zeros([4]) };
    let state = opt.init(p);
    for (let i = 0; i < steps; i++) {
      const [l, g] = lossAndGrad(p);
      const [updates, s2] = opt.update(g, state, p);
      [p, state] = [tf.optim.applyUpdates(p, updates) as P, s2];
      l.itemSync();
    }
  };
  run(200);
  const s = stats(() => run(200), 7);
  return `eager Adam step of a 16-8-4 MLP (loss read every step): median ${((s.median / 200) * 1000).toFixed(0)} µs, fastest ${((s.min / 200) * 1000).toFixed(0)} µs`;
}

function rowOps(): string[] {
  const x = tf.random.normal(tf.random.key(0), [4096, 1024]);
  x.dataSync();
  const ln = tf.nn.layerNorm(1024);
  const p = ln.init(tf.random.key(1));
  const cases: [string, (t: Tensor) => Tensor][] = [
    ["softmax", (t) => tf.nn.softmax(t)],
    ["logSoftmax", (t) => tf.nn.logSoftmax(t)],
    ["logsumexp", (t) => tf.logsumexp(t, { axis: -1 })],
    ["layerNorm", (t) => ln.apply(p, t) as unknown as Tensor],
  ];
  return cases.map(([name, f]) => {
    const j = tf.jit(f);
    const kernels = j.lower(x).kernels.length;
    const s = stats(() => j(x).dataSync());
    return `${name} 4096x1024 (jit, ${kernels} kernels, one SIMD row group): median ${s.median.toFixed(2)} ms, fastest ${s.min.toFixed(2)} ms`;
  });
}
