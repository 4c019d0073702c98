// WebGPU `pow` at the edges of float32 (found by the differential test, seed 1205564812): integer
// negative powers whose positive power overflows float32 (20^-30 = 9.3e-40, a denormal) went
// through 1 / Inf = 0. They now go through the scaled exp2 path; results must match the CPU
// backend (C pow rounded to float32) within the documented 128 ulp (docs/semantics.md), counting
// ulps at the denormal spacing below 2^-126.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { probeWebGpu } from "./gpu.js";

const available = await probeWebGpu();
const BASES = [20, -20, 10, 3, 1.5, 7, 2, 0.5, 100, -3];
const EXPS = [-30, -29, -28, -40, -64, -60, -38, -37, -149, -126, -127, -150, 30, 64];

/** Distance in float32 ulps (denormal spacing 2^-149 below 2^-126). */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  const spacing = (x: number): number => Math.max(2 ** -149, 2 ** (Math.floor(Math.log2(Math.abs(x))) - 23));
  return Math.abs(a - b) / spacing(Math.max(Math.abs(a), Math.abs(b)));
}

describe.skipIf(!available)("webgpu pow edges", () => {
  beforeAll(async () => {
    await tf.setBackend("webgpu");
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  it("negative integer powers with denormal or tiny results match the cpu backend", async () => {
    const a = BASES.flatMap((x) => EXPS.map(() => x));
    const b = BASES.flatMap(() => EXPS);
    const gpu = await tf.pow(tf.tensor(a), tf.tensor(b)).data();
    await tf.setBackend("cpu");
    const cpu = tf.pow(tf.tensor(a), tf.tensor(b)).dataSync();
    await tf.setBackend("webgpu");
    const bad: string[] = [];
    cpu.forEach((want, i) => {
      if (ulps(want, gpu[i]!) > 128) bad.push(`pow(${a[i]}, ${b[i]}): cpu ${want}, webgpu ${gpu[i]}`);
    });
    expect(bad).toEqual([]);
    // the case the differential test found, by hand: 20^-30 = 9.313225746e-40 (denormal)
    expect(gpu[0]).toBeGreaterThan(9.3e-40);
    expect(gpu[0]).toBeLessThan(9.33e-40);
  });
});
