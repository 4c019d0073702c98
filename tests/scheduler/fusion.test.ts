// Kernel-count tests pin fusion (DESIGN.md house style 6), plus memory: 10,000 jitted training
// steps keep the heap flat. Budgets: the MLP forward+backward (2 layers, softmax cross-entropy,
// valueAndGrad) is at most 17 kernels today; the conv (im2col) forward is 2.
// The counts are shared by the backends: the scheduler decides fusion once, and each test also
// checks that the WebGPU backend dispatches exactly the scheduled kernels for the same graph
// (skipped where no WebGPU adapter exists, unless WEBGPU_REQUIRED=1 makes that a failure).
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { webgpuBackend } from "../../src/backends/webgpu/index.js";
import { probeWebGpu } from "../webgpu/gpu.js";

type T = Tensor;
const count = (f: ReturnType<typeof tf.jit>, ...args: unknown[]): number =>
  (f.lower as (...a: unknown[]) => { readonly kernels: readonly unknown[] })(...args).kernels.length;
const gpu = await probeWebGpu();

/** Asserts that the jitted call dispatches exactly the scheduler's kernels on WebGPU (when present). */
async function sameOnWebGpu(f: ReturnType<typeof tf.jit>, ...args: unknown[]): Promise<void> {
  if (!gpu) return;
  const kernels = count(f, ...args);
  await tf.setBackend("webgpu");
  try {
    const b = webgpuBackend();
    // Arguments are realized (uploaded) first, so only the jitted call's dispatches are counted.
    const [leaves] = tf.tree.flatten(args);
    for (const t of leaves) if (t instanceof tf.Tensor) await t.data();
    const before = b.counters.dispatches;
    const [outs] = tf.tree.flatten((f as (...a: unknown[]) => unknown)(...args));
    for (const t of outs) if (t instanceof tf.Tensor) await t.data();
    expect(b.counters.dispatches - before, "webgpu dispatches").toBe(kernels);
  } finally {
    await tf.setBackend("cpu");
  }
}

const mlpLoss = (p: { W1: T; b1: T; W2: T; b2: T }, x: T, y: T): T => {
  const h = tf.maximum(tf.add(tf.matmul(x, p.W1), p.b1), 0);
  const logits = tf.add(tf.matmul(h, p.W2), p.b2);
  const lse = tf.logsumexp(logits, { axis: -1, keepdims: true });
  return tf.negative(tf.mean(tf.sum(tf.multiply(y, tf.subtract(logits, lse)), { axis: -1 })));
};
const params = () => ({
  W1: tf.random.normal(tf.random.key(1), [8, 16]),
  b1: tf.zeros([16]),
  W2: tf.random.normal(tf.random.key(2), [16, 10]),
  b2: tf.zeros([10]),
});

