// Staged outputs (simd-threads.ts `Staging`) on random row groups: a program of row reductions and
// elementwise outputs run on one thread gives the same bits with its outputs staged (the threshold
// lowered to 0) as with them in place, and the reference backend's values. Rows run in chunks of
// `floor(32768 / elements per row of the group)`, so the shapes give one chunk, many, and a partial
// last one; some outputs are read again by a later kernel (never staged), some are reductions.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { setSimdMinElements } from "../../src/backends/cpu/simd.js";
import { STAGE_MIN_BYTES, setSimdSharing, setStageMinBytes, stagingStats } from "../../src/backends/cpu/simd-threads.js";
import { hasSimd } from "../../src/backends/cpu/wasm.js";
import { close, runSeed } from "../scheduler/gen.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 100);

/** The candidate outputs over x: elementwise ones (some read again by the reductions) and reductions. */
const OUTPUTS: readonly ((x: Tensor, e: Tensor, r: Tensor) => Tensor)[] = [
  (_x, e, r) => tf.exp(tf.subtract(e, r)), // softmax's numerator
  (_x, e, r) => tf.multiply(tf.tanh(e), r),
  (x) => tf.add(tf.multiply(x, 0.5), 1),
  (_x, e) => e, // read by the reduction as well
  (_x, _e, r) => r,
  (_x, e) => tf.sum(tf.exp(tf.negative(e)), { axis: -1 }),
];

describe.skipIf(!hasSimd())("staged outputs ≡ in place ≡ reference", () => {
  beforeAll(() => {
    setSimdMinElements(1);
    setSimdSharing(false);
  });
  afterAll(async () => {
    setSimdMinElements(4096);
    setSimdSharing(true);
    setStageMinBytes(STAGE_MIN_BYTES);
    await tf.setBackend("cpu");
  });

  it("random row groups: same bits staged and in place, reference values", async () => {
    const seed = runSeed("cpu-staging");
    let staged = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          outs: fc.uniqueArray(fc.nat(OUTPUTS.length - 1), { minLength: 1, maxLength: 4 }),
          inner: fc.constantFrom("tanh" as const, "exp" as const, "affine" as const),
          fn: fc.constantFrom("sum" as const, "max" as const),
          rows: fc.integer({ min: 1, max: 300 }),
          cols: fc.integer({ min: 1, max: 160 }),
          s: fc.integer({ min: 0, max: 1000 }),
        }),
        async ({ outs, inner, fn, rows, cols, s }) => {
          const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.3 + s) * 3);
          const f = (x: Tensor): Tensor[] => {
            const e = inner === "tanh" ? tf.tanh(tf.multiply(x, 0.7)) : inner === "exp" ? tf.exp(tf.multiply(x, 0.4)) : tf.add(tf.multiply(x, 2), -1);
            const r = (fn === "sum" ? tf.sum : tf.max)(e, { axis: -1, keepdims: true });
            return outs.map((o) => OUTPUTS[o]!(x, e, r));
          };
          const run = async (backend: string, stageMin: number): Promise<Float32Array[]> => {
            await tf.setBackend(backend);
            setStageMinBytes(stageMin);
            return tf
              .jit(f)(tf.tensor(data, { shape: [rows, cols] }))
              .map((t) => Float32Array.from(t.dataSync()));
          };
          const before = stagingStats.outputs;
          const got = await run("cpu", 0);
          staged += stagingStats.outputs - before;
          const inPlace = await run("cpu", Infinity);
          const want = await run("reference", Infinity);
          got.forEach((g, j) => {
            expect(new Uint32Array(g.buffer)).toEqual(new Uint32Array(inPlace[j]!.buffer));
            expect(close(g, want[j]!, 1e-4)).toBe(true);
          });
        },
      ),
      { seed, numRuns: RUNS },
    );
    expect(staged).toBeGreaterThan(0); // (the path ran: most cases stage an output)
  });
});
