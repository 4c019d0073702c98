// Row max/min reductions of the Wasm SIMD kernels (simd.ts): one pmax/pmin per vector with the
// NaN lanes tracked apart must equal the reference exactly — a NaN in any lane of any unrolled
// accumulator or of the masked tail vector gives NaN, ±Infinity rows, rows of one value — and
// softmax built on them stays within its bound around such rows; a softmax result kept by the
// caller is never overwritten by later calls.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { setSimdMinElements, simdMemory } from "../../src/backends/cpu/simd.js";

function on(backend: string, f: (x: Tensor) => Tensor, data: Float32Array, shape: number[]): Float32Array {
  tf.setBackend(backend);
  try {
    return tf.jit(f)(tf.tensor(data, { shape })).dataSync() as Float32Array;
  } finally {
    tf.setBackend("cpu");
  }
}

/** Rows of `cols` logits; row r > 0 has a NaN at column r − 1 (every lane and unroll slot), then special rows. */
function rows(cols: number): { data: Float32Array; n: number } {
  const nanRows = Math.min(cols, 40);
  const n = nanRows + 5;
  const x = Float32Array.from({ length: n * cols }, (_, i) => Math.sin(i * 12.9898 + cols) * 50);
  for (let r = 1; r < nanRows; r++) x[r * cols + r - 1] = NaN;
  x[nanRows * cols + cols - 1] = NaN; // the last element (the tail vector when cols % 4 > 0)
  x.fill(-Infinity, (nanRows + 1) * cols, (nanRows + 2) * cols);
  x.fill(Infinity, (nanRows + 2) * cols, (nanRows + 3) * cols);
  x.fill(3.5, (nanRows + 3) * cols, (nanRows + 4) * cols);
  x[(nanRows + 4) * cols + (cols >> 1)] = Infinity; // one +Inf among finite values
  return { data: x, n };
}

describe.skipIf(!simdMemory())("SIMD row max/min", () => {
  beforeAll(() => setSimdMinElements(1));
  afterAll(() => setSimdMinElements(4096));

  for (const cols of [1, 3, 4, 5, 8, 12, 16, 17, 31, 64, 1023, 1024]) {
    it(`equal the reference exactly over rows of ${cols} (NaN in every position, ±Infinity rows)`, () => {
      const { data, n } = rows(cols);
      for (const f of [(t: Tensor) => tf.max(t, { axis: -1 }), (t: Tensor) => tf.min(t, { axis: -1 }), (t: Tensor) => tf.max(tf.negative(t), { axis: -1 })]) {
        const want = on("reference", f, data, [n, cols]);
        const got = on("cpu", f, data, [n, cols]);
        expect(got.length).toBe(n);
        for (let r = 0; r < n; r++) expect(Number.isNaN(got[r]!) ? NaN : got[r], `row ${r}`).toBe(Number.isNaN(want[r]!) ? NaN : want[r]);
      }
      const sm = on("cpu", (t) => tf.nn.softmax(t), data, [n, cols]);
      const ref = on("reference", (t) => tf.nn.softmax(t), data, [n, cols]);
      for (let i = 0; i < sm.length; i++) {
        const [g, w] = [sm[i]!, ref[i]!];
        if (Number.isNaN(w)) expect(g, `[${i}]`).toBeNaN();
        else expect(Math.abs(g - w), `[${i}] got ${g} want ${w}`).toBeLessThanOrEqual(4 * 2 ** -23 * Math.max(Math.abs(w), 2 ** -126));
      }
    });
  }
});

describe.skipIf(!simdMemory())("softmax results kept by the caller", () => {
  it("a result array from dataSync() is never overwritten by later calls (arena, early copy-out, helper threads)", () => {
    const [R, C] = [300, 1024];
    const a = Float32Array.from({ length: R * C }, (_, i) => Math.sin(i * 0.37) * 6);
    const b = Float32Array.from({ length: R * C }, (_, i) => Math.cos(i * 0.11) * 9);
    const f = tf.jit((t: Tensor) => tf.nn.softmax(t));
    const first = f(tf.tensor(a, { shape: [R, C] })).dataSync() as Float32Array;
    const saved = first.slice();
    const second = f(tf.tensor(b, { shape: [R, C] })).dataSync() as Float32Array;
    const third = f(tf.tensor(a, { shape: [R, C] })).dataSync() as Float32Array;
    expect(second).not.toBe(first);
    expect(third).not.toBe(first);
    const differing = (u: Float32Array, v: Float32Array): number => u.reduce((n, x, i) => n + (Object.is(x, v[i]) ? 0 : 1), 0);
    expect(differing(first, saved)).toBe(0);
    expect(differing(third, saved)).toBe(0);
    const want = on("reference", (t) => tf.nn.softmax(t), b, [R, C]);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(second[i]! - want[i]!) / (2 ** -23 * Math.max(Math.abs(want[i]!), 2 ** -126)));
    expect(worst).toBeLessThanOrEqual(4);
  });
});
