// Constant folding evaluates through the scalar definitions: an elementwise primitive of literal
// operands folds (in the scheduler, no backend involved) to exactly the definition's value, and
// every backend realizes the same value, for special operands (NaN, ±Inf, ±0, int32 extremes).
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { DType, Tensor } from "../../src/index.js";
import { bind } from "../../src/ops/base.js";
import type { ElementwisePrim } from "../../src/core/primitives.js";
import { scalarFn, storeAs } from "../../src/core/semantics.js";
import { optimizeGraph, splatValue } from "../../src/scheduler/passes.js";
import { probeWebGpu } from "../webgpu/gpu.js";

const gpu = await probeWebGpu();
const BIN = ["add", "mul", "div", "pow", "max", "min", "eq", "ne", "lt", "le"] as const;
const SPECIAL: Record<"float32" | "int32", number[]> = {
  float32: [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2.5, Math.fround(1e-45), 3e9, Math.fround(0.1)],
  int32: [0, 1, -1, 7, -7, 2147483647, -2147483648],
};

const show = (v: number): string => (Object.is(v, -0) ? "-0" : String(v));

describe("constant folding follows core/semantics.ts", () => {
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  for (const dtype of ["float32", "int32"] as const) {
    it(`binary primitives on ${dtype} literals fold to the definition, on every backend`, async () => {
      const pairs = SPECIAL[dtype].flatMap((a) => SPECIAL[dtype].map((b) => [a, b] as const));
      for (const prim of BIN) {
        const f = (x: Tensor): Tensor[] => [
          x,
          ...pairs.map(([a, b]) => bind(prim as ElementwisePrim, {}, [tf.full([3], a, { dtype }), tf.full([3], b, { dtype })])),
        ];
        const g = optimizeGraph(tf.makeGraph(f)(tf.ones([3])));
        for (let i = 0; i < pairs.length; i++) {
          const [a, b] = pairs[i]!;
          const outT: DType = prim === "eq" || prim === "ne" || prim === "lt" || prim === "le" ? "bool" : dtype;
          const want = storeAs(outT, scalarFn(prim, dtype, outT, {})(a, b, 0, 0));
          // folded to a literal holding the definition's value
          expect(show(splatValue(g.outputs[i + 1]!)!), `${prim}(${show(a)}, ${show(b)}) folded`).toBe(show(want));
        }
        for (const backend of ["reference", "cpu", ...(gpu ? ["webgpu"] : [])]) {
          await tf.setBackend(backend);
          // Realized one by one (a concat would add -0 to a +0 pad); the special operands only.
          const some = pairs.filter(([a, b]) => SPECIAL[dtype].indexOf(a) < 6 && SPECIAL[dtype].indexOf(b) < 6);
          const all = await Promise.all(
            some.map(async ([a, b]) => (await bind(prim as ElementwisePrim, {}, [tf.full([2], a, { dtype }), tf.full([2], b, { dtype })]).data())[0]!),
          );
          some.forEach(([a, b], i) => {
            const outT: DType = prim === "eq" || prim === "ne" || prim === "lt" || prim === "le" ? "bool" : dtype;
            const want = storeAs(outT, scalarFn(prim, dtype, outT, {})(a, b, 0, 0));
            expect(show(all[i]!), `${prim}(${show(a)}, ${show(b)}) on ${backend}`).toBe(show(want));
          });
        }
      }
    }, 60_000);
  }
});
