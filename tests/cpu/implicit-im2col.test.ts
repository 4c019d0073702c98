// Implicit im2col: a conv's patches kernel is not run; the table gemm gathers each B panel from
// the conv's input (or, for producers that compute, B panels are packed from the producer's body).
// Forward and both gradients agree with the reference backend on awkward shapes (panel tails,
// strides, dilation, groups, chained convs where a gradient's pack reads another gemm's output).
// Operands are realized buffers: a graph of constants only would be folded at compile time.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { gatherStats } from "../../src/backends/cpu/matmul.js";
import { close } from "../scheduler/gen.js";

async function on(backend: string, f: () => Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return f().map((t) => Float32Array.from(t.dataSync()));
}

/** Realized (a buffer, not a lazy random graph the scheduler would constant-fold away). */
function rand(seed: number, shape: number[]): Tensor {
  return tf.tensor(tf.random.normal(tf.random.key(seed), shape).dataSync(), { shape });
}

type Case = { x: number[]; w: number[]; opts: tf.ConvOptions };
const CASES: Case[] = [
  { x: [32, 1, 6, 6], w: [4, 1, 3, 3], opts: { padding: "SAME" } },
  { x: [2, 3, 5, 7], w: [4, 3, 3, 3], opts: { padding: "SAME" } },
  { x: [3, 4, 9, 11], w: [6, 4, 3, 2], opts: { padding: "VALID", strides: [2, 1] } },
  { x: [2, 4, 10, 10], w: [8, 2, 3, 3], opts: { padding: "SAME", dilation: 2, groups: 2 } },
  { x: [4, 8, 14, 14], w: [16, 8, 3, 3], opts: { padding: "SAME" } },
];

