/**
 * tenfold's PRNG against JAX 0.10's (threefry, partitionable layout): fixtures written by
 * tests/fixtures/gen_random.py. Keys, split, foldIn, bits, uniform, bernoulli, randint,
 * categorical and permutation are bit-identical; normal and truncatedNormal go through erfinv's
 * float32 polynomial, which XLA evaluates with fused multiply-adds, so they agree within a few
 * ulp. Checked on the reference and CPU backends, eagerly, under jit and under vmap.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { jit, random, setBackend, tensor, vmap } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

interface Fx {
  keys: { seed: number; key: number[] }[];
  split: { seed: number; n: number; keys: number[] }[];
  foldIn: { seed: number; data: number; key: number[] }[];
  bits: { seed: number; shape: number[]; v: number[] }[];
  uniform: { seed: number; shape: number[]; minval: number; maxval: number; v: number[] }[];
  normal: { seed: number; shape: number[]; v: number[] }[];
  truncatedNormal: { seed: number; shape: number[]; lower: number; upper: number; v: number[] }[];
  bernoulli: { seed: number; shape: number[]; p: number; v: boolean[] }[];
  randint: { seed: number; shape: number[]; minval: number; maxval: number; v: number[] }[];
  categorical: { seed: number; logits: number[][]; v: number[] }[];
  permutation: { seed: number; n: number; v: number[] }[];
}
const FX = JSON.parse(readFileSync(fileURLToPath(new URL("../fixtures/random.json", import.meta.url)), "utf8")) as Fx;

const u32 = (t: Tensor): number[] => Array.from(t.dataSync() as Int32Array, (v) => v >>> 0);
const f32 = (t: Tensor): number[] => Array.from(t.dataSync() as Float32Array);

/** Distance in float32 units in the last place. */
function ulps(a: number, b: number): number {
  if (Object.is(a, b) || a === b) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  const ia = new Int32Array(new Float32Array([a]).buffer)[0]!;
  const ib = new Int32Array(new Float32Array([b]).buffer)[0]!;
  const oa = ia < 0 ? -(ia & 0x7fffffff) : ia;
  const ob = ib < 0 ? -(ib & 0x7fffffff) : ib;
  return Math.abs(oa - ob);
}

afterAll(async () => {
  await setBackend("cpu");
});

