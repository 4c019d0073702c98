// Property: a matmul epilogue split into a Wasm SIMD kernel (split-epilogue.ts) gives the same bits
// as the epilogue applied by the gemm's JS loop, for random float32 arithmetic epilogues over the
// product, a per-column bias, a per-row scale, a same-shape operand and constants (add, sub, mul,
// div, max, min, neg, sqrt of a square, comparisons with where), at random shapes, batched or not;
// and most cases split. (Lane ops are IEEE float32 operations, equal to JS's rounded float64 ones.)
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { simdMemory } from "../../src/backends/cpu/simd.js";
import { setSplitEpilogues, splitStats } from "../../src/backends/cpu/split-epilogue.js";
import { runSeed } from "../scheduler/gen.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 25);

type Leaf = "bias" | "scale" | "other" | "c";
type Expr = { op: Leaf; v?: number } | { op: "neg" | "sqsq"; a: Expr } | { op: "add" | "sub" | "mul" | "div" | "max" | "min" | "gtw"; a: Expr; b: Expr };

const expr: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom<Expr>({ op: "bias" }, { op: "scale" }, { op: "other" }),
    fc.constantFrom(-1.5, 0.1, 0, 3).map((v): Expr => ({ op: "c", v })),
    fc.record({ op: fc.constantFrom("neg" as const, "sqsq" as const), a: tie("e") }),
    fc.record({
      op: fc.constantFrom("add" as const, "sub" as const, "mul" as const, "div" as const, "max" as const, "min" as const, "gtw" as const),
      a: tie("e"),
      b: tie("e"),
    }),
  ),
})).e;

/**
 * The epilogue: the product p combined once (a product read twice is materialized by the
 * scheduler, not fused) with an expression over the other operands.
 */
function build(e: Expr, how: "add" | "sub" | "mul" | "max" | "gtw", p: Tensor, bias: Tensor, scale: Tensor, other: Tensor): Tensor {
  const bin = (op: string, a: Tensor, b: Tensor): Tensor => {
    if (op === "gtw") return tf.where(tf.greater(a, b), a, tf.multiply(b, 0.5));
    const f = { add: tf.add, sub: tf.subtract, mul: tf.multiply, div: tf.divide, max: tf.maximum, min: tf.minimum }[op as "add"];
    return f(a, b);
  };
  const go = (t: Expr): Tensor => {
    switch (t.op) {
      case "bias":
        return bias;
      case "scale":
        return scale;
      case "other":
        return other;
      case "c":
        return tf.scalar(t.v!);
      case "neg":
        return tf.negative(go(t.a));
      case "sqsq":
        return tf.sqrt(tf.square(go(t.a)));
      default:
        return bin(t.op, go(t.a), go(t.b));
    }
  };
  return bin(how, p, go(e));
}

describe.skipIf(!simdMemory())("split matmul epilogues ≡ whole (property)", () => {
  afterAll(() => setSplitEpilogues(true));

  it("random arithmetic epilogues, random shapes: the same bits", () => {
    const seed = runSeed("cpu-split-epilogue");
    const cases = { split: 0, all: 0 };
    tf.setBackend("cpu");
    fc.assert(
      fc.property(
        fc.record({
          e: expr,
          how: fc.constantFrom("add" as const, "sub" as const, "mul" as const, "max" as const, "gtw" as const),
          b: fc.integer({ min: 1, max: 3 }),
          m: fc.integer({ min: 32, max: 80 }),
          n: fc.integer({ min: 128, max: 160 }),
          k: fc.integer({ min: 2, max: 40 }),
          s: fc.nat(1000),
        }),
        ({ e, how, b, m, n, k, s }) => {
          const d = (len: number, o: number): Float32Array => Float32Array.from({ length: len }, (_, i) => Math.sin(i * 1.7 + s + o) * 2);
          const args = [d(b * m * k, 0), d(b * k * n, 1), d(n, 2), d(m, 3), d(b * m * n, 4)];
          const shapes = b > 1 ? [[b, m, k], [b, k, n], [n], [m, 1], [b, m, n]] : [[m, k], [k, n], [n], [m, 1], [m, n]];
          const f = (...t: Tensor[]): Tensor => build(e, how, tf.matmul(t[0]!, t[1]!), t[2]!, t[3]!, t[4]!);
          const run = (split: boolean): Float32Array => {
            setSplitEpilogues(split);
            return tf
              .jit(f)(...args.map((a, i) => tf.tensor(a, { shape: shapes[i]! })))
              .dataSync() as Float32Array;
          };
          const s0 = splitStats.split;
          const got = run(true);
          if (splitStats.split > s0) cases.split++; // (a product the epilogue reads twice is not fused: nothing to split)
          cases.all++;
          const want = run(false);
          for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) return false;
          return true;
        },
      ),
      { seed, numRuns: RUNS },
    );
    expect(cases.split).toBeGreaterThanOrEqual(cases.all / 3);
  });
});
