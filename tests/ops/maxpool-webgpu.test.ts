// The max-pooling primitives on WebGPU (lavapipe in CI), which runs their lowering (ops/pool.ts):
// values, tangents and gradients equal the reference backend's, ties, NaN, ±Inf and padding
// included (overlapping windows' gradients within float32 summation).
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import "../../src/backends/webgpu/index.js";
import { probeWebGpu } from "../webgpu/gpu.js";

const available = await probeWebGpu();

const pattern = [1, 3, 3, NaN, -1, Infinity, 0, 2, -Infinity, 2, 2, 5];
const x = (): Tensor =>
  tf.tensor(
    Array.from({ length: 2 * 3 * 7 * 6 }, (_, i) => pattern[(i * 7) % pattern.length]!),
    { shape: [2, 3, 7, 6] },
  );
const t = (): Tensor => tf.reshape(tf.sin(tf.arange(2 * 3 * 7 * 6)), [2, 3, 7, 6]);
const cases: [string, () => Tensor][] = [
  ["2x2 tiled", () => tf.maxPool(x(), [2, 2])],
  ["3x3 stride 2 SAME", () => tf.maxPool(x(), [3, 3], { strides: 2, padding: "SAME" })],
  [
    "jvp, 2x3 stride 1 padded",
    () =>
      tf.jvp(
        (a: Tensor) =>
          tf.maxPool(a, [2, 3], {
            strides: 1,
            padding: [
              [1, 0],
              [0, 2],
            ],
          }),
        [x()],
        [t()],
      )[1],
  ],
  [
    "gradient, 3x3 stride 2 SAME (overlapping)",
    () => tf.grad((a: Tensor) => tf.sum(tf.multiply(tf.maxPool(a, [3, 3], { strides: 2, padding: "SAME" }), 1.5)))(x()),
  ],
  ["gradient, 2x2 tiled", () => tf.grad((a: Tensor) => tf.sum(tf.maxPool(a, [2, 2])))(x())],
];

async function on(backend: string, f: () => Tensor): Promise<number[]> {
  await tf.setBackend(backend);
  return Array.from(await f().data());
}

afterAll(async () => {
  await tf.setBackend("cpu");
});

describe.skipIf(!available)("maxPool: webgpu == reference", () => {
  for (const [name, f] of cases) {
    it(name, async () => {
      const want = await on("reference", f);
      const got = await on("webgpu", f);
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(Object.is(v, want[i]) || Math.abs(v - want[i]!) <= 1e-6 * (1 + Math.abs(want[i]!)), `${i}: ${v} vs ${want[i]}`).toBe(true));
    });
  }
});
