// JAX's PRNG values on the WebGPU backend (lavapipe in CI): the same fixtures as
// tests/core/random-jax.test.ts, read back asynchronously.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { probeWebGpu } from "./gpu.js";

interface Fx {
  bits: { seed: number; shape: number[]; v: number[] }[];
  uniform: { seed: number; shape: number[]; minval: number; maxval: number; v: number[] }[];
  randint: { seed: number; shape: number[]; minval: number; maxval: number; v: number[] }[];
  split: { seed: number; n: number; keys: number[] }[];
  permutation: { seed: number; n: number; v: number[] }[];
}
const FX = JSON.parse(readFileSync(fileURLToPath(new URL("../fixtures/random.json", import.meta.url)), "utf8")) as Fx;
const available = await probeWebGpu();

describe.runIf(available)("random matches JAX on webgpu", () => {
  beforeAll(async () => {
    await tf.setBackend("webgpu");
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  it("bits, split, uniform on [0, 1), randint, permutation are bit-identical", async () => {
    for (const c of FX.bits)
      expect(
        Array.from(await tf.random.bits(tf.random.key(c.seed), c.shape).data(), (v) => v >>> 0),
        `bits [${c.shape}]`,
      ).toEqual(c.v);
    for (const c of FX.split) {
      const keys = await Promise.all(tf.random.split(tf.random.key(c.seed), c.n).map((k) => k.data()));
      expect(keys.flatMap((k) => Array.from(k, (v) => v >>> 0))).toEqual(c.keys);
    }
    for (const c of FX.uniform.filter((u) => u.minval === 0 && u.maxval === 1)) {
      expect(Array.from(await tf.random.uniform(tf.random.key(c.seed), c.shape).data()), `uniform [${c.shape}]`).toEqual(c.v);
    }
    for (const c of FX.randint) expect(Array.from(await tf.random.randint(tf.random.key(c.seed), c.shape, c.minval, c.maxval).data())).toEqual(c.v);
    for (const c of FX.permutation.filter((p) => p.n <= 10)) expect(Array.from(await tf.random.permutation(tf.random.key(c.seed), c.n).data())).toEqual(c.v);
  }, 120_000);
});
