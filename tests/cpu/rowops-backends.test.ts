// The row ops' schedule (3 kernels each: a keepdims reduction keeps its log / mean / rsqrt
// epilogue) is the same on every backend: WebGPU (lavapipe in CI) dispatches exactly those
// kernels and agrees with the reference on rows with -Inf, NaN and huge values, odd row lengths.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { webgpuBackend } from "../../src/backends/webgpu/index.js";
import { assertClose, probeWebGpu } from "../webgpu/gpu.js";

const available = await probeWebGpu();

function rows(r: number, c: number): Float32Array {
  const xs = Float32Array.from({ length: r * c }, (_, i) => Math.sin(i * 12.9898) * 6);
  xs.fill(-Infinity, c, 2 * c); // an all -Inf row
  xs[2 * c + 1] = NaN;
  xs[3 * c] = -Infinity;
  xs.fill(3e38, 4 * c, 4 * c + 2);
  return xs;
}

describe.skipIf(!available)("fused row ops on WebGPU", () => {
  afterAll(() => tf.setBackend("cpu"));
  const ln = tf.nn.layerNorm(37);
  const p = ln.init(tf.random.key(1));
  const cases: [string, (t: Tensor) => Tensor, number][] = [
    ["softmax", (t) => tf.nn.softmax(t), 37],
    ["logSoftmax", (t) => tf.nn.logSoftmax(t), 37],
    ["logsumexp", (t) => tf.logsumexp(t, { axis: -1 }), 1025],
    ["logsumexp keepdims", (t) => tf.logsumexp(t, { axis: -1, keepdims: true }), 37],
    ["layerNorm", (t) => ln.apply(p, t) as unknown as Tensor, 37],
  ];
  for (const [name, f, cols] of cases) {
    it(name, async () => {
      const xs = rows(64, cols);
      await tf.setBackend("reference");
      const want = tf
        .jit(f)(tf.tensor(xs, { shape: [64, cols] }))
        .dataSync();
      await tf.setBackend("webgpu");
      const x = tf.tensor(xs, { shape: [64, cols] });
      const j = tf.jit(f);
      expect(j.lower(x).kernels).toHaveLength(3);
      const b = webgpuBackend();
      const before = b.counters.dispatches;
      const got = await j(x).data();
      expect(b.counters.dispatches - before).toBe(3);
      assertClose(got, want, name);
    });
  }
});
