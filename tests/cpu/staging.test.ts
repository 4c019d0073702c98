// Big program outputs that no kernel reads are staged when their SIMD unit runs on one thread
// (simd-threads.ts `Staging`): each chunk of rows is written into one cached buffer and copied out
// right after. Their values must equal the shared path's (outputs in place) bit for bit and the
// reference backend's; outputs read again, outputs that may take a donated input's array and small
// outputs stay in place.
import { afterEach, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { STAGE_MIN_BYTES, setSimdSharing, stagingStats } from "../../src/backends/cpu/simd-threads.js";
import { hasSimd } from "../../src/backends/cpu/wasm.js";
import { close } from "../scheduler/gen.js";

const C = 1024;
// 2047 rows (8.4 MB): the last chunk of rows is a partial one
const R = 2047;
const data = (n: number, k = 0.37): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 4);
const x = tf.tensor(data(R * C), { shape: [R, C] });

/** The outputs of `f` on one thread and shared, and the staged outputs and chunks of the one-thread call. */
function both(f: (...a: Tensor[]) => Tensor | Tensor[], ...args: Tensor[]): { one: Float32Array[]; shared: Float32Array[]; outputs: number; chunks: number } {
  const g = tf.jit(f);
  const run = (): Float32Array[] => [g(...args)].flat().map((t) => Float32Array.from(t.dataSync()));
  const shared = run();
  setSimdSharing(false);
  const [o0, c0] = [stagingStats.outputs, stagingStats.chunks];
  const one = run();
  return { one, shared, outputs: stagingStats.outputs - o0, chunks: stagingStats.chunks - c0 };
}

/** The first index where two float arrays differ in bits, -1 when none (the arrays are big: no element-wise matcher). */
function firstDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.map((v) => v.length)).toEqual(b.map((v) => v.length));
  for (let j = 0; j < a.length; j++) {
    const [u, w] = [new Uint32Array(a[j]!.buffer, a[j]!.byteOffset, a[j]!.length), new Uint32Array(b[j]!.buffer, b[j]!.byteOffset, b[j]!.length)];
    for (let i = 0; i < u.length; i++) if (u[i] !== w[i]) return i;
  }
  return -1;
}

describe.skipIf(!hasSimd())("cpu staged outputs", () => {
  afterEach(() => setSimdSharing(true));

  it("softmax on one thread is staged chunk by chunk, with the shared path's bits and the reference's values", async () => {
    expect(R * C * 4).toBeGreaterThan(STAGE_MIN_BYTES);
    const { one, shared, outputs, chunks } = both((t) => tf.nn.softmax(t), x);
    expect(outputs).toBe(1);
    expect(chunks).toBeGreaterThan(100); // one per chunk of rows
    expect(firstDiff(one, shared)).toBe(-1);
    await tf.setBackend("reference");
    try {
      const ref = tf.nn.softmax(x).dataSync();
      expect(close(one[0]!, ref, 1e-6)).toBe(true);
    } finally {
      await tf.setBackend("cpu");
    }
  });

  it("stages several outputs of one unit, each from its own buffer", () => {
    const { one, shared, outputs } = both((t) => [tf.exp(tf.multiply(t, 0.5)), tf.tanh(t)], x);
    expect(outputs).toBe(2);
    expect(firstDiff(one, shared)).toBe(-1);
    const xs = x.dataSync();
    for (const i of [0, 1, C + 3, R * C - 1]) {
      expect(one[0]![i]).toBeCloseTo(Math.exp(0.5 * xs[i]!), 4);
      expect(one[1]![i]).toBeCloseTo(Math.tanh(xs[i]!), 6);
    }
  });

  it("keeps in place an output another kernel reads, reductions and small outputs", () => {
    const read = both((t) => {
      const e = tf.exp(tf.multiply(t, 0.25));
      return [e, tf.sum(e, { axis: -1 })];
    }, x);
    expect(read.outputs).toBe(0);
    expect(firstDiff(read.one, read.shared)).toBe(-1);
    const small = tf.tensor(data(256 * C), { shape: [256, C] });
    const s = both((t) => tf.nn.softmax(t), small);
    expect(s.outputs).toBe(0);
    expect(firstDiff(s.one, s.shared)).toBe(-1);
  });

  it("keeps in place an output that may take a donated input's array, over consecutive steps", () => {
    const step = (p: Tensor, g: Tensor): Tensor => tf.subtract(p, tf.multiply(0.125, tf.tanh(g)));
    const g = tf.tensor(data(R * C, 0.11), { shape: [R, C] });
    const loop = (donate: boolean): Float32Array => {
      const f = tf.jit(step, donate ? { donateArgnums: [0] } : {});
      let p = tf.tensor(data(R * C), { shape: [R, C] });
      for (let i = 0; i < 3; i++) p = f(p, g);
      return Float32Array.from(p.dataSync());
    };
    const plain = loop(false);
    setSimdSharing(false);
    const o0 = stagingStats.outputs;
    const donated = loop(true);
    expect(stagingStats.outputs - o0).toBe(0);
    expect(firstDiff([donated], [plain])).toBe(-1);
  });
});
