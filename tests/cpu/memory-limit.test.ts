// Work that would not fit the wasm memory (2 GiB at most) runs on the JS kernels instead of
// failing to grow it. The limit is lowered here so that small shapes take the fallbacks: plain,
// batched and implicit-im2col products and SIMD elementwise/row kernels, all vs the reference.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { gatherStats, setWasmMemoryLimit, wasmMemoryLimit } from "../../src/backends/cpu/matmul.js";
import { close } from "../scheduler/gen.js";

const real = (seed: number, shape: number[]): Tensor => tf.tensor(tf.random.normal(tf.random.key(seed), shape).dataSync(), { shape });

describe("cpu wasm memory limit", () => {
  const saved = wasmMemoryLimit();
  beforeAll(() => setWasmMemoryLimit(16 * 1024));
  afterAll(async () => {
    setWasmMemoryLimit(saved);
    await tf.setBackend("cpu");
  });

  it.each([
    ["matmul", [64, 80], [80, 96], (a: Tensor, b: Tensor) => tf.matmul(a, b)],
    ["batched matmul", [6, 40, 50], [6, 50, 60], (a: Tensor, b: Tensor) => tf.matmul(a, b)],
    [
      "conv fwd + weight gradient",
      [4, 8, 12, 12],
      [16, 8, 3, 3],
      (x: Tensor, w: Tensor) => tf.grad((v: Tensor) => tf.sum(tf.square(tf.conv(x, v, { padding: "SAME" }))))(w),
    ],
    ["softmax rows", [64, 512], [1], (x: Tensor) => tf.nn.softmax(x)],
  ] as const)("%s falls back to JS kernels", async (_name, sa, sb, f) => {
    const [a, b] = [real(1, [...sa]), real(2, [...sb])];
    await tf.setBackend("reference");
    const want = Float32Array.from(f(a, b).dataSync());
    await tf.setBackend("cpu");
    const before = gatherStats.calls;
    const got = Float32Array.from(tf.jit(f)(a, b).dataSync());
    expect(gatherStats.calls).toBe(before);
    expect(close(got, want, 1e-4)).toBe(true);
  });
});
