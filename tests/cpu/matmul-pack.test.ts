// The wasm A packer (matmul-pack.ts) writes exactly the tiles of the JS packer (packATiles) for
// row-major and transposed A of awkward sizes (partial last tile, k % 4 tails, row strides past
// k, offsets, chunks packed in order), and products that use it agree with a float64 reference.
import { describe, expect, it } from "vitest";
import { packATiles, sgemmAuto, simdGemm } from "../../src/backends/cpu/matmul.js";
import { packATilesWasm, rawABytes } from "../../src/backends/cpu/matmul-pack.js";
import { MAX_PAGES } from "../../src/backends/cpu/matmul-simd.js";
import type { Strided } from "../../src/backends/cpu/matmul.js";

const data = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 0.731 * seed) * 3);

/** Packs A both ways over the chunks [0, c1), [c1, c2), ... and compares every float. */
function same(A: Strided, m: number, k: number, chunk: number): void {
  const w = simdGemm();
  if (!w) throw new Error("this runtime has no Wasm SIMD");
  const mt = Math.ceil(m / 4);
  const at = 8; // a float offset past zero, as the table gemm uses
  const raw = Math.ceil(((at + mt * 4 * k) * 4) / 16) * 16 + 16;
  const need = raw + rawABytes(A, m, k);
  if (w.mem.buffer.byteLength < need) w.mem.grow(Math.ceil((need - w.mem.buffer.byteLength) / 65536));
  const f = new Float32Array(w.mem.buffer);
  f.fill(NaN, 0, at + mt * 4 * k);
  const ref = new Float32Array(at + mt * 4 * k);
  packATiles(ref, A, m, k, at);
  let used = true;
  for (let t0 = 0; t0 < mt; t0 += chunk) {
    const t1 = Math.min(mt, t0 + chunk);
    used = packATilesWasm(w.mem, MAX_PAGES, f, A, m, k, at, raw, t0, t1, (a, b) => packATiles(f, A, m, k, at, a, b)) && used;
  }
  expect(used).toBe(true);
  const got = f.slice(at, at + mt * 4 * k);
  expect(Array.from(got)).toEqual(Array.from(ref.subarray(at)));
}

describe("wasm A packing", () => {
  it("row-major A: tiles equal to the JS packer (partial tiles, k tails, strides, offsets, chunks)", () => {
    for (const [m, k, rsPad, off, chunk] of [
      [128, 784, 0, 0, 1000],
      [128, 784, 0, 0, 16],
      [7, 9, 0, 0, 1],
      [13, 6, 3, 5, 2],
      [4, 4, 0, 0, 1],
      [33, 130, 1, 2, 3],
    ] as const) {
      const rs = k + rsPad;
      const d = data(off + m * rs, m + k);
      same({ data: d, off, rs, cs: 1 }, m, k, chunk);
    }
  });

  it("transposed A: tiles equal to the JS packer", () => {
    for (const [m, k, csPad, off, chunk] of [
      [784, 128, 0, 0, 16],
      [9, 5, 0, 0, 1],
      [30, 17, 2, 3, 4],
      [4, 1, 0, 0, 1],
    ] as const) {
      const cs = m + csPad;
      const d = data(off + k * cs, m * k);
      same({ data: d, off, rs: 1, cs }, m, k, chunk);
    }
  });

  it("leaves other layouts to the JS packer", () => {
    const d = data(64, 1);
    expect(rawABytes({ data: d, off: 0, rs: 2, cs: 16 }, 4, 4)).toBe(0);
    expect(rawABytes({ data: Int32Array.from(d), off: 0, rs: 4, cs: 1 }, 4, 4)).toBe(0);
  });

  it("the MLP's products (x·W1, xᵀ·dh) match float64", () => {
    for (const [m, k, n, trans] of [
      [128, 784, 128, false],
      [784, 128, 128, true],
      [37, 61, 19, false],
      [61, 37, 19, true],
    ] as const) {
      const a = data(m * k, 1.3);
      const b = data(k * n, 2.1);
      const A = trans ? { data: a, off: 0, rs: 1, cs: m } : { data: a, off: 0, rs: k, cs: 1 };
      const c = new Float32Array(m * n);
      sgemmAuto(A, { data: b, off: 0, rs: n, cs: 1 }, c, 0, m, n, k);
      let worst = 0;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          let mag = 0;
          for (let p = 0; p < k; p++) {
            const t = a[A.off + i * A.rs + p * A.cs]! * b[p * n + j]!;
            s += t;
            mag += Math.abs(t);
          }
          worst = Math.max(worst, Math.abs(c[i * n + j]! - s) / (mag + 1e-30));
        }
      expect(worst, `${m}x${k}x${n} trans=${trans}`).toBeLessThan(1e-5);
    }
  });
});
