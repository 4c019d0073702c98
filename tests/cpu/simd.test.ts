// Wasm SIMD elementwise/reduce kernels (simd.ts) agree with the reference backend: the exp/tanh
// polynomials at 1e-5 relative over a wide range (incl. overflow, underflow, NaN, ±Infinity),
// flat, scalar, per-row and sliced operands, odd sizes, softmax, and results read back by JS
// kernels that follow.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { setSimdMinElements, simdGroup, simdHelpers, simdMemory, simdPlan, simdThreads } from "../../src/backends/cpu/simd.js";
import type { SimdPlan } from "../../src/backends/cpu/simd.js";
import { arenaStats } from "../../src/backends/cpu/program.js";
import type { ElementwiseKernel, ReduceKernel } from "../../src/scheduler/ir.js";

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5): number => {
  let bad = 0;
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (Number.isNaN(w) ? !Number.isNaN(g) : !(g === w || Math.abs(g - w) <= tol * (1 + Math.abs(w)))) bad++;
  }
  return bad;
};

function both(f: (...x: Tensor[]) => Tensor, ...args: { data: Float32Array; shape: number[] }[]): void {
  const run = (backend: string): Float32Array => {
    tf.setBackend(backend);
    const xs = args.map((a) => tf.tensor(a.data, { shape: a.shape }));
    return tf
      .jit(f)(...xs)
      .dataSync() as Float32Array;
  };
  const want = run("reference");
  const got = run("cpu");
  expect(got.length).toBe(want.length);
  expect(close(got, want)).toBe(0);
}

/** The SIMD plans of f's jitted kernels (all planned) and the scratch bytes of their row group. */
function grouped(f: (...x: Tensor[]) => Tensor, ...shapes: number[][]): { plans: SimdPlan[]; scratch: number } {
  const ks = tf.jit(f).lower(...shapes.map((s) => tf.ones(s))).program.kernels as readonly (ElementwiseKernel | ReduceKernel)[];
  const plans = ks.map((k) => simdPlan(k)!);
  return {
    plans,
    scratch:
      simdGroup(
        plans,
        ks.map((k) => k.inputs),
      ).scratchBytes ?? 0,
  };
}

const data = (n: number, scale = 1, seed = 1): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * scale);

