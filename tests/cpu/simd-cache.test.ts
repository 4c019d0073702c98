// The Wasm SIMD kernel caches are bounded LRU caches (simd.ts on the calling thread,
// simd-threads.ts per helper thread): 3,000 distinct shapes keep the entry counts at their
// documented limits (cpuCacheStats), and kernels evicted and compiled again still compute right.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { cpuCacheStats } from "../../src/backends/cpu/cache-stats.js";
import { setSimdMinElements, simdHelpers, simdThreads } from "../../src/backends/cpu/simd.js";
import { hasSimd } from "../../src/backends/cpu/wasm.js";

function data(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) x[i] = (((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24)) * 4 - 2;
  return x;
}

/** Row sums of exp(x) in float64 (the reference). */
function expRowSums(x: Float32Array, rows: number, cols: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[r * cols + j]!);
    return s;
  });
}

describe("bounded SIMD kernel caches", () => {
  afterAll(() => setSimdMinElements(1));

  it.runIf(hasSimd())(
    "3,000 distinct shapes keep the calling thread's SIMD cache at its limit; evicted kernels recompile correctly",
    () => {
      tf.setBackend("cpu");
      setSimdMinElements(1);
      const start = cpuCacheStats();
      expect(start.simdKernelLimit).toBe(256);
      const x = data(3 * 4096, 5);
      let peak = 0;
      let consts = -1;
      for (let i = 0; i < 3000; i++) {
        const cols = 4 + 4 * (i % 1000);
        const rows = 1 + Math.floor(i / 1000);
        const got = tf.sum(tf.exp(tf.tensor(x.subarray(0, rows * cols), { shape: [rows, cols] })), { axis: -1 }).dataSync();
        if (i % 500 === 7)
          expect(
            Array.from(got)
              .map((v, r) => Math.abs(v - expRowSums(x, rows, cols)[r]!) / expRowSums(x, rows, cols)[r]!)
              .every((e) => e < 1e-5),
          ).toBe(true);
        peak = Math.max(peak, cpuCacheStats().simdKernels);
        if (i === 0) consts = cpuCacheStats().simdConstants;
      }
      const end = cpuCacheStats();
      // The constant table holds the lane code's constants only: the same after 3,000 kernels.
      expect(end.simdConstants).toBe(consts);
      expect(end.simdConstants).toBeGreaterThan(0);
      expect(end.simdConstants).toBeLessThanOrEqual(end.simdConstantLimit);
      expect(peak).toBe(end.simdKernelLimit); // it filled up, and never went past
      expect(end.simdKernels).toBe(end.simdKernelLimit);
      expect(end.jsKernels).toBeLessThanOrEqual(end.jsKernelLimit);
      // The first shapes were evicted: running one again compiles it anew, still right.
      const got = tf.sum(tf.exp(tf.tensor(x.subarray(0, 8), { shape: [1, 8] })), { axis: -1 }).dataSync();
      expect(Math.abs(got[0]! - expRowSums(x, 1, 8)[0]!) / expRowSums(x, 1, 8)[0]!).toBeLessThan(1e-5);
    },
    120000,
  );

  it.runIf(hasSimd())(
    "each helper thread keeps at most its limit of kernels over more distinct big kernels than that",
    async () => {
      tf.setBackend("cpu");
      setSimdMinElements(1);
      if (simdThreads() <= 1) return;
      simdHelpers();
      for (let i = 0; i < 300 && simdHelpers().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const limit = cpuCacheStats().helperKernelLimit;
      const cols = 1024;
      const x = data((256 + limit + 40) * cols, 9);
      let peak = 0;
      for (let i = 0; i < limit + 40; i++) {
        const rows = 256 + i;
        const got = tf.sum(tf.exp(tf.tensor(x.subarray(0, rows * cols), { shape: [rows, cols] })), { axis: -1 }).dataSync();
        if (i % 50 === 3) {
          const want = expRowSums(x, rows, cols);
          expect(Array.from(got).every((v, r) => Math.abs(v - want[r]!) / want[r]! < 1e-5)).toBe(true);
        }
        peak = Math.max(peak, ...cpuCacheStats().helperKernels);
      }
      expect(simdHelpers().reduce((a, b) => a + b, 0)).toBeGreaterThan(0); // the helpers did run rows
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(limit);
    },
    120000,
  );
});
