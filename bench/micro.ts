// Micro benchmarks of tenfold's own overheads: a jitted call on 4-element tensors, the time to
// trace + schedule + compile + run a graph of 1000 (and 2000, to show growth) nodes, and the
// fused row ops (softmax, logSoftmax, logsumexp, layerNorm over 4096x1024: one Wasm SIMD row
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
