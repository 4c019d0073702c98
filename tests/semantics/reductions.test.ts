// Reductions on every backend against their definition (a fold of the elementwise primitive,
// accumulated exactly in float64 here): NaN propagation of sum/max/min/prod, Inf - Inf = NaN in
// sums, empty reductions give the identity, and sums within the documented error bound
// (docs/semantics.md): CPU accumulates in float64, WebGPU in float32 blocks of 64 terms, so a
// 10M-element sum on WebGPU is as accurate as the CPU's. Sizes cross the JS, SIMD and threaded
// CPU kernels and the WebGPU per-thread and workgroup-tree kernels. Seeds are printed.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { setSimdMinElements } from "../../src/backends/cpu/simd.js";
import { probeWebGpu } from "../webgpu/gpu.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 1);
const gpu = await probeWebGpu();
const BACKENDS = ["reference", "cpu", ...(gpu ? ["webgpu"] : [])];
setSimdMinElements(1024);

type Red = "sum" | "max" | "min" | "prod";
const OPS: Record<Red, (x: Tensor) => Tensor> = {
  sum: (x) => tf.sum(x, { axis: -1 }),
  max: (x) => tf.max(x, { axis: -1 }),
  min: (x) => tf.min(x, { axis: -1 }),
  prod: (x) => tf.prod(x, { axis: -1 }),
};

/** The definition: fold of add/max/min/mul over the row, exact (float64), rounded once. */
function fold(op: Red, row: ArrayLike<number>): { value: number; exact: number; abs: number; overflow32: boolean; underflow32: boolean } {
  let v = op === "sum" ? 0 : op === "prod" ? 1 : op === "max" ? -Infinity : Infinity;
  let abs = 0;
  let big = 1;
  let tiny = 1;
  for (let i = 0; i < row.length; i++) {
    const x = row[i]!;
    if (op === "sum") v += x;
    else if (op === "prod") v *= x;
    else v = op === "max" ? Math.max(v, x) : Math.min(v, x);
    if (Number.isFinite(x)) abs += Math.abs(x);
    if (Math.abs(x) > 1) big *= Math.abs(x);
    if (Math.abs(x) < 1) tiny *= Math.abs(x);
  }
  // Whether some float32 partial result (any order) may overflow where float64 does not.
  const overflow32 = op === "sum" ? abs > 3.4028234663852886e38 : op === "prod" && big > 3.4028234663852886e38;
  // Whether some float32 partial product (any order) may fall below FLT_MIN (2^-126), losing bits
  // down to 0, where the float64 product keeps them (docs/semantics.md, Reductions).
  const underflow32 = op === "prod" && tiny < 2 ** -126;
  return { value: Math.fround(v), exact: v, abs, overflow32, underflow32 };
}

/** Allowed error of a float32 sum of n terms: CPU float64 accumulation, WebGPU blocked float32 (Σ|x| = abs). */
function sumBound(backend: string, n: number, abs: number, value: number): number {
  const ulp = Math.abs(value) * 2 ** -23 + 2 ** -149;
  // CPU: float64 partial sums in any order (unrolled, SIMD lanes, threads), then one rounding.
  if (backend !== "webgpu") return ulp + abs * n * 2 ** -53;
  return ulp + abs * 2 ** -24 * (3 * 64 + Math.log2(Math.max(n, 2)));
}

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 1e-45, 3.4e38, -3.4e38];
const vals = fc.oneof(
  fc.constantFrom(...SPECIAL),
  fc.double({ min: -4, max: 4, noNaN: true }).map(Math.fround),
  fc.double({ min: 0.5, max: 1.5, noNaN: true }).map(Math.fround),
);

