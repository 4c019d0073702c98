// Properties over the whole float32 range (any float32 bit pattern, NaN and ±Infinity included):
// the activations and logit losses keep the identities that hold exactly in real arithmetic, to
// float32 accuracy, for values and gradients; NaN in gives NaN out. fast-check prints the seed and
// the counterexample on failure.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { grad, nn, sum, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { yielding } from "../yielding.js";

const RUNS = 60;
/** Batches of 16 float32 values over the whole range (any bit pattern, NaN included). */
const batch = fc.array(fc.float({ noDefaultInfinity: false, noNaN: false }), { minLength: 16, maxLength: 16 });
const vals = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);
const f32 = Math.fround;
/** |a - b| within `rtol` relatively, down to the smallest normal float32. */
const near = (a: number, b: number, rtol: number): boolean => (Number.isNaN(b) ? Number.isNaN(a) : a === b || Math.abs(a - b) <= 1.2e-38 + rtol * Math.abs(b));

/** softplus(x) in float64 from the float32 input, as the reference. */
const softplus64 = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid64 = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

describe("activations over the whole float32 range", () => {
  it("softplus and its gradient match float64 to float32 accuracy (no underflow, no overflow)", async () => {
    await fc.assert(
      yielding(batch, (xs) => {
        const x = tensor(xs);
        const y = vals(nn.softplus(x));
        const g = vals(grad((v: Tensor) => sum(nn.softplus(v)))(x));
        xs.forEach((v, i) => {
          const w = f32(v);
          expect(near(y[i]!, f32(softplus64(w)), 2e-6), `softplus(${w}) = ${y[i]}`).toBe(true);
          if (!Number.isNaN(w)) expect(near(g[i]!, f32(sigmoid64(w)), 2e-6), `softplus'(${w}) = ${g[i]}`).toBe(true);
        });
      }),
      { numRuns: RUNS },
    );
  });

  it("sigmoid, logSoftmax of [x, 0] and binaryCrossEntropyWithLogits agree with softplus identities", async () => {
    await fc.assert(
      yielding(batch, (xs) => {
        const x = tensor(xs);
        const s = vals(nn.sigmoid(x));
        // log sigmoid(x) = -softplus(-x) = logSoftmax([x, 0])[0]
        const pairs = tensor(xs.map((v) => [v, 0]));
        const ls = vals(nn.logSoftmax(pairs));
        const bce1 = vals(nn.binaryCrossEntropyWithLogits(x, tensor(xs.map(() => 1)), { reduction: "none" }));
        xs.forEach((v, i) => {
          const w = f32(v);
          expect(near(s[i]!, f32(sigmoid64(w)), 2e-6), `sigmoid(${w}) = ${s[i]}`).toBe(true);
          if (Number.isFinite(w)) {
            // JAX's formula x - max - log(sum(exp(x - max))) rounds 1 + tiny: absolute accuracy ~1 ulp of 1
            const want = -softplus64(-w);
            expect(Math.abs(ls[2 * i]! - want) <= 2.4e-7 + 2e-6 * Math.abs(want), `logSoftmax([${w}, 0]) = ${ls[2 * i]}, want ${want}`).toBe(true);
            expect(near(bce1[i]!, f32(softplus64(-w)), 2e-6), `bce(${w}, 1) = ${bce1[i]}`).toBe(true);
          }
        });
      }),
      { numRuns: RUNS },
    );
  });

  it("NaN in gives NaN out for every activation", async () => {
    const fs = [
      nn.relu,
      (t: Tensor) => nn.leakyRelu(t),
      nn.sigmoid,
      nn.softplus,
      nn.silu,
      (t: Tensor) => nn.elu(t),
      (t: Tensor) => nn.gelu(t),
      (t: Tensor) => nn.gelu(t, { approximate: false }),
      nn.step,
    ];
    await fc.assert(
      yielding(batch, (xs) => {
        const withNaN = [...xs, NaN];
        for (const f of fs) {
          const y = vals(f(tensor(withNaN)));
          expect(Number.isNaN(y[withNaN.length - 1]), `${f.name || "activation"}(NaN)`).toBe(true);
          xs.forEach((v, i) => expect(Number.isNaN(y[i]!) ? Number.isNaN(v) || !Number.isFinite(v) : true, `${f.name}(${v}) is NaN`).toBe(true));
        }
      }),
      { numRuns: 20 },
    );
  });
});