describe.skipIf(!simdMemory())("wasm simd kernels", () => {
  beforeAll(() => setSimdMinElements(1));
  afterAll(() => {
    setSimdMinElements(4096);
    tf.setBackend("cpu");
  });

  it("exp and tanh over a wide range, with specials", () => {
    const x = data(4099, 120);
    x.set([NaN, Infinity, -Infinity, 0, -0, 1e-6, -1e-6, 88.7, 88.8, -87.5, -103, -110, 0.6249, 0.6251, 9, -9], 0);
    both((a) => tf.exp(a), { data: x, shape: [4099] });
    both((a) => tf.tanh(a), { data: x, shape: [4099] });
    const y = data(4099, 3);
    both((a) => tf.tanh(a), { data: y, shape: [4099] });
    both((a) => tf.exp(a), { data: y, shape: [4099] });
  });

  it("comparisons as lane masks: where, casts of bool, NaN and signed zeros", () => {
    const x = data(4099, 3);
    x.set([NaN, -0, 0, Infinity, -Infinity, 1e-40, -1e-40], 0);
    const y = data(4099, 3, 7);
    y.set([0, 0, -0, NaN, 1, 1e-40, 0], 0);
    both((a) => tf.where(tf.less(a, 0), 0, a), { data: x, shape: [4099] }); // relu as nn.relu writes it
    both((a, b) => tf.multiply(tf.astype(tf.greater(a, 0), "float32"), b), { data: x, shape: [4099] }, { data: y, shape: [4099] });
    both((a, b) => tf.where(tf.equal(a, b), a, tf.multiply(b, 2)), { data: x, shape: [4099] }, { data: y, shape: [4099] });
    both(
      (a, b) => tf.add(tf.astype(tf.notEqual(a, b), "float32"), tf.astype(tf.lessEqual(a, b), "float32")),
      { data: x, shape: [4099] },
      { data: y, shape: [4099] },
    );
    both((a) => tf.sum(tf.astype(tf.less(a, 0.5), "float32"), { axis: -1 }), { data: x.subarray(0, 4096), shape: [16, 256] });
  });

  it("subtraction (a + neg(b), either side negated) is exact: signed zeros, NaN, ±Inf, per-row operands", () => {
    const x = data(4099, 3);
    x.set([0, -0, 0, -0, Infinity, Infinity, NaN, 1, -1e-40, 5], 0);
    const y = data(4099, 3, 7);
    y.set([0, 0, -0, -0, Infinity, -Infinity, 1, NaN, 1e-40, 5], 0);
    const exact = (f: (...t: Tensor[]) => Tensor, ...args: { data: Float32Array; shape: number[] }[]): void => {
      const run = (backend: string): number[] => {
        tf.setBackend(backend);
        return Array.from(
          tf
            .jit(f)(...args.map((a) => tf.tensor(a.data, { shape: a.shape })))
            .dataSync(),
        );
      };
      const [want, got] = [run("reference"), run("cpu")];
      expect(got.filter((g, i) => !Object.is(g, want[i])).length).toBe(0);
    };
    const [X, Y] = [
      { data: x, shape: [4099] },
      { data: y, shape: [4099] },
    ];
    exact((a, b) => tf.subtract(a, b), X, Y);
    exact((a, b) => tf.add(tf.negative(a), b), X, Y);
    exact((a, b) => tf.multiply(tf.subtract(tf.negative(a), b), tf.subtract(b, a)), X, Y);
    const rows = { data: x.subarray(0, 4096), shape: [16, 256] };
    const per = { data: y.subarray(0, 16), shape: [16, 1] };
    exact((a, c) => tf.subtract(a, c), rows, per);
    exact((a, c) => tf.add(tf.negative(c), a), rows, per);
    // A negation one kernel of a row group keeps for a later one (computed once, shared through
    // scratch) is still computed where the first kernel itself only subtracts it.
    const sumThenScale = (a: Tensor): Tensor => tf.multiply(tf.sum(tf.subtract(a, tf.exp(a)), { axis: -1, keepdims: true }), tf.negative(tf.exp(a)));
    both(sumThenScale, { data: data(64 * 256, 1), shape: [64, 256] });
  });

  it("per-row operands that are not affine in the row (NCHW bias: channel (row / H) % C)", () => {
    const x = data(2 * 3 * 5 * 8, 2);
    const b = data(3, 1, 9);
    const g = data(2 * 3 * 5 * 8, 1, 4);
    const bias = (a: Tensor, c: Tensor): Tensor => tf.add(a, tf.reshape(c, [3, 1, 1]));
    both((a, c) => tf.where(tf.less(bias(a, c), 0), 0, bias(a, c)), { data: x, shape: [2, 3, 5, 8] }, { data: b, shape: [3] });
    both(
      (a, c, d) => tf.multiply(tf.astype(tf.greater(bias(a, c), 0), "float32"), d),
      { data: x, shape: [2, 3, 5, 8] },
      { data: b, shape: [3] },
      { data: g, shape: [2, 3, 5, 8] },
    );
    // a leading-axis term too: per (n, c) scale of a [2, 3, 40] tensor, and a row reduction
    const sc = data(2 * 3, 1, 2);
    both((a, c) => tf.multiply(tf.reshape(a, [2, 3, 40]), tf.reshape(c, [2, 3, 1])), { data: x, shape: [2, 3, 5, 8] }, { data: sc, shape: [2, 3] });
    both(
      (a, c) => tf.sum(tf.multiply(tf.reshape(a, [2, 3, 40]), tf.reshape(c, [1, 3, 1])), { axis: -1 }),
      { data: x, shape: [2, 3, 5, 8] },
      { data: b, shape: [3] },
    );
  });

  it("an input's arena copy is reused by the next call of the same program only", () => {
    const f = tf.jit((a: Tensor) => tf.exp(a));
    const g = tf.jit((a: Tensor) => tf.tanh(tf.multiply(a, 2)));
    const [x1, x2, y] = [data(8192, 2, 1), data(8192, 2, 2), data(12000, 2, 3)].map((d) => tf.tensor(d)) as [Tensor, Tensor, Tensor];
    const ref = (h: (a: Tensor) => Tensor, t: Tensor): Float32Array => {
      tf.setBackend("reference");
      const r = Float32Array.from(h(t).dataSync());
      tf.setBackend("cpu");
      return r;
    };
    const check = (h: (a: Tensor) => Tensor, t: Tensor): void => expect(close(h(t).dataSync(), ref(h, t))).toBe(0);
    tf.setBackend("cpu");
    check(f, x1);
    let { reused } = arenaStats;
    check(f, x1); // same program, same tensor, nothing in between: no copy
    expect(arenaStats.reused).toBe(reused + 1);
    check(g, y); // another program overwrites the arena
    reused = arenaStats.reused;
    check(f, x1);
    check(f, x2); // a different tensor of the same shape
    expect(arenaStats.reused).toBe(reused);
    check(f, x2);
    expect(arenaStats.reused).toBe(reused + 1);
  });

  it("a SIMD group's result arrays are allocated at their first copy out, and outputs read by later runners are there first", () => {
    // softmax (one SIMD row group, its output copied out row chunk by row chunk), its row max
    // (also an output), and an argmax over the softmax (a host runner reading a program output).
    const f = tf.jit((a: Tensor) => {
      const s = tf.nn.softmax(a);
      return [s, tf.max(a, { axis: -1 }), tf.argmax(s, { axis: -1 })] as const;
    });
    const x = tf.tensor(data(256 * 1024, 3, 7), { shape: [256, 1024] });
    const run = (backend: string): Float32Array[] => {
      tf.setBackend(backend);
      return f(x).map((t) => Float32Array.from(t.dataSync()));
    };
    const want = run("reference");
    const late = arenaStats.lateOutputs;
    const got = run("cpu");
    expect(arenaStats.lateOutputs).toBeGreaterThan(late);
    got.forEach((g, i) => expect(close(g, want[i]!)).toBe(0));
  });

  it("a group's outputs that a later kernel of the group reads are copied out as their rows finish too", () => {
    // An optimizer-like update: m2 is an output and p2's kernel reads it (one SIMD group over
    // the flat elements, shared with the helper threads); and softmax with its row max.
    const upd = tf.jit((p: Tensor, m: Tensor, g: Tensor) => {
      const m2 = tf.add(tf.multiply(m, 0.9), tf.multiply(g, 0.1));
      return [tf.subtract(p, tf.multiply(tf.sqrt(tf.abs(m2)), 0.01)), m2] as const;
    });
    const sm = tf.jit((a: Tensor) => [tf.nn.softmax(a), tf.max(a, { axis: -1 })] as const);
    const [p, m, g] = [1, 2, 3].map((k) => tf.tensor(data(512 * 1024, 2, k), { shape: [512, 1024] })) as [Tensor, Tensor, Tensor];
    const run = (backend: string): Float32Array[] => {
      tf.setBackend(backend);
      return [...upd(p, m, g), ...sm(p)].map((t) => Float32Array.from(t.dataSync()));
    };
    const want = run("reference");
    const late = arenaStats.lateOutputs;
    const got = run("cpu");
    expect(arenaStats.lateOutputs - late).toBe(4);
    got.forEach((r, i) => expect(close(r, want[i]!)).toBe(0));
  });

  it("exp stays within 2 ulp of the float64 result on a dense grid (both scaling paths, denormal results)", () => {
    const n = 1 << 16;
    const x = Float32Array.from({ length: n }, (_, i) => -104 + (193 * i) / n);
    tf.setBackend("cpu");
    const got = tf
      .jit((a: Tensor) => tf.exp(a))(tf.tensor(x))
      .dataSync();
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const w = Math.exp(x[i]!);
      if (Math.fround(w) === Infinity) {
        expect(got[i]).toBe(Infinity);
        continue;
      }
      const ulp = Math.max(2 ** -149, 2 ** (Math.floor(Math.log2(Math.max(w, 2 ** -126))) - 23));
      worst = Math.max(worst, Math.abs(got[i]! - w) / ulp);
    }
    expect(worst).toBeLessThan(2);
  });

  it("the bench chain, odd length", () => {
    const f = (x: Tensor): Tensor =>
      tf.subtract(tf.multiply(tf.maximum(tf.add(tf.multiply(x, 1.5), 0.25), 0), tf.divide(1, tf.add(1, tf.exp(tf.negative(x))))), tf.tanh(x));
    both(f, { data: data(1001, 4), shape: [1001] });
    both(f, { data: data(7 * 13, 4), shape: [7, 13] });
  });

  it("per-row operands and row reductions (softmax, sum, max, min)", () => {
    const sm = (x: Tensor): Tensor => {
      const e = tf.exp(tf.subtract(x, tf.max(x, { axis: -1, keepdims: true })));
      return tf.divide(e, tf.sum(e, { axis: -1, keepdims: true }));
    };
    both(sm, { data: data(6 * 32, 5), shape: [6, 32] });
    both(sm, { data: data(3 * 2 * 16, 5), shape: [3, 2, 16] });
    both(sm, { data: data(5 * 10, 5), shape: [5, 10] }); // cols % 4 != 0: JS fallback
    both((x) => tf.sum(x, { axis: -1 }), { data: data(9 * 64), shape: [9, 64] });
    both((x) => tf.min(x, { axis: [1, 2] }), { data: data(4 * 4 * 8), shape: [4, 4, 8] });
    both((x) => tf.max(tf.sqrt(tf.abs(x)), { axis: -1 }), { data: data(4 * 8), shape: [4, 8] });
    both((x) => tf.sum(x, { axis: 0 }), { data: data(8 * 8), shape: [8, 8] }); // strided: JS
  });

  it("unrolled row loops (4, 2 and 1 vectors per iteration) with NaN and infinities in any lane", () => {
    const sm = (x: Tensor): Tensor => {
      const e = tf.exp(tf.subtract(x, tf.max(x, { axis: -1, keepdims: true })));
      return tf.divide(e, tf.sum(e, { axis: -1, keepdims: true }));
    };
    for (const cols of [4, 8, 12, 16, 24, 40, 1024]) {
      const x = data(5 * cols, 7, cols);
      x[cols + cols - 3] = NaN; // row 1, last vector
      x[2 * cols + 5] = Infinity; // row 2
      x[3 * cols + cols - 1] = -Infinity; // row 3
      both(sm, { data: x, shape: [5, cols] });
      both((a) => tf.max(a, { axis: -1 }), { data: x, shape: [5, cols] });
      both((a) => tf.min(a, { axis: -1 }), { data: x, shape: [5, cols] });
      both((a) => tf.sum(tf.exp(a), { axis: -1 }), { data: x, shape: [5, cols] });
      both((a) => tf.tanh(tf.multiply(a, 2)), { data: x, shape: [5, cols] });
    }
  });

  it("a split exp (two loops over the row) gives the one-loop code's bits; rows with a lane out of range run the one loop", () => {
    const sm = (x: Tensor): Tensor => tf.nn.softmax(x);
    const lse = (x: Tensor): Tensor => tf.logsumexp(x, { axis: -1 });
    for (const cols of [32, 48, 64, 132, 1024]) {
      const rows = 6;
      const x = data(rows * cols, 5, cols);
      // Row 1: a lane past exp's overflow at the first vector; row 3: one far below at the last
      // whole vector; row 4: NaN. The other rows never see those lanes.
      const far = x.slice();
      far[cols] = 100;
      far[3 * cols + Math.floor(cols / 4) * 4 - 2] = -120;
      far[4 * cols + 5] = NaN;
      const touched = (i: number): boolean => [1, 3, 4].includes(Math.floor(i / cols));
      for (const f of [sm, lse, (a: Tensor) => tf.exp(a), (a: Tensor) => tf.sum(tf.multiply(tf.exp(tf.multiply(a, 0.5)), a), { axis: -1 })]) {
        tf.setBackend("cpu");
        const near = tf
          .jit(f)(tf.tensor(x, { shape: [rows, cols] }))
          .dataSync();
        const mixed = tf
          .jit(f)(tf.tensor(far, { shape: [rows, cols] }))
          .dataSync();
        const per = near.length / rows;
        for (let i = 0; i < near.length; i++) if (!touched(Math.floor(i / per) * cols)) expect(Object.is(mixed[i], near[i])).toBe(true);
        both(f, { data: far, shape: [rows, cols] });
        both(f, { data: x, shape: [rows, cols] });
      }
    }
    // The split needs rows of whole unrolled steps (cols/4 a multiple of 4, at least 8 vectors)
    // and two scratch rows (2^n and the reduced argument) per thread.
    const plan = (rows: number, cols: number): ReturnType<typeof simdPlan> => {
      const ks = tf.jit(lse).lower(tf.ones([rows, cols])).program.kernels as readonly (ElementwiseKernel | ReduceKernel)[];
      return simdPlan(ks.find((k) => k.kind === "reduce" && k.body.some((i) => i.op === "unary" && i.fn === "exp"))!);
    };
    expect(simdGroup([plan(4, 64)!]).scratchBytes).toBe(2 * 64 * 4);
    expect(simdGroup([plan(4, 16)!]).scratchBytes ?? 0).toBe(0);
  });

  it("a group whose kernels differ in columns sizes its scratch rows for the widest (a split exp after a narrow row sum)", () => {
    const f = (x: Tensor, y: Tensor): Tensor => tf.multiply(tf.exp(tf.multiply(y, tf.sum(tf.tanh(x), { axis: -1, keepdims: true }))), y);
    const { plans, scratch } = grouped(f, [2048, 16], [2048, 1024]);
    expect(plans.map((p) => p.cols)).toEqual([16, 1024]);
    expect(scratch).toBe(2 * 1024 * 4);
    // (Sized by the first kernel's 16 columns, the helper threads' scratch rows overlapped: Infinity.)
    both(f, { data: data(2048 * 16, 0.1, 2), shape: [2048, 16] }, { data: data(2048 * 1024, 1, 3), shape: [2048, 1024] });
  });

  it("big kernels split their rows with the helper threads (flat chains viewed as rows, softmax with per-thread scratch)", async () => {
    setSimdMinElements(4096);
    try {
      const sm = (x: Tensor): Tensor => {
        const e = tf.exp(tf.subtract(x, tf.max(x, { axis: -1, keepdims: true })));
        return tf.divide(e, tf.sum(e, { axis: -1, keepdims: true }));
      };
      const chain = (x: Tensor): Tensor =>
        tf.subtract(tf.multiply(tf.maximum(tf.add(tf.multiply(x, 1.5), 0.25), 0), tf.divide(1, tf.add(1, tf.exp(tf.negative(x))))), tf.tanh(x));
      const rowsRun = (): number => simdHelpers().reduce((a, b) => a + b, 0);
      if (simdThreads() > 1) {
        // Helpers start on first use; on a loaded machine that can take seconds: wait (bounded).
        for (const end = Date.now() + 10_000; simdHelpers().length === 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
      }
      const before = rowsRun();
      const x = data(600 * 1024, 6, 3);
      x[300 * 1024 + 17] = NaN;
      x[599 * 1024 + 1023] = Infinity;
      both(sm, { data: x, shape: [600, 1024] });
      both(chain, { data: x, shape: [600 * 1024] });
      both(chain, { data: x.subarray(0, 600 * 1024 - 4), shape: [600 * 1024 - 4] }); // not a multiple of the flat row: one row
      both((a) => tf.sum(tf.exp(a), { axis: -1 }), { data: x, shape: [1200, 512] });
      if (simdThreads() > 1) {
        expect(simdHelpers().length).toBeGreaterThan(0);
        // A helper descheduled by other load can miss every chunk of a call, and the share gate
        // then backs off: run softmax again (bounded) until a helper has claimed rows.
        for (const end = Date.now() + 10_000; rowsRun() <= before && Date.now() < end;) both(sm, { data: x, shape: [600, 1024] });
        expect(rowsRun()).toBeGreaterThan(before);
      }
    } finally {
      setSimdMinElements(1);
    }
  });

  it("softmax's normalize kernel reuses exp-sum's exp values from a per-row scratch", () => {
    tf.setBackend("cpu");
    const sm = (x: Tensor): Tensor => {
      const e = tf.exp(tf.subtract(x, tf.max(x, { axis: -1, keepdims: true })));
      return tf.divide(e, tf.sum(e, { axis: -1, keepdims: true }));
    };
    const { plans, scratch } = grouped(sm, [8, 64]);
    expect(plans.length).toBe(3);
    // One row region for the shared exp values, two for the split exp (2^n and the reduced argument).
    expect(scratch).toBe(3 * 64 * 4);
    // Same bodies over different inputs share nothing (the split exp's two rows remain).
    expect(simdGroup(plans, [[0], [0, 7], [0, 1, 2]]).scratchBytes ?? 0).toBe(2 * 64 * 4);
    both((x) => tf.add(sm(x), tf.exp(tf.subtract(tf.flip(x, { axis: -1 }), tf.max(x, { axis: -1, keepdims: true })))), {
      data: data(6 * 32, 5),
      shape: [6, 32],
    });
  });

  it("broadcast, sliced and transposed operands; SIMD results feeding JS kernels and outputs", () => {
    both((x, y) => tf.multiply(tf.add(x, y), tf.floor(x)), { data: data(8 * 12, 3), shape: [8, 12] }, { data: data(12, 2, 5), shape: [12] });
    both((x, y) => tf.add(x, y), { data: data(8 * 12), shape: [8, 12] }, { data: data(8, 1, 3), shape: [8, 1] });
    both((x) => tf.exp(tf.slice(x, [0, 4], [8, 8])), { data: data(8 * 12), shape: [8, 12] });
    both((x) => tf.cumsum(tf.exp(tf.permuteDims(tf.exp(x))), { axis: 0 }), { data: data(8 * 12), shape: [8, 12] });
    both((x) => tf.log(tf.add(tf.exp(x), tf.sum(tf.exp(x), { axis: -1, keepdims: true }))), { data: data(4 * 16), shape: [4, 16] });
  });
});
