// Batched float products run as one table gemm over all batch entries (B's panels gathered per
// thread from its strides, C written in place): agree with the reference backend for broadcast
// and per-entry A, broadcast B (stride 0), transposed B (no contiguous lanes), odd sizes, and a
// product big enough for the helper threads.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { gatherStats } from "../../src/backends/cpu/matmul.js";
import { close } from "../scheduler/gen.js";

async function on(backend: string, f: (a: Tensor, b: Tensor) => Tensor, a: Tensor, b: Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  return Float32Array.from(f(a, b).dataSync());
}

describe("cpu batched matmul (table gemm)", () => {
  afterAll(async () => tf.setBackend("cpu"));
  const r = (seed: number, shape: number[]): Tensor => tf.random.normal(tf.random.key(seed), shape);
  const cases: [string, number[], number[], (a: Tensor, b: Tensor) => Tensor][] = [
    ["per-entry A and B", [3, 20, 30], [3, 30, 41], (a, b) => tf.matmul(a, b)],
    ["broadcast A", [20, 30], [5, 30, 17], (a, b) => tf.matmul(a, b)],
    ["broadcast B (stride 0)", [4, 20, 30], [1, 30, 33], (a, b) => tf.matmul(a, tf.broadcastTo(b, [4, 30, 33]))],
    ["transposed B (attention scores)", [2, 3, 24, 16], [2, 3, 26, 16], (a, b) => tf.matmul(a, tf.permuteDims(b, [0, 1, 3, 2]))],
    ["big enough for the helper threads", [32, 96], [16, 96, 900], (a, b) => tf.matmul(a, b)],
    ["per-entry A, big enough for the helper threads", [16, 32, 96], [16, 96, 900], (a, b) => tf.matmul(a, b)],
    [
      "threads, read in place by the next JS kernel",
      [32, 96],
      [16, 96, 900],
      (a, b) => {
        const y = tf.matmul(a, b);
        return tf.where(tf.less(y, 0), 0, tf.add(y, 1));
      },
    ],
  ];
  it.each(cases)("%s agrees with the reference backend", async (_name, sa, sb, f) => {
    const [a, b] = [r(sa.length, sa), r(sb.length + 10, sb)];
    const want = await on("reference", f, a, b);
    const jf = tf.jit(f);
    const before = gatherStats.calls;
    const got = await on("cpu", jf, a, b);
    const again = await on("cpu", jf, a, b);
    expect(gatherStats.calls - before).toBe(2);
    expect(close(got, want, 1e-4)).toBe(true);
    expect(close(again, want, 1e-4)).toBe(true);
  });
});
