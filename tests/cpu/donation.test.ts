// Donated inputs written in place (jit donateArgnums on the CPU backend): outputs take a donated
// input's array only when nothing else can see it, and the values are exactly those of the call
// without donation. Every case compares against the same jitted function without donation (an
// independent run: fresh arrays), and checks whether the array was taken (donationStats).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { arenaStats, donationStats } from "../../src/backends/cpu/program.js";
import { runSeed } from "../scheduler/gen.js";

type T = Tensor;
const RUNS = Number(process.env.PROPS_RUNS ?? 40);
const real = (seed: number, shape: number[]): T => tf.tensor(tf.random.normal(tf.random.key(seed), shape).dataSync(), { shape });
/** A fresh tensor with the same values, never read through `dataSync` (so it may be reused). */
const copy = (t: T): T => tf.jit((x: T) => tf.add(x, 0))(t);
const values = (t: T): Float32Array => Float32Array.from(t.dataSync());
const inPlace = (): number => donationStats.inPlace;

/** An Adam step of a two-layer model: parameters and both moments donated. */
const adam = (p: T[], m: T[], v: T[], x: T): T[][] => {
  const loss = (q: T[]): T => tf.mean(tf.square(tf.matmul(tf.maximum(tf.matmul(x, q[0]!), 0), q[1]!)));
  const g = tf.grad(loss)(p) as T[];
  const m2 = m.map((mi, i) => tf.add(tf.multiply(mi, 0.9), tf.multiply(g[i]!, 0.1)));
  const v2 = v.map((vi, i) => tf.add(tf.multiply(vi, 0.999), tf.multiply(tf.square(g[i]!), 0.001)));
  const p2 = p.map((pi, i) => tf.subtract(pi, tf.multiply(0.01, tf.divide(m2[i]!, tf.add(tf.sqrt(v2[i]!), 1e-8)))));
  return [p2, m2, v2];
};