describe("cpu implicit im2col", () => {
  afterAll(async () => tf.setBackend("cpu"));

  it("conv forward, input and weight gradients agree with the reference backend", async () => {
    for (const { x, w, opts } of CASES) {
      const X = rand(x[0]!, x);
      const W = rand(w[0]!, w);
      const loss = (a: Tensor, b: Tensor): Tensor => tf.sum(tf.multiply(tf.conv(a, b, opts), tf.conv(a, b, opts)));
      const f = (): Tensor[] => [tf.conv(X, W, opts), tf.grad(loss)(X, W), tf.grad((b: Tensor, a: Tensor) => loss(a, b))(W, X)];
      const want = await on("reference", f);
      const jf = tf.jit(f);
      const got = await on("cpu", jf);
      const again = await on("cpu", jf);
      want.forEach((v, i) => {
        // float32 sums of ~1,600 products: the summation order (reference vs gemm) moves a result
        // by a few ulp of the largest magnitudes, so the tolerance scales with them
        const tol = 1e-4 + 4e-6 * v.reduce((m, a) => Math.max(m, Math.abs(a)), 0);
        expect(close(got[i]!, v, tol), `${JSON.stringify({ x, w, opts })} output ${i}`).toBe(true);
        expect(close(again[i]!, v, tol), `${JSON.stringify({ x, w, opts })} output ${i} (second run)`).toBe(true);
      });
    }
  });

  it("contiguous convs pack B with the wasm gather; strided and non-gather producers fall back", async () => {
    const run = async (x: number[], w: number[], opts: tf.ConvOptions, pre?: (t: Tensor) => Tensor): Promise<number> => {
      const X = rand(x[1]!, x);
      const W = rand(w[1]!, w);
      const g = (a: Tensor, b: Tensor): Tensor[] => [tf.conv(pre ? pre(a) : a, b, opts)];
      const want = await on("reference", () => g(X, W));
      const before = gatherStats.implicit;
      const jf = tf.jit(g);
      const got = await on("cpu", () => jf(X, W));
      const again = await on("cpu", () => jf(X, W));
      expect(close(got[0]!, want[0]!, 1e-4), JSON.stringify({ x, w, opts })).toBe(true);
      expect(close(again[0]!, want[0]!, 1e-4), JSON.stringify({ x, w, opts })).toBe(true);
      return gatherStats.implicit - before;
    };
    // SAME 3x3 (masked edges), 5x5 with a tail panel, dilation; odd width (groups of 4 columns
    // straddle rows: per-lane side entries) and strides (no contiguous lanes at all).
    expect(await run([4, 8, 12, 12], [16, 8, 3, 3], { padding: "SAME" })).toBe(2);
    expect(await run([3, 5, 9, 8], [7, 5, 5, 5], { padding: "SAME" })).toBe(2);
    expect(await run([2, 6, 6, 12], [5, 6, 3, 3], { padding: "VALID", dilation: 2 })).toBe(2);
    expect(await run([2, 4, 11, 9], [8, 4, 3, 3], { padding: "SAME" })).toBe(2);
    expect(await run([2, 4, 12, 12], [8, 4, 3, 3], { padding: "SAME", strides: 2 })).toBe(2);
    // A producer that computes (relu) is not a gather: it runs, then the product.
    expect(await run([4, 8, 12, 12], [16, 8, 3, 3], { padding: "SAME" }, (t) => tf.maximum(t, 0))).toBe(0);
  });

  it("forward and weight gradient both gather from the input (the patches are never built)", async () => {
    const X = rand(3, [4, 8, 12, 12]);
    const W = rand(4, [16, 8, 3, 3]);
    const g = tf.jit(tf.valueAndGrad((w: Tensor, x: Tensor) => tf.sum(tf.square(tf.conv(x, w, { padding: "SAME" })))));
    const f = (): Tensor[] => {
      const [v, dw] = g(W, X);
      return [v, dw];
    };
    const want = await on("reference", f);
    await on("cpu", f);
    const before = gatherStats.implicit;
    const got = await on("cpu", f);
    expect(gatherStats.implicit - before).toBe(2);
    want.forEach((v, i) => expect(close(got[i]!, v, 1e-4), `output ${i}`).toBe(true));
  });

  it("a conv reading a pool's output: the input's buffer is reused before the weight gradient reads it", async () => {
    // The pool output's pool buffer is recycled by the memory plan after the (skipped) patches
    // kernel; the weight-gradient product runs later and must read a snapshot.
    const X = rand(8, [4, 8, 28, 28]);
    const W = rand(9, [16, 8, 3, 3]);
    const loss = (w: Tensor, x: Tensor): Tensor => tf.sum(tf.square(tf.conv(tf.maxPool(x, [2, 2]), w, { padding: "SAME" })));
    const fs = [
      (w: Tensor, x: Tensor): Tensor[] => [tf.grad(loss)(w, x)],
      (w: Tensor, x: Tensor): Tensor[] => [tf.grad(loss)(w, x), tf.grad((a: Tensor, b: Tensor) => loss(b, a))(x, w)],
    ];
    for (const f of fs) {
      const want = await on("reference", () => f(W, X));
      const jf = tf.jit(f);
      for (let run = 0; run < 2; run++) {
        const got = await on("cpu", () => jf(W, X));
        want.forEach((v, i) => expect(close(got[i]!, v, 1e-4), `output ${i}, run ${run}`).toBe(true));
      }
    }
  });

  it("the example CNN's loss gradients (conv-relu-pool twice, dense) match the reference backend", async () => {
    const model = tf.nn.sequential(
      tf.nn.conv2d(1, 8, 3, { padding: "SAME" }),
      tf.nn.relu,
      tf.nn.maxPool2d(2),
      tf.nn.conv2d(8, 16, 3, { padding: "SAME" }),
      tf.nn.relu,
      tf.nn.maxPool2d(2),
      tf.nn.flatten(),
      tf.nn.dense(16 * 7 * 7, 10),
    );
    const params = model.init(tf.random.key(0));
    const x = rand(3, [12, 1, 28, 28]);
    const y = tf.tensor(
      Array.from({ length: 12 }, (_, i) => (i * 7) % 10),
      { dtype: "int32" },
    );
    const grads = (p: tf.nn.Params[], a: Tensor, b: Tensor): Tensor[] =>
      tf.tree.flatten(tf.grad((q: tf.nn.Params[]) => tf.nn.sparseSoftmaxCrossEntropy(model.apply(q, a), b))(p))[0] as Tensor[];
    const want = await on("reference", () => grads(params, x, y));
    const jg = tf.jit(grads);
    const got = await on("cpu", () => jg(params, x, y));
    want.forEach((v, i) => expect(close(got[i]!, v, 1e-4), `gradient ${i}`).toBe(true));
  });

  it("a product big enough for the helper threads, read in wasm memory by the next (JS) kernel", async () => {
    // The table gemm hands its product to the bias + relu kernel in place (keep) while splitting
    // images across threads: no copy-out, and no chunk bookkeeping left behind.
    const X = rand(11, [64, 8, 14, 14]);
    const W = rand(12, [16, 8, 3, 3]);
    const B = rand(13, [16]);
    const f = (a: Tensor, v: Tensor, c: Tensor): Tensor => {
      const y = tf.add(tf.conv(a, v, { padding: "SAME" }), tf.reshape(c, [16, 1, 1]));
      return tf.where(tf.less(y, 0), 0, y);
    };
    await tf.setBackend("reference");
    const want = Float32Array.from(f(X, W, B).dataSync());
    await tf.setBackend("cpu");
    await new Promise((r) => setTimeout(r, 200)); // let the helpers start
    const jf = tf.jit(f);
    for (let run = 0; run < 2; run++) expect(close(Float32Array.from(jf(X, W, B).dataSync()), want, 1e-4), `run ${run}`).toBe(true);
  });

  it("a conv stack (conv -> relu -> conv) agrees", async () => {
    const X = rand(5, [4, 3, 12, 12]);
    const W1 = rand(6, [8, 3, 3, 3]);
    const W2 = rand(7, [8, 8, 3, 3]);
    const f = (): Tensor[] => [tf.conv(tf.maximum(tf.conv(X, W1, { padding: "SAME" }), 0), W2, { padding: "SAME" })];
    const want = await on("reference", f);
    const got = await on("cpu", tf.jit(f));
    expect(close(got[0]!, want[0]!, 1e-4)).toBe(true);
  });

  it("a matmul whose B is packed from a producer keeps its epilogue (small and SIMD sizes)", async () => {
    for (const [m, k, n] of [
      [4, 3, 5],
      [16, 40, 70],
    ] as const) {
      const a = rand(m, [m, k]);
      const b = rand(n, [k, n]);
      const f = (): Tensor[] => [tf.tanh(tf.matmul(a, tf.multiply(b, 1.5)))];
      const want = await on("reference", f);
      const got = await on("cpu", tf.jit(f));
      expect(close(got[0]!, want[0]!, 1e-4), `${m}x${k}x${n}`).toBe(true);
    }
  });
});
