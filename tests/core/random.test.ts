/**
 * random: the Threefry-2x32 bit generator against the Random123 known-answer vectors (kat_vectors,
 * 20 rounds), through the reference implementation and through the graph's `threefry` primitive;
 * determinism, split independence, ranges and moments. Also pytrees (tree.*, tree.at immutability).
 */
import fc from "fast-check";
import { yielding } from "../yielding.js";
import { describe, expect, it, vi } from "vitest";
import type { Tensor } from "../../src/index.js";
import * as tf from "../../src/index.js";
import { threefry2x32 } from "../../src/core/semantics-math.js";
import { bind } from "../../src/ops/base.js";
import { assertAllClose } from "../../laws/index.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 20);
// thousand-run property sessions (npm run test:props) need more than the default timeout
vi.setConfig({ testTimeout: Math.max(60_000, RUNS * 1_000) });

// Random123 kat_vectors, threefry2x32 with 20 rounds: key, counter -> output.
const KAT: [[number, number], [number, number], [number, number]][] = [
  [
    [0x00000000, 0x00000000],
    [0x00000000, 0x00000000],
    [0x6b200159, 0x99ba4efe],
  ],
  [
    [0xffffffff, 0xffffffff],
    [0xffffffff, 0xffffffff],
    [0x1cb996fc, 0xbb002be7],
  ],
  [
    [0x13198a2e, 0x03707344],
    [0x243f6a88, 0x85a308d3],
    [0xc4923a9c, 0x483df7a0],
  ],
];

