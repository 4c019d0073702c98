// Small kernels with a transcendental (exp, tanh, log, ...) run in Wasm SIMD from an eighth of the
// usual size (their JS costs 10–30 ns an element), agreeing with the reference backend; small
// multi-output groups that only such a kernel would split stay one JS group; and the arena's chunk
// views (ChunkViews) copy exactly what a fresh view would, across calls and memory growth.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { simdMemory, simdPlan } from "../../src/backends/cpu/simd.js";
import { ChunkViews } from "../../src/backends/cpu/simd-threads.js";
import { fusedStats } from "../../src/backends/cpu/fused-update.js";
import type { ElementwiseKernel, ReduceKernel } from "../../src/scheduler/ir.js";

const data = (n: number, scale = 1, seed = 1): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * scale);

/** f's jitted kernels for inputs of these shapes, and whether each has a SIMD plan. */
function planned(f: (...x: Tensor[]) => Tensor | Tensor[], ...shapes: number[][]): { kernel: string; simd: boolean }[] {
  const ks = tf.jit(f).lower(...shapes.map((s) => tf.ones(s))).program.kernels as readonly (ElementwiseKernel | ReduceKernel)[];
  return ks.map((k) => ({ kernel: `${k.kind}:${k.body.map((i) => ("fn" in i ? i.fn : i.op)).join(",")}`, simd: simdPlan(k) !== undefined }));
}

/** Agreement within 2^-22 relative (the ops' ulp bounds), or `abs` (a result of cancellation). */
function agree(f: (...x: Tensor[]) => Tensor, args: { data: Float32Array; shape: number[] }[], abs = 0): void {
  const run = (backend: string): Float32Array => {
    tf.setBackend(backend);
    return tf
      .jit(f)(...args.map((a) => tf.tensor(a.data, { shape: a.shape })))
      .dataSync() as Float32Array;
  };
  const want = run("reference");
  const got = run("cpu");
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (!(Object.is(g, w) || Math.abs(g - w) <= Math.max(2 ** -22 * Math.abs(w), abs))) expect.fail(`element ${i}: ${g} vs reference ${w}`);
  }
}

describe.skipIf(!simdMemory())("small transcendental kernels in Wasm SIMD", () => {
  afterAll(() => tf.setBackend("cpu"));

  it("a 128×10 exp kernel is planned for SIMD, a 128×10 add is not, a 37-element exp is not", () => {
    expect(planned((a) => tf.exp(a), [128, 10])).toEqual([{ kernel: expect.stringMatching(/exp/), simd: true }]);
    expect(planned((a, b) => tf.add(a, b), [128, 10], [128, 10])).toEqual([{ kernel: expect.any(String), simd: false }]);
    expect(planned((a) => tf.exp(a), [37])).toEqual([{ kernel: expect.any(String), simd: false }]);
    // a reduction with exp in its body (logsumexp's sum of exponentials over 10 columns)
    const lse = planned((a) => tf.logsumexp(a, { axis: -1 }), [128, 10]);
    expect(lse.filter((k) => /exp/.test(k.kernel)).every((k) => k.simd)).toBe(true);
  });

  it("agree with the reference backend: exp, tanh, log, log1p, expm1, erf, logsumexp and softmax's gradient at 128×10", () => {
    const x = data(1280, 4);
    x.set([NaN, Infinity, -Infinity, 0, -0, 88.8, -104, 1e-6], 0);
    const pos = data(1280, 4).map((v) => Math.abs(v) + 1e-3);
    for (const f of [tf.exp, tf.tanh, tf.expm1, tf.erf]) agree((a) => f(a), [{ data: x, shape: [128, 10] }]);
    for (const f of [tf.log, tf.log1p]) agree((a) => f(a), [{ data: pos, shape: [128, 10] }]);
    agree((a) => tf.logsumexp(a, { axis: -1, keepdims: true }), [{ data: data(1280, 30), shape: [128, 10] }]);
    const y = data(1280, 1, 5);
    // s·(b − Σ s·b): the subtraction cancels, so 1-ulp exps differ from the reference's by up to ≈ 1e-8 absolute
    const args = [
      { data: data(1280, 3), shape: [128, 10] },
      { data: y, shape: [128, 10] },
    ];
    agree((a, b) => tf.grad((z: Tensor) => tf.sum(tf.multiply(tf.nn.softmax(z), b)))(a) as Tensor, args, 2 ** -24);
  });

  it("a small multi-output group that only an exp would split stays one JS group", () => {
    const f = tf.jit((a: Tensor, b: Tensor) => [tf.add(tf.multiply(a, 0.9), b), tf.exp(tf.add(tf.multiply(a, 0.9), b)), tf.multiply(b, b)]);
    const [a, b] = [tf.tensor(data(1280), { shape: [128, 10] }), tf.tensor(data(1280, 1, 3), { shape: [128, 10] })];
    const js0 = fusedStats.js;
    const simd0 = fusedStats.simd;
    const outs = f(a, b) as Tensor[];
    const got = outs.map((t) => t.dataSync() as Float32Array);
    // the values, whichever way the group ran
    const [ad, bd] = [a.dataSync(), b.dataSync()];
    for (let i = 0; i < 1280; i++) {
      const s = Math.fround(Math.fround(ad[i]! * Math.fround(0.9)) + bd[i]!);
      expect(got[0]![i]).toBe(s);
      expect(Math.abs(got[1]![i]! - Math.exp(s))).toBeLessThanOrEqual(2 ** -22 * Math.exp(s));
      expect(got[2]![i]).toBe(Math.fround(bd[i]! * bd[i]!));
    }
    // one JS group ran them (not the exp alone in SIMD and the rest unfused)
    expect([fusedStats.js - js0, fusedStats.simd - simd0]).toEqual([1, 0]);
  });
});

describe("ChunkViews", () => {
  it("copies aligned and unaligned ranges like a fresh view, reusing its views, and follows memory growth", () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 8 });
    const fill = (): void => {
      const f = new Float32Array(mem.buffer);
      for (let i = 0; i < f.length; i++) f[i] = i * 0.5 + (mem.buffer.byteLength >> 16);
    };
    fill();
    const cv = new ChunkViews();
    const check = (from: number, a: number, b: number, step: number): void => {
      const out = new Float32Array(b + 3).fill(-1);
      cv.copy(mem, from, a, b, step, out);
      const want = new Float32Array(b + 3).fill(-1);
      want.set(new Float32Array(mem.buffer).subarray(from + a, from + b), a);
      expect(out).toEqual(want);
    };
    for (const [a, b] of [
      [0, 100],
      [0, 64],
      [32, 96],
      [96, 100],
      [5, 77],
      [0, 0],
    ] as const) {
      check(16, a, b, 32);
      check(16, a, b, 32); // the cached views
    }
    mem.grow(1); // a non-shared memory's old buffer is detached: the views are made again
    fill();
    check(16, 0, 100, 32);
    check(1000, 40, 9000, 1000);
    expect(cv.whole(mem).length).toBe(mem.buffer.byteLength / 4);
  });
});
