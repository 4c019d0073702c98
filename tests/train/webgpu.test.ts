// The same fit on CPU and WebGPU (lavapipe in CI): default shuffling, validation and a Dataset
// source all run on WebGPU (no synchronous reads anywhere), and for the same seed the WebGPU
// run reaches the same history and weights as the CPU run within float32 tolerance.
import { afterAll, describe, expect, test } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { adam } from "../../src/optim/index.js";
import { Dataset, evaluate, fit } from "../../src/train/index.js";
import { assertClose, probeWebGpu } from "../webgpu/gpu.js";

const available = await probeWebGpu();

type P = { w1: Tensor; b1: Tensor; w2: Tensor };
const hostData = (): { x: Tensor; y: Tensor } => {
  const xs = Float32Array.from({ length: 40 * 2 }, (_, i) => Math.sin(i * 1.7));
  const ys = Float32Array.from({ length: 40 }, (_, i) => Math.tanh(xs[2 * i]! - 2 * xs[2 * i + 1]!));
  return { x: tf.tensor(xs, { shape: [40, 2] }), y: tf.tensor(ys, { shape: [40, 1] }) };
};
const model = (p: P, x: Tensor): Tensor => tf.matmul(tf.tanh(tf.add(tf.matmul(x, p.w1), p.b1)), p.w2);
const loss = (p: P, b: { x: Tensor; y: Tensor }): Tensor => tf.mean(tf.square(tf.subtract(model(p, b.x), b.y)));
const init = (k: Tensor): P => {
  const [k1, k2] = tf.random.split(k);
  return { w1: tf.random.normal(k1!, [2, 6]), b1: tf.zeros([6]), w2: tf.multiply(tf.random.normal(k2!, [6, 1]), 0.3) };
};

async function run(backend: string): Promise<{ loss: number[]; valLoss: number[]; weights: number[]; dsLoss: number[]; evalLoss: number }> {
  await tf.setBackend(backend);
  const data = hostData();
  const opts = { init, loss, optimizer: adam({ lr: 0.05 }), data, validation: data, epochs: 3, batchSize: 8, key: 4, verbose: 0 as const };
  const r = await fit(opts);
  const weights: number[] = [];
  for (const t of [r.params.w1, r.params.b1, r.params.w2]) weights.push(...Array.from(await t.data()));
  const ds = Dataset.fromArrays(data).shuffle(tf.random.key(9)).batch(16).prefetch(2);
  const d = await fit({ ...opts, data: ds, validation: undefined, epochs: 2 });
  const ev = await evaluate(r.params, loss, data, { batchSize: 16 });
  return { loss: r.history.loss, valLoss: r.history.valLoss, weights, dsLoss: d.history.loss, evalLoss: ev.loss! };
}

describe.runIf(available)("fit on WebGPU", () => {
  afterAll(async () => {
    await tf.setBackend("cpu");
  });
  test("same seed, same results as on the CPU (shuffled batches, validation, a Dataset, evaluate)", async () => {
    const cpu = await run("cpu");
    const gpu = await run("webgpu");
    expect(gpu.loss).toHaveLength(3);
    assertClose(gpu.loss, cpu.loss, "history.loss", 1e-4, 1e-3);
    assertClose(gpu.valLoss, cpu.valLoss, "history.valLoss", 1e-4, 1e-3);
    assertClose(gpu.weights, cpu.weights, "final weights", 1e-4, 1e-3);
    assertClose(gpu.dsLoss, cpu.dsLoss, "Dataset history.loss", 1e-4, 1e-3);
    expect(gpu.evalLoss).toBeCloseTo(cpu.evalLoss, 4);
    expect(cpu.loss[2]!).toBeLessThan(cpu.loss[0]!);
  });
  test("the result of an asynchronous run says to await it", async () => {
    await tf.setBackend("webgpu");
    const run = fit({ init, loss, optimizer: adam({ lr: 0.05 }), data: hostData(), epochs: 1, batchSize: 20, verbose: 0 });
    expect(() => run.params).toThrow(/fit: the run has not finished .* use `await fit\(\.\.\.\)` before reading \.params/);
    const r = await run;
    expect(r.history.loss).toHaveLength(1);
    expect(run.history.loss).toHaveLength(1);
  });
});
