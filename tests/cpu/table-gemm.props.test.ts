// Property tests of the table gemm paths against the reference backend (fast-check, seed printed):
// batched products with broadcast or per-entry A, B transposed or broadcast, sizes that leave
// row and panel tails and K blocks (k > 1024), and convs (stride, dilation, padding, groups, an
// input produced by a pool) forward and both gradients, on realized operands.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { close, runSeed } from "../scheduler/gen.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 12);
const real = (seed: number, shape: number[]): Tensor => tf.tensor(tf.random.normal(tf.random.key(seed), shape).dataSync(), { shape });

async function agree(f: (a: Tensor, b: Tensor) => Tensor[], a: Tensor, b: Tensor, what: string): Promise<void> {
  await tf.setBackend("reference");
  const want = f(a, b).map((t) => Float32Array.from(t.dataSync()));
  await tf.setBackend("cpu");
  const jf = tf.jit(f);
  for (let run = 0; run < 2; run++) {
    const got = jf(a, b).map((t) => Float32Array.from(t.dataSync()));
    want.forEach((w, i) => expect(close(got[i]!, w, 2e-4), `${what}: output ${i}, run ${run}`).toBe(true));
  }
}

describe("table gemm properties", () => {
  afterAll(async () => tf.setBackend("cpu"));

  it("batched products agree with the reference backend", async () => {
    const seed = runSeed("batched products");
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          nb: fc.integer({ min: 2, max: 5 }),
          m: fc.integer({ min: 1, max: 37 }),
          n: fc.integer({ min: 2, max: 45 }),
          k: fc.oneof(fc.integer({ min: 8, max: 90 }), fc.integer({ min: 1025, max: 1100 })),
          aMode: fc.constantFrom("entry", "broadcast"),
          bMode: fc.constantFrom("plain", "transposed", "broadcast"),
          s: fc.nat(1000),
        }),
        async ({ nb, m, n, k, aMode, bMode, s }) => {
          const a = real(s, aMode === "entry" ? [nb, m, k] : [m, k]);
          const b = real(s + 1, bMode === "transposed" ? [nb, n, k] : bMode === "broadcast" ? [1, k, n] : [nb, k, n]);
          const f = (x: Tensor, y: Tensor): Tensor[] => {
            const yb = bMode === "transposed" ? tf.permuteDims(y, [0, 2, 1]) : bMode === "broadcast" ? tf.broadcastTo(y, [nb, k, n]) : y;
            return [tf.matmul(x, yb)];
          };
          await agree(f, a, b, JSON.stringify({ nb, m, n, k, aMode, bMode }));
        },
      ),
      { seed, numRuns: RUNS },
    );
  });

  it("convs (forward and both gradients) agree with the reference backend", async () => {
    const seed = runSeed("convs");
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 1, max: 4 }),
          c: fc.integer({ min: 1, max: 6 }),
          o: fc.integer({ min: 1, max: 9 }),
          h: fc.integer({ min: 5, max: 13 }),
          w: fc.integer({ min: 5, max: 13 }),
          kh: fc.integer({ min: 1, max: 3 }),
          kw: fc.integer({ min: 1, max: 3 }),
          stride: fc.integer({ min: 1, max: 2 }),
          dil: fc.integer({ min: 1, max: 2 }),
          padding: fc.constantFrom("SAME", "VALID"),
          groups: fc.constantFrom(1, 2),
          pool: fc.boolean(),
          s: fc.nat(1000),
        }),
        async ({ n, c, o, h, w, kh, kw, stride, dil, padding, groups, pool, s }) => {
          const C = c * groups;
          const O = o * groups;
          const H = pool ? 2 * h : h;
          const W = pool ? 2 * w : w;
          const x = real(s, [n, C, H, W]);
          const wt = real(s + 1, [O, c, kh, kw]);
          const opts = { padding, strides: stride, dilation: dil, groups } as const;
          const conv = (a: Tensor, b: Tensor): Tensor => tf.conv(pool ? tf.maxPool(a, [2, 2]) : a, b, opts);
          const loss = (a: Tensor, b: Tensor): Tensor => tf.sum(tf.square(conv(a, b)));
          const f = (a: Tensor, b: Tensor): Tensor[] => [conv(a, b), tf.grad(loss)(a, b), tf.grad((v: Tensor, u: Tensor) => loss(u, v))(b, a)];
          await agree(f, x, wt, JSON.stringify({ n, C, O, H, W, kh, kw, opts, pool }));
        },
      ),
      { seed, numRuns: RUNS },
    );
  });
});
