// Wasm SIMD row groups (simd.ts: a row reduction and the elementwise kernels that read it, run row
// by row in one function, sharing costly per-column values through scratch: `keep` in the kernel
// that computes one first, `reuse` in the later ones) agree with the reference backend on random
// expressions. Each case reduces an expression e(x) over the last axis and combines the result
// with e(x) itself (and other subexpressions), so the later kernel shares e(x)'s exps, tanhs and
// negations with the reduction; subtraction reaches the kernels as `a + neg(b)`, which the SIMD
// emitter rewrites to one f32x4.sub unless the negation is shared. Rows of 32 or more columns run
// an exp in two loops (range reduction, then polynomial) unless a lane of the row is out of exp's
// fast range, which `expw` reaches in some rows.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { setSimdMinElements } from "../../src/backends/cpu/simd.js";
import { close, runSeed } from "../scheduler/gen.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 200);

/**
 * An expression over x (per element) and, in the combining expression, r (the row's reduced
 * value) and s (the i-th subexpression of the reduced expression, built again: the graph's common
 * subexpression elimination makes it the same node, so the kernels share it) or its negation ns.
 */
type Expr =
  | { op: "x" | "r" }
  | { op: "s" | "ns"; i: number }
  | { op: "c"; v: number }
  | { op: "neg" | "tanh" | "expt" | "expw"; a: Expr }
  | { op: "add" | "sub" | "mul"; a: Expr; b: Expr };

const expr = (outer: boolean): fc.Arbitrary<Expr> =>
  fc.letrec<{ e: Expr }>((tie) => ({
    e: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constant<Expr>({ op: "x" }),
      ...(outer ? [fc.constant<Expr>({ op: "r" }), fc.record({ op: fc.constantFrom("s" as const, "ns" as const), i: fc.nat(50) })] : []),
      fc.constantFrom(-1.5, 0.5, 2).map((v): Expr => ({ op: "c", v })),
      fc.record({ op: fc.constantFrom("neg" as const, "tanh" as const, "expt" as const, "expw" as const), a: tie("e") }),
      fc.record({ op: fc.constantFrom("add" as const, "sub" as const, "mul" as const), a: tie("e"), b: tie("e") }),
    ),
  })).e;

/** Every subexpression of e (e first). */
const parts = (e: Expr): Expr[] => [e, ...("a" in e ? parts(e.a) : []), ...("b" in e ? parts(e.b) : [])];

/** Builds an expression over x; in the combining one, r and the subexpressions `subs` of the reduced one. */
function build(e: Expr, x: Tensor, r?: Tensor, subs: readonly Expr[] = []): Tensor {
  const go = (t: Expr): Tensor => {
    switch (t.op) {
      case "x":
        return x;
      case "r":
        return r!;
      case "s":
        return go(subs[t.i % subs.length]!);
      case "ns": // the negation a subtraction in the reduced expression also builds
        return tf.negative(go(subs[t.i % subs.length]!));
      case "c":
        return tf.scalar(t.v);
      case "neg":
        return tf.negative(go(t.a));
      case "tanh":
        return tf.tanh(go(t.a));
      case "expt":
        return tf.exp(tf.tanh(go(t.a))); // bounded: exp of a value in [−1, 1]
      case "expw": // some lanes past exp's fast range (60·|a| > 87) in some rows; tiny or 0 there, so
        // no huge values whose cancellation would magnify exp's last-bit differences
        return tf.exp(tf.multiply(tf.abs(go(t.a)), -60));
      case "add":
        return tf.add(go(t.a), go(t.b));
      case "sub":
        return tf.subtract(go(t.a), go(t.b));
      case "mul":
        return tf.tanh(tf.multiply(go(t.a), go(t.b))); // bounded products
    }
  };
  return go(e);
}

describe("SIMD row groups with shared values ≡ reference", () => {
  beforeAll(() => setSimdMinElements(1));
  afterAll(async () => {
    setSimdMinElements(4096);
    await tf.setBackend("cpu");
  });

  it("a row reduction of e(x) combined with e(x) or its parts: sum and max, random shapes", async () => {
    const seed = runSeed("cpu-simd-groups");
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          // a subtraction of a costly term (an exp or tanh the later kernel can share) and more
          inner: fc
            .record({ a: expr(false), b: expr(false), f: fc.constantFrom("tanh" as const, "expt" as const), more: expr(false) })
            .map(({ a, b, f, more }): Expr => ({ op: "add", a: { op: "sub", a, b: { op: f, a: b } }, b: more })),
          outer: expr(true),
          fn: fc.constantFrom("sum" as const, "max" as const),
          withE: fc.boolean(),
          k: fc.nat(50),
          rows: fc.integer({ min: 1, max: 9 }),
          cols: fc.integer({ min: 1, max: 140 }), // from 32: split exps (see simd-emit.ts)
          s: fc.integer({ min: 0, max: 1000 }),
        }),
        async ({ inner, outer, fn, withE, k, rows, cols, s }) => {
          const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7 + s) * 2);
          const f = (x: Tensor): Tensor => {
            const e = tf.add(build(inner, x), tf.multiply(x, 0.25)); // x's shape even for a constant
            const r = (fn === "sum" ? tf.sum : tf.max)(e, { axis: -1, keepdims: true });
            // (e read again as a whole makes the scheduler compute it once, in its own kernel)
            const subs = parts(inner);
            const y = tf.add(build(outer, x, r, subs), build({ op: "ns", i: k }, x, r, subs));
            return withE ? tf.add(y, tf.multiply(r, e)) : tf.add(y, r);
          };
          const run = async (backend: string): Promise<Float32Array> => {
            await tf.setBackend(backend);
            return tf
              .jit(f)(tf.tensor(data, { shape: [rows, cols] }))
              .dataSync() as Float32Array;
          };
          const want = await run("reference");
          const got = await run("cpu");
          expect(close(got, want, 1e-4)).toBe(true);
        },
      ),
      { seed, numRuns: RUNS },
    );
  });
});
