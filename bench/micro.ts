// Micro benchmarks of tenfold's own overheads: a jitted call on 4-element tensors, and the time
// to trace + schedule + compile + run a graph of 1000 (and 2000, to show growth) nodes.
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
  return out;
}