describe("fusion: kernel counts", () => {
  const x = tf.ones([4, 8]);

  it("an 8-op elementwise chain is 1 kernel", async () => {
    const ops = [tf.exp, tf.sin, (v: T) => tf.add(v, 1), (v: T) => tf.multiply(v, 2), tf.tanh, tf.negative, tf.cos, tf.abs];
    const f = tf.jit((a: T) => ops.reduce((v, op) => op(v), a));
    expect(count(f, x)).toBe(1);
    await sameOnWebGpu(f, x);
  });

  it("relu(x @ W + b) is 1 kernel (matmul with its epilogue)", async () => {
    const f = tf.jit((a: T, w: T, b: T) => tf.maximum(tf.add(tf.matmul(a, w), b), 0));
    const l = f.lower(x, tf.ones([8, 3]), tf.ones([3]));
    expect(l.kernels.length).toBe(1);
    expect(l.kernels[0]!.ops).toEqual(["matmul", "add", "max"]);
    await sameOnWebGpu(f, x, tf.ones([8, 3]), tf.ones([3]));
  });

  it("softmax over rows is at most 3 kernels", async () => {
    const f = tf.jit((a: T) => {
      const e = tf.exp(tf.subtract(a, tf.max(a, { axis: -1, keepdims: true })));
      return tf.divide(e, tf.sum(e, { axis: -1, keepdims: true }));
    });
    expect(count(f, x)).toBeLessThanOrEqual(3);
    await sameOnWebGpu(f, x);
  });

  it("permute + reshape followed by exp is 1 kernel (no copy)", async () => {
    const f = tf.jit((a: T) => tf.exp(tf.reshape(tf.permuteDims(a, [1, 0]), [2, 16])));
    expect(count(f, x)).toBe(1);
    await sameOnWebGpu(f, x);
  });

  it("a constant subexpression costs nothing", async () => {
    const f = tf.jit((a: T) => tf.add(a, tf.sum(tf.multiply(tf.arange(4), tf.add(2, 3)))));
    const g = tf.jit((a: T) => tf.add(a, 1));
    expect(count(f, x)).toBe(count(g, x));
    expect(f(x).dataSync()[0]).toBe(31);
    await sameOnWebGpu(f, x);
  });

  it("a sum reduction takes its elementwise prologue and epilogue", async () => {
    const f = tf.jit((a: T) => tf.sqrt(tf.mean(tf.square(tf.subtract(a, 1)), { axis: -1 })));
    expect(count(f, x)).toBe(1);
    await sameOnWebGpu(f, x);
  });

  it("forward+backward of a 2-layer MLP stays within 17 kernels", async () => {
    const f = tf.jit(tf.valueAndGrad(mlpLoss));
    expect(count(f, params(), x, tf.ones([4, 10]))).toBeLessThanOrEqual(17);
    await sameOnWebGpu(f, params(), x, tf.ones([4, 10]));
  });

  it("conv2d (im2col: pad, strided slices, stack, one matmul per image) forward is 2 kernels", async () => {
    const f = tf.jit((a: T, w: T) => tf.conv(a, w, { padding: "SAME" }));
    expect(count(f, tf.ones([2, 3, 8, 8]), tf.ones([4, 3, 3, 3]))).toBe(2);
    await sameOnWebGpu(f, tf.ones([2, 3, 8, 8]), tf.ones([4, 3, 3, 3]));
  });

  it("an output that reshapes a product is the product's buffer (no copy kernel)", async () => {
    const f = tf.jit((a: T, b: T) => tf.reshape(tf.matmul(a, b), [2, 2, 4]));
    expect(count(f, tf.ones([4, 3]), tf.ones([3, 4]))).toBe(1);
    await sameOnWebGpu(f, tf.ones([4, 3]), tf.ones([3, 4]));
    expect(f(tf.ones([4, 3]), tf.ones([3, 4])).arraySync()).toEqual([
      [
        [3, 3, 3, 3],
        [3, 3, 3, 3],
      ],
      [
        [3, 3, 3, 3],
        [3, 3, 3, 3],
      ],
    ]);
    // Read by another kernel too: still correct.
    const g = tf.jit((a: T, b: T) => {
      const r = tf.reshape(tf.matmul(a, b), [16]);
      return [r, tf.exp(r)];
    });
    const [r, e] = g(tf.ones([4, 3]), tf.ones([3, 4]));
    expect(r!.dataSync()[0]).toBe(3);
    expect(e!.dataSync()[15]).toBeCloseTo(Math.exp(3), 3);
  });
});

describe("memory", () => {
  it("10,000 jitted training steps keep the heap flat", () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    const step = tf.jit((p: ReturnType<typeof params>, a: T, y: T) => {
      const [loss, g] = tf.valueAndGrad(mlpLoss)(p, a, y) as [T, ReturnType<typeof params>];
      return [loss, tf.tree.map((w: T, d: T) => tf.subtract(w, tf.multiply(d, 0.01)), p, g)];
    });
    let p = params();
    const a = tf.random.normal(tf.random.key(3), [4, 8]);
    const y = tf.ones([4, 10]);
    const run = (n: number): void => {
      for (let i = 0; i < n; i++) p = (step(p, a, y) as [T, ReturnType<typeof params>])[1];
    };
    run(500);
    gc?.();
    const before = process.memoryUsage().heapUsed;
    run(10_000);
    gc?.();
    const grown = process.memoryUsage().heapUsed - before;
    // Without --expose-gc the bound is loose (uncollected garbage counts); with it, tight.
    expect(grown).toBeLessThan(gc ? 4 * 2 ** 20 : 64 * 2 ** 20);
    expect(Number.isFinite(p.W1.dataSync()[0]!)).toBe(true);
  });
});
