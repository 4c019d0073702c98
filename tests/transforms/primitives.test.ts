/**
 * Transform laws for every primitive (enrolled automatically from PRIMITIVES) and every composite
 * op of tests/transforms/enroll.ts:
 * - the row's function really exercises the primitive (its traced graph contains it);
 * - checkGrads in forward and reverse mode up to order 2 (differentiable rows);
 * - the dot-product identity ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ (jvp against vjp);
 * - vmap(f)(xs) ≡ stack(xs.map(f)) (all arguments mapped, and only the first);
 * - jit(f) ≡ f;
 * - grad(jit(f)) ≡ jit(grad(f)).
 * Property runs: PROPS_RUNS (default 4) per law and row; fast-check prints the seed on failure.
 */
import fc from "fast-check";
import { yielding } from "../yielding.js";
import { describe, expect, it } from "vitest";
import type { Tensor } from "../../src/index.js";
import * as tf from "../../src/index.js";
import { PRIMITIVES } from "../../src/internals.js";
import { assertAllClose, checkGrads } from "../../laws/index.js";
import type { Entry } from "./enroll.js";
import { OP_TABLE, PRIM_TABLE } from "./enroll.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 4);
const TIMEOUT = Math.max(60_000, RUNS * 2_000);
const B = 3;

const isFloat = (t: Tensor): boolean => t.dtype === "float32";

function floatArgnums(xs: readonly Tensor[]): number[] {
  return xs.map((x, i) => (isFloat(x) ? i : -1)).filter((i) => i >= 0);
}

/** A fixed pseudo-random float tensor of a shape (weights/cotangents for the laws). */
function fixed(shape: readonly number[], seed: number): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  const v = new Float32Array(n);
  let s = seed * 7919 + 13;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    v[i] = (s / 2147483648) * 2 - 1;
  }
  return tf.tensor(v, { shape: [...shape] });
}

function vdot(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

function laws(name: string, e: Entry, prim?: string): void {
  describe(name, () => {
    if (prim) {
      it("exercises the primitive", async () => {
        const sample = fc.sample(e.args, { numRuns: 1, seed: 1 })[0]!;
        const g = tf.makeGraph(e.probe ?? e.fn)(...sample);
        expect(g.nodes().map((n) => n.prim)).toContain(prim);
      });
    }

    if (e.grad) {
      const g = e.grad;
      it(
        `checkGrads ${(g.modes ?? ["fwd", "rev"]).join("+")} up to order ${g.order}`,
        async () => {
          await fc.assert(
            yielding(e.args, fc.integer({ min: 0, max: 1000 }), (xs, seed) => {
              checkGrads(e.fn, xs, { order: g.order, modes: g.modes ?? ["fwd", "rev"], atol: g.atol, rtol: g.rtol, seed });
            }),
            { numRuns: RUNS },
          );
        },
        TIMEOUT,
      );

      if (!g.modes || g.modes.includes("fwd")) {
        it(
          "dot-product identity <u, J v> = <J^T u, v>",
          async () => {
            await fc.assert(
              yielding(e.args, fc.integer({ min: 0, max: 1000 }), (xs, seed) => {
                const nums = floatArgnums(xs);
                const vs = xs.map((x, i) => (isFloat(x) ? fixed(x.shape, seed + i) : tf.zerosLike(x)));
                const [y, jv] = tf.jvp(e.fn, xs, vs) as [Tensor, Tensor];
                const u = fixed(y.shape, seed + 101);
                const [, pullback] = tf.vjp(e.fn, ...xs);
                const jtu = pullback(u) as Tensor[];
                const lhs = vdot(u, jv);
                let rhs = 0;
                for (const i of nums) rhs += vdot(jtu[i]!, vs[i]!);
                expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(lhs));
              }),
              { numRuns: RUNS },
            );
          },
          TIMEOUT,
        );
      }
    }

    it(
      "vmap(f)(xs) = stack(xs.map(f))",
      async () => {
        await fc.assert(
          yielding(fc.array(e.args, { minLength: B, maxLength: B }), (samples) => {
            const want = tf.stack(samples.map((s) => e.fn(...s)));
            const batched = samples[0]!.map((_, j) => tf.stack(samples.map((s) => s[j]!)));
            assertAllClose(tf.vmap(e.fn)(...batched), want, { atol: e.tol ?? 1e-4, rtol: e.tol ?? 1e-4, what: "vmap, all mapped" });
            if (batched.length > 1) {
              // map only the first argument; the others are shared (unmapped)
              const first = samples.map((s) => e.fn(s[0]!, ...samples[0]!.slice(1)));
              const inAxes = [0, ...batched.slice(1).map(() => null)];
              const got = tf.vmap(e.fn, { inAxes })(batched[0]!, ...samples[0]!.slice(1));
              assertAllClose(got, tf.stack(first), { atol: e.tol ?? 1e-4, rtol: e.tol ?? 1e-4, what: "vmap, first mapped" });
            }
          }),
          { numRuns: RUNS },
        );
      },
      TIMEOUT,
    );

    it(
      "jit(f) = f",
      async () => {
        const jf = tf.jit(e.fn);
        await fc.assert(
          yielding(e.args, (xs) => {
            assertAllClose(jf(...xs), e.fn(...xs), { atol: e.tol ?? 1e-5, rtol: e.tol ?? 1e-5 });
          }),
          { numRuns: RUNS },
        );
      },
      TIMEOUT,
    );

    if (e.grad) {
      it(
        "grad(jit(f)) = jit(grad(f))",
        async () => {
          await fc.assert(
            yielding(e.args, (xs) => {
              const nums = floatArgnums(xs);
              const w = fixed(e.fn(...xs).shape, 5);
              const s = (...a: Tensor[]): Tensor => tf.sum(tf.multiply(e.fn(...a), w));
              const g1 = tf.grad(tf.jit(s), { argnums: nums })(...xs) as Tensor[];
              const g2 = tf.jit(tf.grad(s, { argnums: nums }))(...xs) as Tensor[];
              const g3 = tf.grad(s, { argnums: nums })(...xs) as Tensor[];
              g1.forEach((g, i) => {
                assertAllClose(g, g2[i]!, { atol: 1e-4, rtol: 1e-4, what: `argument ${nums[i]}` });
                assertAllClose(g, g3[i]!, { atol: 1e-4, rtol: 1e-4, what: `argument ${nums[i]}` });
              });
            }),
            { numRuns: RUNS },
          );
        },
        TIMEOUT,
      );
    }
  });
}

describe("every primitive is enrolled", () => {
  it("PRIM_TABLE has a row for each primitive in PRIMITIVES", async () => {
    const table = PRIM_TABLE as Record<string, Entry | undefined>;
    const missing = PRIMITIVES.filter((p) => !table[p]);
    expect(missing, `primitives without a row in tests/transforms/enroll.ts: ${missing.join(", ")}`).toEqual([]);
    expect(Object.keys(table).filter((k) => !PRIMITIVES.includes(k as never))).toEqual([]);
  });
});

for (const p of PRIMITIVES) {
  const e = (PRIM_TABLE as Record<string, Entry | undefined>)[p];
  if (e) laws(`primitive ${p}`, e, p);
}
for (const [name, e] of Object.entries(OP_TABLE)) laws(`op ${name}`, e);
