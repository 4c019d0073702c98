// The coreops functions on WebGPU (lavapipe in CI) against the reference backend: being
// compositions of existing primitives they must agree within float32 tolerance, forward and
// gradient. Also the reference backend's gradients against the cpu backend's.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import "../../src/backends/webgpu/index.js";
import { cholesky, solve } from "../../src/linalg/index.js";
import { probeWebGpu } from "../webgpu/gpu.js";

const available = await probeWebGpu();

const cases: [string, () => Tensor][] = [
  [
    "sort",
    () =>
      tf.sort(
        tf.tensor([
          [3, -1, 2, 7, 0.5],
          [1, 1, -4, 2, 9],
        ]),
      ),
  ],
  ["topK indices", () => tf.astype(tf.topK(tf.tensor([1, 5, 3, 5, -2, 8]), 3)[1], "float32")],
  ["at.set / add", () => tf.add(tf.at(tf.tensor([1, 2, 3, 4]), [0, 2, 0]).set(tf.tensor([5, 6, 7])), tf.at(tf.tensor([1, 2, 3, 4]), [1, 1]).add(2))],
  ["dynamicUpdateSlice", () => tf.dynamicUpdateSlice(tf.zeros([3, 4]), tf.ones([2, 2]), [2, 1])],
  ["cumprod / cummax", () => tf.add(tf.cumprod(tf.tensor([1, 2, -1, 3, 0.5])), tf.cummax(tf.tensor([1, 3, 2, 5, 4])))],
  [
    "convTranspose",
    () => tf.convTranspose(tf.reshape(tf.arange(12), [1, 2, 2, 3]), tf.reshape(tf.linspace(-1, 1, 24), [2, 3, 2, 2]), { strides: 2, padding: 1 }),
  ],
  ["upsample bilinear", () => tf.upsample(tf.reshape(tf.arange(6), [1, 1, 2, 3]), 2, { method: "bilinear" })],
  [
    "sdpa causal",
    () =>
      tf.nn.scaledDotProductAttention(
        tf.reshape(tf.linspace(-1, 1, 24), [2, 4, 3]),
        tf.reshape(tf.linspace(1, -1, 24), [2, 4, 3]),
        tf.reshape(tf.arange(24), [2, 4, 3]),
        { causal: true },
      ),
  ],
  [
    "cond under jit",
    () =>
      tf.jit((x: Tensor) =>
        tf.cond(
          tf.greater(tf.sum(x), 0),
          (v: Tensor) => tf.sin(v),
          (v: Tensor) => tf.cos(v),
          x,
        ),
      )(tf.tensor([0.5, -0.2])),
  ],
  [
    "whileLoop bounded",
    () =>
      tf.jit((x: Tensor) =>
        tf.whileLoop(
          (v: Tensor) => tf.less(v, 50),
          (v: Tensor) => tf.multiply(v, 2),
          x,
          { maxIterations: 8 },
        ),
      )(tf.tensor(3)),
  ],
  [
    "linalg",
    () =>
      tf.add(
        tf.sum(
          cholesky(
            tf.tensor([
              [4, 2, 0],
              [2, 5, 1],
              [0, 1, 3],
            ]),
          ),
        ),
        tf.sum(
          solve(
            tf.tensor([
              [0, 2, 1],
              [1, 1, 0],
              [3, 0, 1],
            ]),
            tf.tensor([1, 2, 3]),
          ),
        ),
      ),
  ],
  [
    "grad of sort after at.multiply",
    () => tf.grad((x: Tensor) => tf.sum(tf.multiply(tf.sort(tf.at(x, [1, 3]).multiply(tf.tensor([2, -1]))), tf.arange(5))))(tf.tensor([0.3, -1, 2, 0.7, 1.5])),
  ],
];

async function on(backend: string, f: () => Tensor): Promise<number[]> {
  await tf.setBackend(backend);
  return Array.from(await f().data());
}

afterAll(async () => {
  await tf.setBackend("cpu");
});

describe("reference backend == cpu backend", () => {
  for (const [name, f] of cases) {
    it(name, async () => {
      const want = await on("reference", f);
      const got = await on("cpu", f);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
    });
  }
});

describe.skipIf(!available)("webgpu == reference", () => {
  for (const [name, f] of cases) {
    it(name, async () => {
      const want = await on("reference", f);
      const got = await on("webgpu", f);
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[i]!))));
    });
  }
});
