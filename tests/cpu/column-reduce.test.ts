// Reductions over leading axes (column sums, softmax over axis 0) run in the CPU's JS code row by
// row into an array of accumulators (src/backends/cpu/codegen-reduce.ts: the input read in
// memory order instead of with the reduced stride). The fold's order is unspecified, so the
// results must equal the reference backend's exactly: sum, prod, max, min, mean, logsumexp and
// softmax over random leading axes, float32 with NaN and ±Inf, int32 wrapping sums.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { reduceFn, setColumnReduceMin } from "../../src/backends/cpu/codegen-reduce.js";
import { setSimdMinElements } from "../../src/backends/cpu/simd.js";
import { runSeed } from "../scheduler/gen.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 40);
/** Equal up to `rel` (0: the same float32, ±0 alike; transcendental bodies: their documented ulps). */
const same = (a: readonly number[], b: readonly number[], rel = 0): boolean =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (v === 0 && b[i] === 0) || Math.abs(v - b[i]!) <= rel * Math.abs(b[i]!));

async function on(backend: string, f: () => Tensor): Promise<number[]> {
  await tf.setBackend(backend);
  return Array.from(f().dataSync());
}

const ops: [string, (x: Tensor, axis: number[]) => Tensor, number][] = [
  ["sum", (x, axis) => tf.sum(x, { axis }), 0],
  ["prod", (x, axis) => tf.prod(x, { axis }), 0],
  ["max", (x, axis) => tf.max(x, { axis }), 0],
  ["min", (x, axis) => tf.min(x, { axis }), 0],
  ["mean", (x, axis) => tf.mean(x, { axis }), 0],
  ["sum of exp", (x, axis) => tf.sum(tf.exp(x), { axis }), 4e-7],
  ["logsumexp", (x, axis) => tf.logsumexp(x, { axis }), 4e-7],
  ["mean of 2x", (x, axis) => tf.mean(tf.multiply(x, 2), { axis }), 0],
  // reductions to one value whose terms read per-row values (the last axis as the columns)
  ["mean of softmax", (x) => tf.mean(tf.nn.softmax(x)), 1e-6],
  ["sum of x times its row", (x) => tf.sum(tf.multiply(x, tf.reshape(tf.arange(x.shape[0]!), [x.shape[0]!, ...x.shape.slice(1).map(() => 1)]))), 0],
];

for (const simd of [false, true])
  describe(`reductions over leading axes ≡ reference (${simd ? "Wasm SIMD column plans" : "JS, row by row"})`, () => {
    // the row-by-row order (by default from 64K elements) or the SIMD column plans (from 4096) on
    // small inputs too
    beforeAll(() => (simd ? setSimdMinElements(16) : setColumnReduceMin(0)));
    afterAll(async () => {
      setColumnReduceMin(1 << 16);
      setSimdMinElements(4096);
      await tf.setBackend("cpu");
    });

    it("float32 (NaN, ±Inf) and int32, one or two leading axes reduced", async () => {
      const seed = runSeed(`cpu-column-reduce-${simd ? "simd" : "js"}`);
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            shape: fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 2, maxLength: 3 }),
            lead: fc.integer({ min: 1, max: 2 }),
            vals: fc.array(fc.constantFrom(0, 1, -1, 0.5, 2, -3, 1e30, NaN, Infinity, -Infinity), { minLength: 1, maxLength: 6 }),
            int: fc.boolean(),
            seed: fc.integer({ min: 0, max: 1 << 30 }),
          }),
          async ({ shape, lead, vals, int, seed }) => {
            const axis = Array.from({ length: Math.min(lead, shape.length - 1) }, (_, i) => i);
            const n = shape.reduce((a, b) => a * b, 1);
            let s = seed;
            const data = Array.from({ length: n }, () => vals[(s = (s * 1103515245 + 12345) & 0x7fffffff) % vals.length]!);
            const x = int
              ? tf.tensor(
                  data.map((v, i) => (Number.isFinite(v) && Math.abs(v) < 10 ? Math.trunc(v * 7e8) : i)),
                  { shape, dtype: "int32" },
                )
              : tf.tensor(data, { shape });
            for (const [name, f, rel] of ops) {
              if (int && name !== "sum" && name !== "max" && name !== "min") continue;
              // (a float64 product that both overflows and reaches 0 is order-dependent: documented)
              if (name === "prod" && data.includes(1e30)) continue;
              const want = await on("reference", () => f(x, axis));
              const got = await on("cpu", () => tf.jit((a: Tensor) => f(a, axis))(x));
              expect(
                same(got, want, rel),
                `${name} over ${JSON.stringify(axis)} of [${shape.join(", ")}]: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`,
              ).toBe(true);
            }
          },
        ),
        { seed, numRuns: RUNS },
      );
    });

    it("big enough for the helper threads: sums, max and min of computed values, NaN and ±Inf in some columns", async () => {
      const [r, c] = [520, 700];
      const vals = Float32Array.from({ length: r * c }, (_, i) => Math.sin(i * 0.37) * 3);
      vals[5 * c + 3] = NaN;
      vals[9 * c + 17] = Infinity;
      vals[11 * c + 17] = -Infinity;
      vals[2 * c + 699] = NaN;
      const x = tf.tensor(vals, { shape: [r, c] });
      const fs: [string, (a: Tensor) => Tensor, number][] = [
        ["sum of exp", (a) => tf.sum(tf.exp(a), { axis: 0 }), 4e-7],
        ["max of 2x", (a) => tf.max(tf.multiply(a, 2), { axis: 0 }), 0],
        ["min of x + 1", (a) => tf.min(tf.add(a, 1), { axis: 0 }), 0],
        ["softmax", (a) => tf.nn.softmax(a, { axis: 0 }), 6e-7],
      ];
      for (const [name, f, rel] of fs) {
        const want = await on("reference", () => f(x));
        expect(same(await on("cpu", () => tf.jit(f)(x)), want, rel), name).toBe(true);
      }
    });

    it("softmax over axis 0 of a 300×40 matrix", async () => {
      const x = tf.reshape(tf.sin(tf.arange(12000)), [300, 40]);
      const want = await on("reference", () => tf.nn.softmax(x, { axis: 0 }));
      expect(same(await on("cpu", () => tf.jit((a: Tensor) => tf.nn.softmax(a, { axis: 0 }))(x)), want, 6e-7)).toBe(true);
    });

    it("a column sum is compiled in the row-by-row order", () => {
      setColumnReduceMin(0);
      const src = reduceFn({
        kind: "reduce",
        fn: "sum",
        inputs: [0],
        output: 1,
        shape: [16],
        reduceShape: [32],
        dtype: "float32",
        accDtype: "float32",
        body: [
          {
            op: "load",
            input: 0,
            dtype: "float32",
            index: { k: "add", a: { k: "mul", a: { k: "var", name: "r0", size: 32 }, c: 16 }, b: { k: "var", name: "o0", size: 16 } },
          },
        ],
        epilogue: [{ op: "acc", dtype: "float32" }],
        ops: ["sum"],
      } as never).toString();
      setColumnReduceMin(1 << 16);
      expect(src).toContain("new Float64Array(16)");
    });
  });
