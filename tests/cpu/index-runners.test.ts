// The CPU backend's argmax and gather runners (src/backends/cpu/index-runners.ts) equal the
// reference backend's rules exactly: random shapes and axes, values with ties, NaN and ±Inf
// (argmax: the first NaN, else the first maximum), indices that are negative or out of range
// (gather wraps once, then clamps), batch dims, float32/int32 operands; plus hand-computed cases.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { runSeed } from "../scheduler/gen.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 60);

async function on(backend: string, f: () => Tensor): Promise<number[]> {
  await tf.setBackend(backend);
  return Array.from(f().dataSync());
}

const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

const shapeArb = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 });
const valueArb = fc.constantFrom(0, 1, 2, -1, 2.5, NaN, Infinity, -Infinity);

describe("cpu argmax and gather ≡ reference", () => {
  afterAll(async () => tf.setBackend("cpu"));

  it("argmax over any axis (ties, NaN, ±Inf, empty and long axes)", async () => {
    const seed = runSeed("cpu-argmax");
    await fc.assert(
      fc.asyncProperty(
        shapeArb.chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: fc.integer({ min: 0, max: shape.length - 1 }),
            vals: fc.array(valueArb, { minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) }),
            int: fc.boolean(),
          }),
        ),
        async ({ shape, axis, vals, int }) => {
          if (shape[axis] === 0) return;
          const x = int
            ? tf.tensor(
                vals.map((v) => (Number.isFinite(v) ? Math.trunc(v) : 7)),
                { shape, dtype: "int32" },
              )
            : tf.tensor(vals, { shape });
          const want = await on("reference", () => tf.argmax(x, { axis }));
          expect(same(await on("cpu", () => tf.argmax(x, { axis })), want)).toBe(true);
          expect(same(await on("cpu", () => tf.jit((a: Tensor) => tf.argmin(a, { axis }))(x)), await on("reference", () => tf.argmin(x, { axis })))).toBe(true);
        },
      ),
      { seed, numRuns: RUNS },
    );
  });

  it("gather with any axis and batch dims, indices out of range both ways", async () => {
    const seed = runSeed("cpu-gather");
    await fc.assert(
      fc.asyncProperty(
        fc
          .record({
            shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
            extra: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
          })
          .chain(({ shape, extra }) =>
            fc.record({
              shape: fc.constant(shape),
              axis: fc.integer({ min: 0, max: shape.length - 1 }),
              extra: fc.constant(extra),
              b: fc.integer({ min: 0, max: shape.length - 1 }),
              idx: fc.array(fc.integer({ min: -9, max: 9 }), { minLength: 64, maxLength: 64 }),
              int: fc.boolean(),
            }),
          ),
        async ({ shape, axis, extra, b, idx, int }) => {
          const batchDims = Math.min(b, axis);
          const ishape = [...shape.slice(0, batchDims), ...extra];
          const n = ishape.reduce((p, q) => p * q, 1);
          const size = shape.reduce((p, q) => p * q, 1);
          const x = tf.tensor(
            Array.from({ length: size }, (_, i) => (int ? i * 3 - 7 : i * 0.5 - 3)),
            { shape, dtype: int ? "int32" : "float32" },
          );
          const ind = tf.tensor(idx.slice(0, n).concat(new Array<number>(Math.max(0, n - 64)).fill(1)), { shape: ishape, dtype: "int32" });
          const want = await on("reference", () => tf.gather(x, ind, { axis, batchDims }));
          expect(same(await on("cpu", () => tf.gather(x, ind, { axis, batchDims })), want)).toBe(true);
        },
      ),
      { seed, numRuns: RUNS },
    );
  });

  it("hand-computed: rows of a dataset, long slices copied whole, max-pool windows", () => {
    const data = tf.reshape(tf.arange(0, 40 * 20), [40, 20]);
    const rows = tf.gather(data, tf.tensor([3, -1, 0, 99], { dtype: "int32" }));
    expect(rows.shape).toEqual([4, 20]);
    const r = rows.arraySync() as number[][];
    expect(r[0]![0]).toBe(60);
    expect(r[1]![19]).toBe(799);
    expect(r[2]![5]).toBe(5);
    expect(r[3]![0]).toBe(780);
    const w = tf.tensor([[[3, 9, 9, 1]], [[NaN, 2, NaN, 8]], [[-Infinity, -Infinity, -Infinity, -Infinity]]]);
    expect(tf.argmax(w, { axis: 2 }).arraySync()).toEqual([[1], [0], [0]]);
    expect(tf.argmax(w, { axis: 0 }).arraySync()).toEqual([[1, 0, 1, 1]]);
  });
});