describe("threefry-2x32 known-answer vectors (Random123)", () => {
  it("reference implementation", async () => {
    for (const [[k0, k1], [x0, x1], want] of KAT) expect(threefry2x32(k0, k1, x0, x1)).toEqual(want);
  });

  it("the threefry primitive, on the default backend", async () => {
    const col = (i: 0 | 1, part: 0 | 1 | 2): Tensor => tf.tensor(Int32Array.from(KAT.map((r) => r[part][i] | 0)), { shape: [KAT.length], dtype: "int32" });
    const ins = [col(0, 0), col(1, 0), col(0, 1), col(1, 1)];
    const lane0 = Array.from(bind("threefry", { lane: 0 }, ins).dataSync(), (v) => v >>> 0);
    const lane1 = Array.from(bind("threefry", { lane: 1 }, ins).dataSync(), (v) => v >>> 0);
    expect(lane0).toEqual(KAT.map((r) => r[2][0]));
    expect(lane1).toEqual(KAT.map((r) => r[2][1]));
  });

  it("matches the reference on random keys and counters, also under jit and vmap", async () => {
    await fc.assert(
      yielding(fc.array(fc.tuple(fc.integer(), fc.integer(), fc.integer(), fc.integer()), { minLength: 1, maxLength: 8 }), (rows) => {
        const col = (j: number): Tensor => tf.tensor(Int32Array.from(rows.map((r) => r[j]!)), { shape: [rows.length], dtype: "int32" });
        const ins = [col(0), col(1), col(2), col(3)];
        const want0 = rows.map((r) => threefry2x32(r[0], r[1], r[2], r[3])[0] | 0);
        const want1 = rows.map((r) => threefry2x32(r[0], r[1], r[2], r[3])[1] | 0);
        const f = (a: Tensor, b: Tensor, c: Tensor, d: Tensor): Tensor => bind("threefry", { lane: 0 }, [a, b, c, d]);
        expect(Array.from(f(ins[0]!, ins[1]!, ins[2]!, ins[3]!).dataSync())).toEqual(want0);
        expect(Array.from(tf.jit(f)(ins[0]!, ins[1]!, ins[2]!, ins[3]!).dataSync())).toEqual(want0);
        const g = (a: Tensor, b: Tensor, c: Tensor, d: Tensor): Tensor => bind("threefry", { lane: 1 }, [a, b, c, d]);
        const r1 = ins.map((t) => tf.reshape(t, [rows.length, 1]));
        const v = tf.vmap(g)(r1[0]!, r1[1]!, r1[2]!, r1[3]!);
        expect(Array.from(v.dataSync())).toEqual(want1);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("random keys", () => {
  it("same key, same numbers; different keys, different numbers", async () => {
    const a = tf.random.uniform(tf.random.key(42), [100]).dataSync();
    const b = tf.random.uniform(tf.random.key(42), [100]).dataSync();
    const c = tf.random.uniform(tf.random.key(43), [100]).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    // no global state: interleaving other draws changes nothing
    tf.random.normal(tf.random.key(7), [10]).dataSync();
    expect(Array.from(tf.random.uniform(tf.random.key(42), [100]).dataSync())).toEqual(Array.from(a));
  });

  it("split gives distinct, reproducible keys whose streams are uncorrelated", async () => {
    const [k1, k2, k3] = tf.random.split(tf.random.key(0), 3);
    const again = tf.random.split(tf.random.key(0), 3);
    expect(k1!.arraySync()).toEqual(again[0]!.arraySync());
    const keys = [k1!, k2!, k3!].map((k) => (k.arraySync() as number[]).join(","));
    expect(new Set(keys).size).toBe(3);
    expect(keys).not.toContain("0,0");
    const n = 5000;
    const u = tf.random.uniform(k1!, [n]).dataSync();
    const v = tf.random.uniform(k2!, [n]).dataSync();
    let su = 0,
      sv = 0,
      suv = 0,
      suu = 0,
      svv = 0;
    for (let i = 0; i < n; i++) {
      su += u[i]!;
      sv += v[i]!;
      suv += u[i]! * v[i]!;
      suu += u[i]! ** 2;
      svv += v[i]! ** 2;
    }
    const cov = suv / n - (su / n) * (sv / n);
    const corr = cov / Math.sqrt((suu / n - (su / n) ** 2) * (svv / n - (sv / n) ** 2));
    expect(Math.abs(corr)).toBeLessThan(0.05);
    // foldIn derives distinct keys per step
    const f1 = tf.random.foldIn(k1!, 1).arraySync();
    const f2 = tf.random.foldIn(k1!, 2).arraySync();
    expect(f1).not.toEqual(f2);
  });

  it("uniform stays in [minval, maxval)", async () => {
    await fc.assert(
      yielding(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.float({ min: -10, max: 10, noNaN: true }),
        fc.float({ min: Math.fround(0.01), max: 10, noNaN: true }),
        (seed, lo, width) => {
          const hi = lo + width;
          const u = tf.random.uniform(tf.random.key(seed), [200], { minval: lo, maxval: hi }).dataSync();
          for (const x of u) {
            expect(x).toBeGreaterThanOrEqual(Math.fround(lo) - 1e-6 * Math.abs(lo));
            expect(x).toBeLessThanOrEqual(Math.fround(hi) + 1e-5 * Math.abs(hi));
          }
        },
      ),
      { numRuns: Math.min(RUNS, 20) },
    );
    const u01 = tf.random.uniform(tf.random.key(3), [10000]).dataSync();
    for (const x of u01) expect(x >= 0 && x < 1).toBe(true);
  });

  it("normal: mean ~ 0 and std ~ 1 over 10k samples", async () => {
    const x = tf.random.normal(tf.random.key(1), [10000]);
    const m = tf.mean(x).itemSync();
    const s = tf.std(x).itemSync();
    expect(Math.abs(m)).toBeLessThan(0.05);
    expect(Math.abs(s - 1)).toBeLessThan(0.05);
    expect(Array.from(x.dataSync()).every(Number.isFinite)).toBe(true);
    const u = tf.random.uniform(tf.random.key(2), [10000]);
    expect(Math.abs(tf.mean(u).itemSync() - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(tf.var_(u).itemSync() - 1 / 12)).toBeLessThan(0.01);
  });

  it("other samplers: shapes, ranges and support", async () => {
    const k = tf.random.key(5);
    const t = tf.random.truncatedNormal(k, [1000], { lower: -2, upper: 2 }).dataSync();
    for (const v of t) expect(v >= -2 && v <= 2).toBe(true);
    const r = tf.random.randint(k, [1000], 3, 7);
    expect(r.dtype).toBe("int32");
    for (const v of r.dataSync()) expect(v >= 3 && v < 7).toBe(true);
    const bern = tf.random.bernoulli(k, 0.3, [4000]);
    expect(Math.abs(tf.mean(tf.astype(bern, "float32")).itemSync() - 0.3)).toBeLessThan(0.05);
    const perm = Array.from(tf.random.permutation(k, 10).dataSync()).sort((a, b) => a - b);
    expect(perm).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const cat = tf.random.categorical(k, tf.log(tf.tensor([[0.0001, 0.9998, 0.0001]])));
    expect(cat.arraySync()).toEqual([1]);
  });
});

describe("pytrees", () => {
  it("flatten/unflatten round trip and tree.map", async () => {
    const t = { w: tf.tensor([1, 2]), layers: [{ b: 3 }, { b: tf.tensor([4]) }], name: "net", none: null };
    const [leaves, def] = tf.tree.flatten(t);
    expect(leaves.length).toBe(3);
    const back = tf.tree.unflatten(def, leaves) as typeof t;
    expect(back.name).toBe("net");
    expect(back.none).toBeNull();
    expect(back.w).toBe(t.w);
    const doubled = tf.tree.map((x: Tensor | number) => tf.multiply(x as Tensor, 2), t) as unknown as { w: Tensor; layers: [{ b: Tensor }, { b: Tensor }] };
    assertAllClose(doubled.w, [2, 4]);
    assertAllClose(doubled.layers[0].b, 6);
    expect(tf.tree.leaves(t).length).toBe(3);
  });

  it("tree.at returns a new tree and leaves the original untouched", async () => {
    const w1 = tf.tensor([1]);
    const p = {
      layers: [
        { w: w1, b: 0 },
        { w: tf.tensor([2]), b: 1 },
      ],
      lr: 0.1,
    };
    const q = tf.tree.at(p, ["layers", 1, "b"], 5);
    expect(q.layers[1]!.b).toBe(5);
    expect(p.layers[1]!.b).toBe(1);
    expect(q).not.toBe(p);
    expect(q.layers[0]).toBe(p.layers[0]); // structural sharing of unchanged branches
    expect(q.layers[0]!.w).toBe(w1);
    expect(() => tf.tree.at(p, ["layers", 3, "w"], 1)).toThrow(/tree.at/);
    await fc.assert(
      yielding(fc.array(fc.integer(), { minLength: 1, maxLength: 5 }), fc.nat(), fc.integer(), (xs, k, v) => {
        const orig = { xs: [...xs] };
        const i = k % xs.length;
        const r = tf.tree.at(orig, ["xs", i], v);
        expect(orig.xs).toEqual(xs);
        expect(r.xs[i]).toBe(v);
      }),
      { numRuns: RUNS },
    );
  });
});