describe("donated inputs written in place (cpu)", () => {
  it("an Adam loop with donated parameters and moments: every update in place, values equal to the loop without donation", () => {
    const x = real(1, [64, 96]);
    const init = (): [T[], T[], T[]] => [
      [real(2, [96, 64]), real(3, [64, 8])],
      [tf.zeros([96, 64]), tf.zeros([64, 8])],
      [tf.zeros([96, 64]), tf.zeros([64, 8])],
    ];
    const plain = tf.jit((p: T[], m: T[], v: T[]) => adam(p, m, v, x));
    const donating = tf.jit((p: T[], m: T[], v: T[]) => adam(p, m, v, x), { donateArgnums: [0, 1, 2] });
    let [a, am, av] = init();
    let [b, bm, bv] = init();
    for (let step = 0; step < 6; step++) {
      [a, am, av] = plain(a, am, av) as [T[], T[], T[]];
      const before = inPlace();
      [b, bm, bv] = donating(b, bm, bv) as [T[], T[], T[]];
      // from the second step on, the six outputs overwrite the six donated inputs
      if (step > 0) expect(inPlace() - before).toBe(6);
    }
    [...a, ...am, ...av].forEach((t, i) => expect(values([...b, ...bm, ...bv][i]!)).toEqual(values(t)));
  });

  it("an SGD loop (p − lr·g: the update fused into the weight gradient's matmul epilogue) writes the parameters in place, values equal", () => {
    const x = real(11, [64, 96]);
    const sgd = (p: T[]): T[] => {
      const loss = (q: T[]): T => tf.mean(tf.square(tf.matmul(tf.maximum(tf.matmul(x, q[0]!), 0), q[1]!)));
      const g = tf.grad(loss)(p) as T[];
      return p.map((pi, i) => tf.subtract(pi, tf.multiply(0.05, g[i]!)));
    };
    const plain = tf.jit(sgd);
    const donating = tf.jit(sgd, { donateArgnums: 0 });
    // the update is a matmul epilogue reading the parameter it replaces
    const ks = donating.lower([real(12, [96, 64]), real(13, [64, 8])]).program.kernels;
    expect(ks.filter((k) => k.kind === "matmul" && k.epilogue.some((i) => i.op === "load")).length).toBeGreaterThanOrEqual(2);
    let a = [real(12, [96, 64]), real(13, [64, 8])];
    let b = [copy(a[0]!), copy(a[1]!)];
    for (let step = 0; step < 5; step++) {
      a = plain(a) as T[];
      const before = inPlace();
      b = donating(b) as T[];
      if (step > 0) expect(inPlace() - before).toBe(2);
    }
    a.forEach((t, i) => expect(values(b[i]!)).toEqual(values(t)));
  });

  it("an array handed out by dataSync is never overwritten", () => {
    const f = tf.jit((x: T) => tf.multiply(x, 2), { donateArgnums: 0 });
    const x = copy(real(4, [1000]));
    const seen = x.dataSync();
    const keep = Float32Array.from(seen);
    const before = inPlace();
    const y = f(x);
    expect(inPlace()).toBe(before);
    expect(seen).toEqual(keep);
    expect(values(y)).toEqual(keep.map((v) => Math.fround(v * 2)));
  });

  it("a pending op on the donated tensor still reads the old values", () => {
    const f = tf.jit((x: T) => tf.multiply(x, 2), { donateArgnums: 0 });
    const x = copy(real(5, [512]));
    const want = Float32Array.from((x.arraySync() as number[]).map((v) => Math.fround(v + 1)));
    const lazy = tf.add(x, 1); // not computed yet
    const before = inPlace();
    f(x);
    expect(inPlace()).toBe(before);
    expect(values(lazy)).toEqual(want);
  });

  it("a tensor captured by another jitted function is never overwritten", () => {
    const c = copy(real(6, [300]));
    const want = Float32Array.from((c.arraySync() as number[]).map((v) => Math.fround(v * 3)));
    const g = tf.jit((y: T) => tf.multiply(c, y));
    expect(values(g(tf.full([300], 3)))).toEqual(want);
    const f = tf.jit((x: T) => tf.negative(x), { donateArgnums: 0 });
    const before = inPlace();
    f(c);
    expect(inPlace()).toBe(before);
    expect(values(g(tf.full([300], 3)))).toEqual(want);
  });

  it("the same tensor in two arguments, donated or not, is not overwritten (and donating it twice does not throw)", () => {
    const twice = tf.jit((a: T, b: T) => tf.add(a, b), { donateArgnums: [0, 1] });
    const once = tf.jit((a: T, b: T) => [tf.add(a, 1), tf.multiply(b, 2)], { donateArgnums: 0 });
    const x = copy(real(7, [256]));
    const xs = x.arraySync() as number[];
    const before = inPlace();
    expect(values(twice(x, x))).toEqual(Float32Array.from(xs.map((v) => Math.fround(v + v))));
    const y = copy(real(7, [256]));
    const [p, q] = once(y, y) as T[];
    expect(inPlace()).toBe(before);
    expect(values(p!)).toEqual(Float32Array.from(xs.map((v) => Math.fround(v + 1))));
    expect(values(q!)).toEqual(Float32Array.from(xs.map((v) => Math.fround(v * 2))));
  });

  it("an array shared by devicePut, or returned unchanged by a call, is not overwritten", () => {
    const f = tf.jit((x: T) => tf.exp(x), { donateArgnums: 0 });
    const x = copy(real(8, [128]));
    const xs = Float32Array.from(x.arraySync() as number[]);
    const alias = tf.devicePut(x, "cpu");
    const before = inPlace();
    f(x);
    expect(values(alias)).toEqual(xs);
    const id = tf.jit((a: T) => [a, tf.add(a, 0)]);
    const z = copy(real(9, [128]));
    const zs = Float32Array.from(z.arraySync() as number[]);
    const [same] = id(z) as T[];
    f(same!);
    expect(inPlace()).toBe(before);
    expect(values(z)).toEqual(zs);
  });

  it("an eager result that simplifies to the donated tensor (and shares its array) keeps its values", () => {
    const f = tf.jit((x: T) => tf.multiply(x, 2), { donateArgnums: 0 });
    // each simplifies to x itself: realizing it returns x's own array in a second storage
    const views: ((x: T) => T)[] = [
      (x) => tf.multiply(x, 1),
      (x) => tf.reshape(tf.reshape(x, [256]), [16, 16]),
      (x) => tf.matrixTranspose(tf.matrixTranspose(x)),
    ];
    for (const view of views) {
      const x = copy(real(11, [16, 16]));
      const want = Float32Array.from((x.arraySync() as number[][]).flat());
      const v = view(x);
      v.arraySync();
      const before = inPlace();
      f(x);
      expect(inPlace()).toBe(before);
      expect(Float32Array.from((v.arraySync() as number[][]).flat())).toEqual(want);
    }
  });

  it("another program's wasm copy of an array written in place is not reused (a JS-only program writes it)", () => {
    const g = tf.jit((x: T) => tf.exp(x)); // Wasm SIMD: keeps a copy of its input in wasm memory
    const f = tf.jit((x: T) => tf.sin(x), { donateArgnums: 0 }); // JS kernel, no wasm memory
    const want = tf.jit((x: T) => tf.exp(tf.sin(x)));
    const x = copy(real(12, [64, 64]));
    const expect1 = values(want(x));
    g(x); // x's array now has a copy in wasm memory, kept for g's next call
    const before = inPlace();
    const y = f(x); // sin written over x's array
    expect(inPlace()).toBe(before + 1);
    // (exp in Wasm SIMD against the JS kernel of the fused reference: a few ulp apart; the stale
    // copy of x gave exp(x), off in the third digit)
    const got = values(g(y));
    expect(Math.max(...got.map((v, i) => Math.abs(v - expect1[i]!) / expect1[i]!))).toBeLessThan(1e-6);
  });

  it("a donating step leaves its updates in wasm memory: the next step skips their copy in, values equal to the undonated loop", () => {
    // m2 and p2 are written over m's and p's places in the SIMD arena (in wasm memory, m2's
    // kernel alone reads m and p2's alone reads p; the matmul p2 needs reads p's array before): after a
    // call in which they took m's and p's arrays, the arena holds those arrays' values.
    const step = (p: T, m: T, g: T): T[] => {
      const m2 = tf.add(tf.multiply(m, 0.9), tf.multiply(g, 0.1));
      const loss = tf.mean(tf.matmul(g, tf.matrixTranspose(p)));
      return [tf.subtract(tf.multiply(p, 0.999), tf.multiply(tf.sqrt(tf.abs(m2)), tf.multiply(loss, 0.01))), m2, loss];
    };
    const plain = tf.jit(step);
    const donating = tf.jit(step, { donateArgnums: [0, 1] });
    const g = real(20, [96, 64]);
    let [a, am] = [real(21, [96, 64]), real(22, [96, 64])];
    let [b, bm] = [copy(a), copy(am)];
    let la = tf.scalar(0);
    let lb = la;
    for (let i = 0; i < 5; i++) [a, am, la] = plain(a, am, g) as [T, T, T];
    const reused: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = arenaStats.reused;
      [b, bm, lb] = donating(b, bm, g) as [T, T, T];
      reused.push(arenaStats.reused - before);
    }
    // the first call (already donating: b and bm are fresh) copies all three inputs in; from the
    // second on, g (not donated, the same tensor) and the updates m and p are there
    expect(reused).toEqual([0, 3, 3, 3, 3]);
    expect(values(b)).toEqual(values(a));
    expect(values(bm)).toEqual(values(am));
    expect(values(lb)).toEqual(values(la));
  });

  it("a donating call drops its wasm copies of inputs when another program used wasm memory since", () => {
    const step = (p: T, c: T): T => tf.add(tf.multiply(p, c), tf.exp(c));
    const donating = tf.jit(step, { donateArgnums: 0 });
    const plain = tf.jit(step);
    const other = tf.jit((x: T) => tf.tanh(tf.multiply(x, 3)));
    const c = real(23, [64, 64]);
    let p = copy(real(24, [64, 64]));
    let want = copy(p);
    for (let i = 0; i < 3; i++) {
      p = donating(p, c) as T; // c's copy in wasm memory is kept for the next call
      want = plain(want, c) as T;
      values(other(real(25 + i, [128, 128]))); // writes over it
    }
    expect(values(p)).toEqual(values(want));
  });

  it("a donated input read again after its update (a later kernel) is not overwritten early", () => {
    // y = x·2 is written where x is still needed by the sum: it must not take x's array.
    const f = tf.jit((x: T) => [tf.multiply(x, 2), tf.sum(tf.multiply(x, x))], { donateArgnums: 0 });
    const g = tf.jit((x: T) => [tf.multiply(x, 2), tf.sum(tf.multiply(x, x))]);
    const x = real(10, [64, 64]);
    const want = (g(x) as T[]).map(values);
    const got = (f(copy(x)) as T[]).map(values);
    expect(got).toEqual(want);
  });

  it("property: random elementwise and matmul updates agree with the undonated call (fast-check)", () => {
    const seed = runSeed("donation");
    fc.assert(
      fc.property(
        fc.record({
          // small, and big enough for Wasm SIMD row groups shared with the helper threads
          n: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(128, 300)),
          ops: fc.array(fc.constantFrom("mul", "add", "exp", "sum", "matmul", "max", "t", "softmax", "rowsum"), { minLength: 1, maxLength: 5 }),
          s: fc.nat(1000),
        }),
        ({ n, ops, s }) => {
          // Outputs: an update of x (same shape), a second output of x's shape, and one of y's.
          const body = (x: T, y: T): T[] => {
            let u = x;
            for (const op of ops) {
              if (op === "mul") u = tf.multiply(u, y);
              else if (op === "add") u = tf.add(u, 0.5);
              else if (op === "exp") u = tf.exp(tf.multiply(u, 0.1));
              else if (op === "sum") u = tf.add(u, tf.sum(x, { axis: 0, keepdims: true }));
              else if (op === "matmul") u = tf.multiply(tf.matmul(u, y), 0.01);
              else if (op === "max") u = tf.maximum(u, x);
              else if (op === "softmax") u = tf.nn.softmax(tf.add(u, x));
              else if (op === "rowsum") u = tf.subtract(u, tf.sum(tf.multiply(x, u), { axis: -1, keepdims: true }));
              else u = tf.matrixTranspose(u);
            }
            return [tf.subtract(x, tf.multiply(u, 0.1)), tf.multiply(y, 2), tf.add(x, y)];
          };
          const plain = tf.jit(body);
          const donating = tf.jit(body, { donateArgnums: [0, 1] });
          const x = real(s, [n, n]);
          const y = real(s + 1, [n, n]);
          const want = (plain(x, y) as T[]).map(values);
          let [dx, dy] = [copy(x), copy(y)];
          let got = donating(dx, dy) as T[];
          expect(got.map(values)).toEqual(want);
          // a second call on the outputs (fresh, exclusive arrays: now eligible)
          const want2 = (plain(got[0]!, got[1]!) as T[]).map(values);
          [dx, dy] = [copy(got[0]!), copy(got[1]!)];
          got = donating(dx, dy) as T[];
          expect(got.map(values)).toEqual(want2);
        },
      ),
      { numRuns: RUNS, seed },
    );
  }, 300_000);

  it("property: consecutive donating steps of a random optimizer-like update agree with the undonated loop (fast-check)", () => {
    // p and m are donated, g is not; other kernels may read p or m too. Three steps in a row with
    // nothing else using wasm memory: updates written over their inputs' places there (see
    // donation.ts arenaAliases) are read there by the next step, and must equal the undonated loop.
    const seed = runSeed("donation-steps");
    let reusedAll = 0;
    fc.assert(
      fc.property(
        fc.record({
          n: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(128, 300)),
          ops: fc.array(fc.constantFrom("exp", "sqrt", "mulg", "softmax", "rowsum", "colsum", "matmul"), { maxLength: 3 }),
          readers: fc.subarray(["p", "m", "pm"]),
          s: fc.nat(1000),
        }),
        ({ n, ops, readers, s }) => {
          const step = (p: T, m: T, g: T): T[] => {
            let u = g;
            for (const op of ops) {
              if (op === "exp") u = tf.exp(tf.multiply(u, 0.1));
              else if (op === "sqrt") u = tf.sqrt(tf.abs(u));
              else if (op === "mulg") u = tf.multiply(u, g);
              else if (op === "softmax") u = tf.nn.softmax(u);
              else if (op === "rowsum") u = tf.subtract(u, tf.sum(tf.multiply(p, u), { axis: -1, keepdims: true }));
              else if (op === "colsum") u = tf.add(u, tf.sum(u, { axis: 0, keepdims: true }));
              else u = tf.multiply(tf.matmul(u, p), 0.01);
            }
            const m2 = tf.add(tf.multiply(m, 0.9), tf.multiply(u, 0.1));
            const p2 = tf.subtract(tf.multiply(p, 0.999), tf.multiply(m2, 0.01));
            const extra = readers.map((r) => (r === "p" ? tf.sum(p) : r === "m" ? tf.max(m) : tf.sum(tf.multiply(p, m))));
            return [p2, m2, ...extra];
          };
          const plain = tf.jit(step);
          const donating = tf.jit(step, { donateArgnums: [0, 1] });
          const g = real(s + 2, [n, n]);
          const want: Float32Array[][] = [];
          let [p, m] = [real(s, [n, n]), real(s + 1, [n, n])];
          const [p0, m0] = [copy(p), copy(m)];
          for (let i = 0; i < 3; i++) {
            const r = plain(p, m, g) as T[];
            want.push(r.map(values));
            [p, m] = [r[0]!, r[1]!];
          }
          let [q, v] = [p0, m0];
          const extras: T[][] = [];
          const before = arenaStats.reused;
          for (let i = 0; i < 3; i++) {
            const r = donating(q, v, g) as T[];
            extras.push(r.slice(2));
            [q, v] = [r[0]!, r[1]!];
          }
          reusedAll += arenaStats.reused - before;
          expect([values(q), values(v)]).toEqual(want[2]!.slice(0, 2));
          extras.forEach((e, i) => expect(e.map(values)).toEqual(want[i]!.slice(2)));
        },
      ),
      { numRuns: RUNS, seed },
    );
    expect(reusedAll).toBeGreaterThan(0); // (the path is exercised: some steps found their inputs there)
  }, 300_000);
});