for (const backend of ["reference", "cpu"] as const) {
  describe(`random matches JAX bit for bit (${backend})`, () => {
    it("key(seed): [0, seed mod 2^32]", async () => {
      await setBackend(backend);
      for (const c of FX.keys) expect(u32(random.key(c.seed)), `seed ${c.seed}`).toEqual(c.key);
    });

    it("split", async () => {
      await setBackend(backend);
      for (const c of FX.split) expect(random.split(random.key(c.seed), c.n).flatMap(u32), `seed ${c.seed} n ${c.n}`).toEqual(c.keys);
    });

    it("foldIn, including data >= 2^31", async () => {
      await setBackend(backend);
      for (const c of FX.foldIn) expect(u32(random.foldIn(random.key(c.seed), c.data)), `seed ${c.seed} data ${c.data}`).toEqual(c.key);
    });

    it("bits over scalar, empty, odd and SIMD-sized shapes", async () => {
      await setBackend(backend);
      for (const c of FX.bits) {
        const b = random.bits(random.key(c.seed), c.shape);
        expect(b.shape).toEqual(c.shape);
        expect(u32(b), `seed ${c.seed} shape [${c.shape}]`).toEqual(c.v);
      }
    });

    it("uniform: exact on [0, 1); on other ranges within the product's rounding (XLA fuses u * span + minval)", async () => {
      await setBackend(backend);
      for (const c of FX.uniform) {
        const got = f32(random.uniform(random.key(c.seed), c.shape, { minval: c.minval, maxval: c.maxval }));
        if (c.minval === 0 && c.maxval === 1) expect(got, `seed ${c.seed} [${c.shape}]`).toEqual(c.v);
        else
          got.forEach((g, i) =>
            expect(Math.abs(g - c.v[i]!), `seed ${c.seed} [${c.minval}, ${c.maxval}) #${i}`).toBeLessThanOrEqual(
              2 ** -23 * (Math.abs(c.minval) + Math.abs(c.maxval)),
            ),
          );
      }
    });

    it("bernoulli, randint, categorical, permutation", async () => {
      await setBackend(backend);
      for (const c of FX.bernoulli) expect(Array.from(random.bernoulli(random.key(c.seed), c.p, c.shape).dataSync(), Boolean)).toEqual(c.v);
      for (const c of FX.randint)
        expect(Array.from(random.randint(random.key(c.seed), c.shape, c.minval, c.maxval).dataSync()), `randint ${c.minval}..${c.maxval}`).toEqual(c.v);
      for (const c of FX.categorical) expect(Array.from(random.categorical(random.key(c.seed), tensor(c.logits)).dataSync())).toEqual(c.v);
      for (const c of FX.permutation) expect(Array.from(random.permutation(random.key(c.seed), c.n).dataSync()), `permutation ${c.n}`).toEqual(c.v);
    });

    it("normal and truncatedNormal within 4 ulp (erfinv's polynomial; XLA fuses multiply-adds)", async () => {
      await setBackend(backend);
      let worst = 0;
      for (const c of FX.normal) {
        const got = f32(random.normal(random.key(c.seed), c.shape));
        expect(got.length).toBe(c.v.length);
        got.forEach((g, i) => (worst = Math.max(worst, ulps(g, c.v[i]!))));
      }
      for (const c of FX.truncatedNormal) {
        const got = f32(random.truncatedNormal(random.key(c.seed), c.shape, { lower: c.lower, upper: c.upper }));
        got.forEach((g, i) => (worst = Math.max(worst, ulps(g, c.v[i]!))));
      }
      expect(worst).toBeLessThanOrEqual(4);
    });
  });
}

describe("random under transforms and bad input", () => {
  it("jit and vmap give the eager (JAX) values", () => {
    const c = FX.uniform.find((u) => u.shape.length === 1 && u.shape[0] === 1031)!;
    expect(f32(jit((k: Tensor) => random.uniform(k, [1031]))(random.key(c.seed)))).toEqual(c.v);
    const keys = tensor(
      FX.split.find((s) => s.seed === 0 && s.n === 3)!.keys.map((v) => v | 0),
      { shape: [3, 2], dtype: "int32" },
    );
    const perKey = vmap((k: Tensor) => random.bits(k, [4]))(keys);
    const loop = random.split(random.key(0), 3).flatMap((k) => u32(random.bits(k, [4])));
    expect(u32(perKey)).toEqual(loop);
  });

  it("foldIn data outside [0, 2^32) throws instead of colliding (JAX: OverflowError)", () => {
    const k = random.key(0);
    expect(() => random.foldIn(k, 2 ** 40)).toThrow(/random\.foldIn: data must be an integer in \[0, 2\^32\), got 1099511627776/);
    expect(() => random.foldIn(k, -1)).toThrow(/random\.foldIn/);
    expect(() => random.foldIn(k, 1.5)).toThrow(/random\.foldIn/);
    expect(u32(random.foldIn(k, 2 ** 32 - 1))).not.toEqual(u32(random.foldIn(k, 0)));
  });

  it("key rejects unsafe and fractional seeds; randint rejects empty and over-wide ranges", () => {
    expect(() => random.key(0.5)).toThrow(/random\.key: seed must be a safe integer/);
    expect(() => random.key(2 ** 60)).toThrow(/random\.key/);
    expect(() => random.randint(random.key(0), [2], 3, 3)).toThrow(/random\.randint: need integers minval < maxval/);
    expect(() => random.randint(random.key(0), [2], 0, 2 ** 31)).toThrow(/spans above 2\^30/);
  });
});
