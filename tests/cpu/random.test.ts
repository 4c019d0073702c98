// The CPU backend agrees with the reference backend on random graphs: eagerly (each graph
// scheduled and run once) and under jit (compiled program reused for a second call).
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { apply, close, inputs, progArb, runSeed } from "../scheduler/gen.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 80);

async function on(backend: string, f: () => Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return f().map((t) => Float32Array.from(t.dataSync()));
}

describe("cpu ≡ reference on random graphs", () => {
  afterAll(async () => tf.setBackend("cpu"));

  it("eager and jitted results agree", async () => {
    const seed = runSeed("cpu-random");
    await fc.assert(
      fc.asyncProperty(progArb, async (p) => {
        const [x, y] = inputs(p);
        const want = await on("reference", () => apply(p, x, y));
        const eager = await on("cpu", () => apply(p, x, y));
        const j = tf.jit((a: Tensor, b: Tensor) => apply(p, a, b));
        const jitted = await on("cpu", () => j(x, y));
        const again = await on("cpu", () => j(tf.multiply(x, 1), y));
        want.forEach((w, i) => {
          expect(close(eager[i]!, w), `eager output ${i}`).toBe(true);
          expect(close(jitted[i]!, w), `jit output ${i}`).toBe(true);
          expect(close(again[i]!, w), `jit (cached) output ${i}`).toBe(true);
        });
      }),
      { seed, numRuns: RUNS },
    );
  });

  it("regression: concat branches reading one reshaped operand at different flat indices", async () => {
    const p = {
      shape: [2, 1],
      steps: [
        { k: "red", f: 0, i: 0, axis: 1, keep: false },
        { k: "mov", f: 0, i: 0 },
        { k: "un", f: 0, i: 0 },
        { k: "bin", f: 0, i: 0, j: 367, c: 0 },
        { k: "mov", f: 5, i: 89 },
        { k: "mm", i: 0, j: 0 },
      ],
      outs: [496, 0],
      seed: 0,
    } as unknown as Parameters<typeof apply>[0];
    const [x, y] = inputs(p);
    const want = await on("reference", () => apply(p, x, y));
    const got = await on("cpu", () => apply(p, x, y));
    want.forEach((w, i) => expect(close(got[i]!, w)).toBe(true));
  });

  it("large matmuls (tiled kernel edges, transposed operands) agree", async () => {
    for (const [m, k, n] of [
      [37, 19, 45],
      [64, 64, 64],
      [5, 130, 3],
    ] as const) {
      const a = tf.random.normal(tf.random.key(m), [m, k]);
      const b = tf.random.normal(tf.random.key(n), [n, k]);
      const want = await on("reference", () => [tf.matmul(a, tf.matrixTranspose(b))]);
      const got = await on("cpu", () => [tf.matmul(a, tf.matrixTranspose(b))]);
      expect(close(got[0]!, want[0]!, 1e-4)).toBe(true);
    }
  });
});