describe("reductions agree with their definition on every backend", () => {
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  for (const op of ["sum", "max", "min", "prod"] as const) {
    it(`${op}: special values, empty rows, every kernel path`, async () => {
      const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
      console.log(`${op}: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
      await fc.assert(
        fc.asyncProperty(fc.array(vals, { minLength: 8, maxLength: 40 }), fc.boolean(), async (base, withSpecial) => {
          const shapes: [number, number][] = [
            [3, 0],
            [2, 7],
            [4, 1028],
            [1, 4096],
            [3, 40000],
          ];
          for (const [rows, cols] of shapes) {
            if (cols === 0 && (op === "max" || op === "min")) continue; // no identity: an error (tests/core)
            // Products of long rows overflow or vanish: use values near 1 there.
            const data = Float32Array.from({ length: rows * cols }, (_, i) => {
              const v = base[i % base.length]!;
              if (!withSpecial && !Number.isFinite(v)) return 0.75;
              return op === "prod" && cols > 64 && Number.isFinite(v) ? 1 + Math.max(-1, Math.min(1, v)) / 1e4 : v;
            });
            const want = Array.from({ length: rows }, (_, r) => fold(op, data.subarray(r * cols, (r + 1) * cols)));
            for (const backend of BACKENDS) {
              await tf.setBackend(backend);
              const got = await OPS[op](tf.tensor(data, { shape: [rows, cols] })).data();
              for (let r = 0; r < rows; r++) {
                const { value: w, exact, abs, overflow32, underflow32 } = want[r]!;
                const g = got[r]!;
                const where = `${op} on ${backend}, row ${r} of [${rows}, ${cols}]: want ${w}, got ${g}`;
                // WebGPU accumulates in float32: a partial result past FLT_MAX is ±Inf (then NaN).
                if (backend === "webgpu" && overflow32 && !Number.isFinite(g)) continue;
                // ... and a partial product below FLT_MIN keeps fewer bits, down to none: the result lies
                // between 0 and the float64 product (its sign, or a zero), up to one rounding each step.
                if (backend === "webgpu" && underflow32 && Number.isFinite(w) && Number.isFinite(g)) {
                  const inRange = g === 0 || (Math.sign(g) === Math.sign(exact) && Math.abs(g) <= Math.abs(exact) * (1 + cols * 2 ** -23) + 2 ** -149);
                  expect(inRange, where).toBe(true);
                  continue;
                }
                if (Number.isNaN(w) || !Number.isFinite(w) || op === "max" || op === "min") {
                  // NaN, ±Inf and max/min results are exact (max/min may give either sign of a zero).
                  if (w === 0 && g === 0) continue;
                  expect(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), where).toBe(true);
                } else if (op === "sum") {
                  expect(Math.abs(g - w), where).toBeLessThanOrEqual(sumBound(backend, cols, abs, w));
                } else {
                  expect(Math.abs(g - w), where).toBeLessThanOrEqual(Math.abs(w) * cols * 2 ** -23 + 2 ** -149);
                }
              }
            }
          }
        }),
        { numRuns: RUNS, seed },
      );
    }, 120_000);
  }

  it("argmax: the first NaN, else the first maximum, on every backend", async () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`argmax: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1, 1), fc.integer({ min: -3, max: 3 })), { minLength: 1, maxLength: 30 }),
        async (row) => {
          const data = Float32Array.from({ length: 3 * row.length }, (_, i) => row[(i * 7) % row.length]!);
          const want = [0, 1, 2].map((r) => {
            const x = data.subarray(r * row.length, (r + 1) * row.length);
            const nan = x.findIndex((v) => Number.isNaN(v));
            if (nan >= 0) return nan;
            let b = 0;
            for (let k = 1; k < x.length; k++) if (x[k]! > x[b]!) b = k;
            return b;
          });
          for (const backend of BACKENDS) {
            await tf.setBackend(backend);
            const got = Array.from(await tf.argmax(tf.tensor(data, { shape: [3, row.length] }), { axis: 1 }).data());
            expect(got, `argmax on ${backend} of ${Array.from(data).join(",")}`).toEqual(want);
          }
        },
      ),
      { numRuns: 4 * RUNS, seed },
    );
  }, 60_000);

  it.skipIf(!gpu)(
    "a 10M-element sum on WebGPU is as accurate as the CPU's",
    async () => {
      const n = 10_000_000;
      // 0.1 + small noise: a sequential float32 sum drifts by ~1e-3 relative here.
      const data = Float32Array.from({ length: n }, (_, i) => Math.fround(0.1 + ((i * 7919) % 1000) * 1e-6));
      let exact = 0;
      for (let i = 0; i < n; i++) exact += data[i]!;
      const rel: Record<string, number> = {};
      for (const backend of ["cpu", "webgpu"]) {
        await tf.setBackend(backend);
        const got = (await tf.sum(tf.tensor(data)).data())[0]!;
        rel[backend] = Math.abs(got - exact) / exact;
      }
      console.log(`10M sum relative error: ${JSON.stringify(rel)}`);
      expect(rel.cpu!).toBeLessThan(1e-7);
      expect(rel.webgpu!).toBeLessThan(2e-6);
    },
    120_000,
  );
});
