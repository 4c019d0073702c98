// The runtime-generated Wasm SIMD gemm (packed operands, K blocks, edge tiles, helper threads)
// agrees with a float64 reference on strided operands of awkward sizes.
import { describe, expect, it } from "vitest";
import { gemmSplits, sgemmAuto, simdGemm, threadCount } from "../../src/backends/cpu/matmul.js";
import { hasSimd, sleb, uleb } from "../../src/backends/cpu/wasm.js";

/** Starts the gemm's helper threads and waits (up to 10 s: CI's machine may be loaded) until all are ready. */
async function helpersReady(): Promise<void> {
  const w = simdGemm()!;
  for (const end = Date.now() + 10_000; Date.now() < end && !w.workers.every((x) => Atomics.load(x.ctl, 10) === 1);)
    await new Promise((r) => setTimeout(r, 10));
}

/** C = A·B vs float64; B is a column slice (row stride n + bPad, offset 1) when bPad > 0. */
function check(m: number, k: number, n: number, transA: boolean, bPad = 0): void {
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37));
  const ld = n + bPad;
  const b = Float32Array.from({ length: k * ld }, (_, i) => Math.cos(i * 0.11));
  const A = transA ? { data: a, off: 0, rs: 1, cs: m } : { data: a, off: 0, rs: k, cs: 1 };
  const B = { data: b, off: bPad ? 1 : 0, rs: ld, cs: 1 };
  const c = new Float32Array(m * n + 3).fill(7);
  sgemmAuto(A, B, c, 3, m, n, k);
  expect(Array.from(c.subarray(0, 3))).toEqual([7, 7, 7]);
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let mag = 0;
      for (let p = 0; p < k; p++) {
        const t = a[A.off + i * A.rs + p * A.cs]! * b[B.off + p * ld + j]!;
        s += t;
        mag += Math.abs(t);
      }
      worst = Math.max(worst, Math.abs(c[3 + i * n + j]! - s) / (mag + 1e-30));
    }
  }
  expect(worst).toBeLessThan(1e-5);
}

describe("wasm simd gemm", () => {
  it("encodes LEB128", () => {
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
  });

  it("matches float64 on edge tiles, K blocks and transposed operands", () => {
    if (!hasSimd()) return;
    expect(simdGemm()).not.toBeNull();
    for (const [m, k, n] of [
      [33, 70, 45],
      [5, 300, 17],
      [130, 257, 67],
    ] as const) {
      check(m, k, n, false);
      check(m, k, n, true);
    }
  });

  it("matches float64 on a product big enough for the helper threads", async () => {
    if (!hasSimd()) return;
    await helpersReady();
    check(200, 300, 130, false);
    check(200, 300, 130, true, 5); // B a column slice: rows copied one by one before packing
    // 33 row tiles: chunks smaller than the M block (two or more per thread), a short last one
    const rows = gemmSplits.rows;
    check(130, 300, 131, false);
    check(130, 300, 131, true);
    if (threadCount() > 1 && typeof SharedArrayBuffer !== "undefined") expect(gemmSplits.rows).toBeGreaterThan(rows);
  });

  it("splits a wide product with few rows (conv-shaped) by column panels across the helper threads", async () => {
    if (!hasSimd()) return;
    await helpersReady();
    const before = gemmSplits.columns;
    check(60, 70, 2105, false); // 15 row tiles (≤ one M block), 264 column panels, odd tail
    if (threadCount() > 1 && typeof SharedArrayBuffer !== "undefined") expect(gemmSplits.columns).toBeGreaterThan(before);
  });
});
