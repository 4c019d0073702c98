/** Tests of `tenfold/laws` itself: the arbitraries, allClose, and that checkGrads catches errors. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Tensor } from "../../src/index.js";
import * as tf from "../../src/index.js";
import { broadcastShapes } from "../../src/core/shape.js";
import { allClose, arb, assertAllClose, checkGrads, findMismatch } from "../../laws/index.js";

describe("tenfold/laws", () => {
  it("arb.shape respects its bounds; arb.tensor its shape, dtype and range", () => {
    fc.assert(
      fc.property(arb.shape({ minRank: 1, maxRank: 2, minDim: 2, maxDim: 3 }), (s) => {
        expect(s.length >= 1 && s.length <= 2).toBe(true);
        for (const d of s) expect(d >= 2 && d <= 3).toBe(true);
      }),
    );
    fc.assert(
      fc.property(arb.tensor({ shape: [2, 3], dtype: "int32", min: -2, max: 2 }), (t) => {
        expect(t.shape).toEqual([2, 3]);
        expect(t.dtype).toBe("int32");
        for (const v of t.dataSync()) expect(v >= -2 && v <= 2).toBe(true);
      }),
      { numRuns: 20 },
    );
    fc.assert(
      fc.property(arb.tensor({ dtype: arb.dtype }), (t) => {
        expect(["float32", "int32", "bool"]).toContain(t.dtype);
      }),
      { numRuns: 20 },
    );
  });

  it("arb.broadcastableShapes always broadcast", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((n) => arb.broadcastableShapes(n)),
        (ss) => {
          expect(() => broadcastShapes("t", ...ss)).not.toThrow();
        },
      ),
      { numRuns: 100 },
    );
  });

  it("allClose: tolerances per dtype, NaN, infinities, shapes", () => {
    expect(allClose(tf.tensor([1, 2]), [1, 2 + 1e-6])).toBe(true);
    expect(allClose(tf.tensor([1, 2]), [1, 2.001])).toBe(false);
    expect(allClose(tf.tensor([1, 2]), [1, 2.001], { atol: 1e-2 })).toBe(true);
    expect(allClose(tf.tensor([1, 2], { dtype: "int32" }), tf.tensor([1, 3], { dtype: "int32" }))).toBe(false);
    expect(allClose(tf.tensor([NaN, Infinity]), [NaN, Infinity])).toBe(true);
    expect(allClose(tf.tensor([NaN]), [NaN], { equalNan: false })).toBe(false);
    expect(allClose(tf.tensor([Infinity]), [-Infinity])).toBe(false);
    expect(allClose(tf.zeros([2, 3]), tf.zeros([3, 2]))).toBe(false);
    const m = findMismatch(
      tf.tensor([
        [1, 2],
        [3, 4],
      ]),
      [
        [1, 2.5],
        [3, 9],
      ],
    );
    expect(m?.at).toEqual([1, 1]);
    expect(m?.count).toBe(2);
    expect(() => assertAllClose(tf.tensor([1]), [2], { what: "case A" })).toThrow(/case A: not close: .*worst at \[0\]: got 1, want 2/);
  });

  it("checkGrads passes correct derivatives, fails wrong ones naming mode, order and argument", () => {
    checkGrads((a: Tensor, b: Tensor) => tf.multiply(tf.sin(a), tf.exp(b)), [tf.tensor([0.3, -0.2]), tf.tensor([0.1, 0.5])], { order: 3 });
    // stopGradient makes autodiff disagree with finite differences, in both modes
    const f = (a: Tensor, b: Tensor): Tensor => tf.add(a, tf.multiply(b, tf.stopGradient(b)));
    const args = [tf.tensor([1, 2]), tf.tensor([0.5, -1.5])];
    expect(() => checkGrads(f, args, { modes: ["fwd"] })).toThrow(
      /^checkGrads: fwd mode, order 1, f, argument 1: output leaf 0 at \[\d\]: expected \(finite differences\) .*, got \(jvp\)/,
    );
    expect(() => checkGrads(f, args, { modes: ["rev"] })).toThrow(/^checkGrads: rev mode, order 1, f, argument 1: expected \(finite differences\)/);
    // an error that only shows at order 2 (custom gradient right at first order, its derivative wrong)
    const g = tf.customVjp(
      (x: Tensor) => tf.sin(x),
      (x: Tensor) => [tf.sin(x), x] as const,
      (x: Tensor, ct: Tensor) => [tf.multiply(ct, tf.stopGradient(tf.cos(x)))],
    );
    checkGrads(g, [tf.tensor([0.4, 1.1])], { modes: ["rev"], order: 1 });
    expect(() => checkGrads(g, [tf.tensor([0.4, 1.1])], { modes: ["rev"], order: 2 })).toThrow(/rev mode, order 2, vjp\(f\), argument 0/);
    // pytree arguments name the leaf
    expect(() =>
      checkGrads((p: { a: Tensor; b: Tensor }) => tf.add(p.a, tf.multiply(p.b, tf.stopGradient(p.b))), [{ a: tf.tensor([1]), b: tf.tensor([2]) }], {
        modes: ["fwd"],
      }),
    ).toThrow(/argument 0 \(leaf 1\)/);
    expect(() => checkGrads(f, args, { order: 0 })).toThrow(RangeError);
  });
});
