// Every call that shares work with a helper thread is protected (helper-guard.ts): a failure
// injected into a gemm helper or a SIMD kernel helper (an exception in its kernel, or a helper
// that stops answering) surfaces as a HelperThreadError in the caller instead of a hang in
// Atomics.wait, and the backend still computes correct results afterwards.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { gatherStats, sgemm, sgemmAuto, simdGemm, threadCount } from "../../src/backends/cpu/matmul.js";
import { HelperThreadError, injectHelperFailure, injectedPending } from "../../src/backends/cpu/helper-guard.js";
import { setSimdMinElements, simdHelpers, simdThreads } from "../../src/backends/cpu/simd.js";
import { hasSimd } from "../../src/backends/cpu/wasm.js";

const threaded = hasSimd() && threadCount() > 1 && typeof SharedArrayBuffer !== "undefined";

function data(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) x[i] = (((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24)) * 4 - 2;
  return x;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The SIMD gemm of a 256³ product (big enough to be split with the helpers) and its JS reference. */
function product(): { run: () => Float32Array; want: Float32Array } {
  const [m, n, k] = [256, 256, 256];
  const A = { data: data(m * k, 1), off: 0, rs: k, cs: 1 };
  const B = { data: data(k * n, 2), off: 0, rs: n, cs: 1 };
  const want = new Float32Array(m * n);
  sgemm(A, B, want, 0, m, n, k);
  return {
    run: () => {
      const c = new Float32Array(m * n);
      sgemmAuto(A, B, c, 0, m, n, k);
      return c;
    },
    want,
  };
}

function maxRel(got: Float32Array, want: Float32Array): number {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  return e;
}

async function gemmHelpersReady(): Promise<number> {
  const w = simdGemm()!;
  for (let i = 0; i < 300 && !w.workers.some((x) => x.ready || Atomics.load(x.ctl, 10) === 1); i++) await wait(10);
  return w.workers.length;
}

const sm = (x: Tensor): Tensor => {
  const e = tf.exp(tf.subtract(x, tf.max(x, { axis: -1, keepdims: true })));
  return tf.divide(e, tf.sum(e, { axis: -1, keepdims: true }));
};
const rows = data(600 * 1024, 7);
function softmaxOn(backend: string): Float32Array {
  tf.setBackend(backend);
  return tf
    .jit(sm)(tf.tensor(rows, { shape: [600, 1024] }))
    .dataSync() as Float32Array;
}

describe("helper thread failures surface as errors (no hang)", () => {
  afterAll(() => {
    setSimdMinElements(1);
    tf.setBackend("cpu");
  });

  it.runIf(threaded)("gemm helper: an exception in its kernel throws HelperThreadError in the caller; the helper keeps working", async () => {
    expect(await gemmHelpersReady()).toBeGreaterThan(0);
    const p = product();
    injectHelperFailure("gemm", "throw");
    expect(() => p.run()).toThrow(HelperThreadError);
    expect(() => {
      injectHelperFailure("gemm", "throw");
      p.run();
    }).toThrow(/cpu matmul: 1 helper thread\(s\) threw/);
    expect(injectedPending("gemm")).toBe(false);
    const before = simdGemm()!.workers.length;
    expect(maxRel(p.run(), p.want)).toBeLessThan(1e-4);
    expect(simdGemm()!.workers.length).toBe(before); // the helper survived its exception
    // Through the public API too: the error reaches the read, and the next read is right.
    tf.setBackend("cpu");
    const a = tf.tensor(data(256 * 256, 3), { shape: [256, 256] });
    const b = tf.tensor(data(256 * 256, 4), { shape: [256, 256] });
    injectHelperFailure("gemm", "throw");
    expect(() => tf.matmul(a, b).dataSync()).toThrow(HelperThreadError);
    const got = tf.matmul(a, b).dataSync() as Float32Array;
    tf.setBackend("reference");
    const want = tf
      .matmul(tf.tensor(data(256 * 256, 3), { shape: [256, 256] }), tf.tensor(data(256 * 256, 4), { shape: [256, 256] }))
      .dataSync() as Float32Array;
    tf.setBackend("cpu");
    expect(maxRel(got, want)).toBeLessThan(1e-4);
  });

  it.runIf(threaded)("table gemm helper, started while the caller packs each batch entry's A: an exception throws; the next call is right", async () => {
    expect(await gemmHelpersReady()).toBeGreaterThan(0);
    const [sa, sb] = [
      [16, 32, 96],
      [16, 96, 900],
    ];
    const ab = (): Tensor[] => [tf.tensor(data(16 * 32 * 96, 5), { shape: sa }), tf.tensor(data(16 * 96 * 900, 6), { shape: sb })];
    tf.setBackend("reference");
    const want = tf.matmul(...(ab() as [Tensor, Tensor])).dataSync() as Float32Array;
    tf.setBackend("cpu");
    const f = tf.jit((a: Tensor, b: Tensor) => tf.matmul(a, b));
    const [a, b] = ab();
    const [calls, gated] = [gatherStats.calls, gatherStats.gated];
    injectHelperFailure("gemm", "throw");
    expect(() => f(a!, b!).dataSync()).toThrow(/cpu convolution \(table gemm\): 1 helper thread\(s\) threw/);
    expect(injectedPending("gemm")).toBe(false);
    expect(maxRel(f(a!, b!).dataSync() as Float32Array, want)).toBeLessThan(1e-4);
    expect(gatherStats.calls - calls).toBe(2);
    expect(gatherStats.gated - gated).toBe(2);
  });

  it.runIf(threaded)("SIMD kernel helper: an exception throws HelperThreadError; later kernels are still correct and shared", async () => {
    setSimdMinElements(4096);
    simdHelpers();
    for (let i = 0; i < 300 && simdHelpers().length === 0; i++) await wait(10);
    expect(simdThreads()).toBeGreaterThan(1);
    expect(simdHelpers().length).toBeGreaterThan(0);
    const want = softmaxOn("reference");
    injectHelperFailure("simd", "throw");
    expect(() => softmaxOn("cpu")).toThrow(/cpu SIMD kernel: 1 helper thread\(s\) threw/);
    expect(injectedPending("simd")).toBe(false);
    const rowsBefore = simdHelpers().reduce((s, r) => s + r, 0);
    expect(maxRel(softmaxOn("cpu"), want)).toBeLessThan(1e-5);
    expect(simdHelpers().length).toBeGreaterThan(0);
    expect(simdHelpers().reduce((s, r) => s + r, 0)).toBeGreaterThanOrEqual(rowsBefore);
  });

  it.runIf(threaded)(
    "a helper that stops answering is dropped after the timeout with an error; the work then runs without it",
    async () => {
      // SIMD helpers first, then the gemm helper (this test drops the helpers it hangs).
      setSimdMinElements(4096);
      const want = softmaxOn("reference");
      const simdBefore = simdHelpers().length;
      injectHelperFailure("simd", "hang");
      expect(() => softmaxOn("cpu")).toThrow(/cpu SIMD kernel: 1 helper thread\(s\) stopped responding/);
      expect(simdHelpers().length).toBe(simdBefore - 1);
      expect(maxRel(softmaxOn("cpu"), want)).toBeLessThan(1e-5);

      expect(await gemmHelpersReady()).toBeGreaterThan(0);
      const p = product();
      const gemmBefore = simdGemm()!.workers.length;
      injectHelperFailure("gemm", "hang");
      expect(() => p.run()).toThrow(/cpu matmul: 1 helper thread\(s\) stopped responding/);
      expect(simdGemm()!.workers.length).toBe(gemmBefore - 1);
      expect(maxRel(p.run(), p.want)).toBeLessThan(1e-4);
    },
    20000,
  );
});
