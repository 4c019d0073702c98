// The conv primitive on WebGPU (lavapipe in CI): the scheduler lowers it to the same kernels as on
// the CPU, so forward values (strides, padding, dilation, groups, 1-D) and both gradients must
// agree with the reference backend within float32 tolerance.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import "../../src/backends/webgpu/index.js";
import { probeWebGpu } from "../webgpu/gpu.js";

const available = await probeWebGpu();

const x4 = (): Tensor => tf.reshape(tf.linspace(-1, 1, 2 * 4 * 7 * 6), [2, 4, 7, 6]);
const w4 = (): Tensor => tf.reshape(tf.sin(tf.arange(6 * 2 * 3 * 3)), [6, 2, 3, 3]);
const cases: [string, () => Tensor][] = [
  ["3x3 SAME", () => tf.conv(x4(), tf.reshape(tf.cos(tf.arange(5 * 4 * 9)), [5, 4, 3, 3]), { padding: "SAME" })],
  ["stride 2, dilation (1, 2), groups 2", () => tf.conv(x4(), w4(), { strides: 2, dilation: [1, 2], padding: "SAME", groups: 2 })],
  [
    "1-D explicit padding",
    () => tf.conv(tf.reshape(tf.linspace(-2, 2, 26), [2, 1, 13]), tf.reshape(tf.tensor([1, -2, 0.5, 3, 1, -1]), [2, 1, 3]), { padding: [[2, 1]], strides: 3 }),
  ],
  [
    "input and weight gradients",
    () => {
      const [gx, gw] = tf.grad((a: Tensor, b: Tensor) => tf.sum(tf.square(tf.conv(a, b, { strides: [2, 1], padding: "SAME", groups: 2 }))), {
        argnums: [0, 1],
      })(x4(), w4()) as Tensor[];
      return tf.concat([tf.reshape(gx!, [-1]), tf.reshape(gw!, [-1])]);
    },
  ],
];

async function on(backend: string, f: () => Tensor): Promise<number[]> {
  await tf.setBackend(backend);
  return Array.from(await f().data());
}

afterAll(async () => {
  await tf.setBackend("cpu");
});

describe.skipIf(!available)("conv: webgpu == reference", () => {
  for (const [name, f] of cases) {
    it(name, async () => {
      const want = await on("reference", f);
      const got = await on("webgpu", f);
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[i]!))));
    });
  }
});

describe("conv: cpu == reference", () => {
  for (const [name, f] of cases) {
    it(name, async () => {
      const want = await on("reference", f);
      const got = await on("cpu", f);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
    });
  }
});
