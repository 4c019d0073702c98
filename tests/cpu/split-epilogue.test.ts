// Matmul epilogues as Wasm SIMD kernels (split-epilogue.ts): the product goes to a temp of its
// own and the epilogue runs as an elementwise kernel, with the same bits as the reference backend
// for float32 arithmetic epilogues (bias, ReLU and its gradient mask, an SGD update written over
// its donated parameter, attention's scaled scores per head), and products whose epilogue has no
// lanes or that are int32 stay whole.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { simdMemory } from "../../src/backends/cpu/simd.js";
import { setSplitEpilogues, splitEpilogues, splitStats } from "../../src/backends/cpu/split-epilogue.js";
import type { Program } from "../../src/scheduler/ir.js";

const data = (n: number, scale = 1, seed = 1): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * scale);
const t = (shape: number[], seed = 1, scale = 1): Tensor =>
  tf.tensor(
    data(
      shape.reduce((a, b) => a * b, 1),
      scale,
      seed,
    ),
    { shape },
  );

/** f's scheduled program for these arguments. */
const scheduled = (f: (...x: Tensor[]) => Tensor | Tensor[], ...args: Tensor[]): Program => tf.jit(f).lower(...args).program as Program;

/**
 * Runs f jitted on the CPU backend with and without split epilogues (expects the same bits: the
 * same gemm, and float32 lane ops equal JS's rounded ones) and on the reference backend (the
 * gemm's float32 accumulation against its float64: close).
 */
function same(f: (...x: Tensor[]) => Tensor, ...args: Tensor[]): void {
  const run = (backend: string, split = true): Float32Array => {
    tf.setBackend(backend);
    setSplitEpilogues(split);
    try {
      return tf
        .jit(f)(...args.map((a) => tf.tensor(a.dataSync().slice(), { shape: a.shape })))
        .dataSync() as Float32Array;
    } finally {
      setSplitEpilogues(true);
    }
  };
  const s0 = splitStats.split;
  const got = run("cpu");
  expect(splitStats.split).toBeGreaterThan(s0);
  expect(got).toEqual(run("cpu", false));
  const want = run("reference");
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let i = 0; i < want.length; i++) if (!(Math.abs(got[i]! - want[i]!) <= 1e-5 * scale)) expect.fail(`element ${i}: ${got[i]} vs reference ${want[i]}`);
}

describe.skipIf(!simdMemory())("matmul epilogues split into SIMD kernels", () => {
  afterAll(() => tf.setBackend("cpu"));

  it("splits a bias + ReLU epilogue into a product kernel and an elementwise one reading it", () => {
    const p = scheduled((x, w, b) => tf.maximum(tf.add(tf.matmul(x, w), b), 0), t([64, 96]), t([96, 128]), t([128]));
    const q = splitEpilogues(p);
    expect(q.kernels.length).toBe(p.kernels.length + 1);
    const mm = q.kernels.findIndex((k) => k.kind === "matmul");
    const [prod, epi] = [q.kernels[mm]!, q.kernels[mm + 1]!];
    expect(prod.kind === "matmul" && prod.epilogue).toEqual([{ op: "acc", dtype: "float32" }]);
    expect(epi.kind).toBe("elementwise");
    expect(epi.output).toBe(p.kernels[mm]!.output);
    expect(epi.inputs).toContain(prod.output);
    expect(q.slots[prod.output]).toMatchObject({ kind: "temp", size: 64 * 128, pool: p.pool.length });
    // the epilogue does not read the product's operands
    expect(epi.inputs).toHaveLength(2);
  });

  it("same bits split or whole, close to the reference: bias + ReLU, the MLP's backward mask, a column sum after an epilogue", () => {
    same((x, w, b) => tf.maximum(tf.add(tf.matmul(x, w), b), 0), t([128, 200]), t([200, 128], 2), t([128], 3));
    const loss = (w: Tensor, x: Tensor, v: Tensor, y: Tensor): Tensor => tf.sum(tf.multiply(tf.matmul(tf.maximum(tf.matmul(x, w), 0), v), y));
    same((w, x, v, y) => tf.grad(loss)(w, x, v, y) as Tensor, t([64, 96], 4), t([128, 64], 5), t([96, 96], 6, 0.1), t([128, 96], 7));
    same((x, w, b) => tf.sum(tf.multiply(tf.add(tf.matmul(x, w), b), 3), { axis: 0 }), t([128, 64]), t([64, 128], 7), t([128], 8));
    // batched: attention's scores q·kᵀ/√d per head plus a mask, or plus a per-key bias
    same((q, k, m) => tf.add(tf.multiply(tf.matmul(q, tf.matrixTranspose(k)), 0.125), m), t([4, 64, 64], 9), t([4, 64, 64], 10), t([4, 64, 64], 11));
    same((q, k, b) => tf.maximum(tf.add(tf.matmul(q, tf.matrixTranspose(k)), b), 0), t([3, 40, 50], 12), t([3, 120, 50], 13), t([120], 14));
  });

  it("an SGD update p − lr·(xᵀ·dy) written over its donated p", () => {
    const sgd = (p: Tensor, x: Tensor, dy: Tensor): Tensor => tf.subtract(p, tf.multiply(0.1, tf.matmul(tf.matrixTranspose(x), dy)));
    const [x, dy] = [t([128, 64], 2), t([128, 96], 3)];
    const p0 = data(64 * 96, 1, 9);
    const run = (split: boolean): Float32Array => {
      tf.setBackend("cpu");
      setSplitEpilogues(split);
      try {
        const step = tf.jit(sgd, { donateArgnums: [0] });
        let p = tf.tensor(p0.slice(), { shape: [64, 96] });
        for (let i = 0; i < 3; i++) p = step(p, x, dy) as Tensor;
        return p.dataSync() as Float32Array;
      } finally {
        setSplitEpilogues(true);
      }
    };
    const s0 = splitStats.split;
    const got = run(true);
    expect(splitStats.split).toBeGreaterThan(s0);
    expect(got).toEqual(run(false));
  });

  it("keeps whole: an epilogue without lanes (pow, sin), an int32 product, a plain product", () => {
    const whole = (f: (...x: Tensor[]) => Tensor, ...args: Tensor[]): void => {
      const p = scheduled(f, ...args);
      expect(splitEpilogues(p)).toBe(p);
    };
    whole((x, w) => tf.sin(tf.matmul(x, w)), t([64, 96]), t([96, 128]));
    whole((x, w) => tf.pow(tf.matmul(x, w), 3), t([64, 96]), t([96, 128]));
    whole((x, w) => tf.add(tf.matmul(x, w), 1), tf.astype(t([64, 96]), "int32"), tf.astype(t([96, 128]), "int32"));
    whole((x, w) => tf.matmul(x, w), t([64, 96]), t([96, 128]));
  });
});
