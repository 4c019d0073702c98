// The `conv` primitive: values on the CPU backend (eager and jit, the table-gemm path included)
// against a naive float64 loop written here and against the reference backend, for odd sizes,
// strides, padding, dilation, groups, batch 1, 1x1/5x5 kernels and 1-D/3-D; gradients against
// finite differences (checkGrads), second order included; vmap == loop over either argument;
// the rules' general form (input dilation, cropping padding) and the lowering's fast path.
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import type { Tensor } from "../../src/index.js";
import * as tf from "../../src/index.js";
import { checkGrads } from "../../laws/index.js";
import { bind } from "../../src/ops/base.js";
import { gatherStats } from "../../src/backends/cpu/matmul.js";

interface Opts {
  strides?: number[];
  padding?: "SAME" | "VALID" | [number, number][];
  dilation?: number[];
  groups?: number;
}

/** Naive conv in float64 (cross-correlation, NCHW/OIHW, JAX's SAME split). */
function naive(x: Float64Array | Float32Array, xs: number[], w: Float64Array | Float32Array, ws: number[], o: Opts): { y: Float64Array; shape: number[] } {
  const nsp = xs.length - 2;
  const s = o.strides ?? new Array<number>(nsp).fill(1);
  const d = o.dilation ?? new Array<number>(nsp).fill(1);
  const g = o.groups ?? 1;
  const k = ws.slice(2);
  const inSp = xs.slice(2);
  const kEff = k.map((v, i) => (v - 1) * d[i]! + 1);
  const pads: [number, number][] =
    o.padding === "SAME"
      ? inSp.map((n, i) => {
          const out = Math.ceil(n / s[i]!);
          const t = Math.max((out - 1) * s[i]! + kEff[i]! - n, 0);
          return [Math.floor(t / 2), t - Math.floor(t / 2)];
        })
      : o.padding === undefined || o.padding === "VALID"
        ? inSp.map(() => [0, 0])
        : o.padding;
  const out = inSp.map((n, i) => Math.floor((n + pads[i]![0] + pads[i]![1] - kEff[i]!) / s[i]!) + 1);
  const [N, C, O, Cg] = [xs[0]!, xs[1]!, ws[0]!, ws[1]!];
  const P = out.reduce((a, b) => a * b, 1);
  const K = k.reduce((a, b) => a * b, 1);
  const I = inSp.reduce((a, b) => a * b, 1);
  const y = new Float64Array(N * O * P);
  const digits = (v: number, dims: number[]): number[] => {
    const r = new Array<number>(dims.length);
    for (let i = dims.length - 1; i >= 0; i--) {
      r[i] = v % dims[i]!;
      v = Math.floor(v / dims[i]!);
    }
    return r;
  };
  for (let n = 0; n < N; n++)
    for (let oc = 0; oc < O; oc++)
      for (let q = 0; q < P; q++) {
        const oi = digits(q, out);
        let acc = 0;
        for (let c = 0; c < Cg; c++)
          for (let t = 0; t < K; t++) {
            const kt = digits(t, k);
            let flat = 0;
            let ok = true;
            for (let i = 0; i < nsp; i++) {
              const pos = oi[i]! * s[i]! + kt[i]! * d[i]! - pads[i]![0];
              if (pos < 0 || pos >= inSp[i]!) ok = false;
              flat = flat * inSp[i]! + pos;
            }
            if (!ok) continue;
            const ch = Math.floor(oc / (O / g)) * Cg + c;
            acc += x[(n * C + ch) * I + flat]! * w[(oc * Cg + c) * K + t]!;
          }
        y[(n * O + oc) * P + q] = acc;
      }
  return { y, shape: [N, O, ...out] };
}

function rnd(shape: number[], seed: number): Tensor {
  return tf.random.uniform(tf.random.key(seed), shape, { minval: -1, maxval: 1 });
}

function expectClose(got: Tensor, want: ArrayLike<number>, shape: number[], tol: number): void {
  expect(got.shape).toEqual(shape);
  const g = got.dataSync();
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(g[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  expect(worst).toBeLessThan(tol);
}

const CASES: { name: string; xs: number[]; ws: number[]; o: Opts }[] = [
  { name: "3x3 SAME, odd sizes", xs: [2, 3, 7, 5], ws: [4, 3, 3, 3], o: { padding: "SAME" } },
  { name: "batch 1, 1x1 kernel", xs: [1, 5, 6, 6], ws: [3, 5, 1, 1], o: {} },
  {
    name: "5x5 kernel, explicit padding",
    xs: [2, 2, 9, 8],
    ws: [3, 2, 5, 5],
    o: {
      padding: [
        [2, 1],
        [0, 3],
      ],
    },
  },
  { name: "stride 2 SAME", xs: [2, 3, 9, 7], ws: [4, 3, 3, 3], o: { strides: [2, 2], padding: "SAME" } },
  { name: "stride (2,3) VALID, dilation (2,1)", xs: [1, 2, 11, 10], ws: [2, 2, 3, 2], o: { strides: [2, 3], dilation: [2, 1] } },
  { name: "groups 2", xs: [2, 4, 6, 5], ws: [6, 2, 3, 3], o: { padding: "SAME", groups: 2 } },
  { name: "depthwise (groups = channels)", xs: [2, 3, 5, 5], ws: [3, 1, 3, 3], o: { padding: "SAME", groups: 3 } },
  { name: "1-D", xs: [3, 2, 13], ws: [4, 2, 4], o: { strides: [3], padding: "SAME" } },
  { name: "3-D", xs: [1, 2, 4, 5, 3], ws: [2, 2, 2, 3, 2], o: { padding: "SAME" } },
  { name: "table-gemm sized (threads, SIMD)", xs: [4, 8, 16, 16], ws: [16, 8, 3, 3], o: { padding: "SAME" } },
];

describe("conv values", () => {
  for (const c of CASES) {
    test(`${c.name}: eager, jit and the reference backend match a float64 loop`, async () => {
      const x = rnd(c.xs, 1);
      const w = rnd(c.ws, 2);
      const want = naive(x.dataSync() as Float32Array, c.xs, w.dataSync() as Float32Array, c.ws, c.o);
      const f = (a: Tensor, b: Tensor): Tensor => tf.conv(a, b, c.o);
      expectClose(f(x, w), want.y, want.shape, 1e-5);
      expectClose(tf.jit(f)(x, w), want.y, want.shape, 1e-5);
      await tf.setBackend("reference");
      try {
        const r = f(tf.tensor(x.dataSync() as Float32Array, { shape: c.xs }), tf.tensor(w.dataSync() as Float32Array, { shape: c.ws }));
        expect(r.shape).toEqual(want.shape);
        const rv = await r.data();
        for (let i = 0; i < want.y.length; i++) expect(Math.abs(rv[i]! - want.y[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(want.y[i]!)));
      } finally {
        await tf.setBackend("cpu");
      }
    });
  }

  test("random shapes and options (property): CPU == float64 loop", () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }),
          g: fc.integer({ min: 1, max: 2 }),
          cg: fc.integer({ min: 1, max: 3 }),
          og: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 1, max: 9 }),
          w: fc.integer({ min: 1, max: 9 }),
          kh: fc.integer({ min: 1, max: 3 }),
          kw: fc.integer({ min: 1, max: 3 }),
          s: fc.integer({ min: 1, max: 3 }),
          d: fc.integer({ min: 1, max: 2 }),
          same: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        (r) => {
          const o: Opts = { strides: [r.s, 1], dilation: [1, r.d], groups: r.g, padding: r.same ? "SAME" : "VALID" };
          const xs = [r.n, r.g * r.cg, r.h, r.w];
          const ws = [r.g * r.og, r.cg, r.kh, r.kw];
          if (!r.same && (r.h < r.kh || r.w < (r.kw - 1) * r.d + 1)) return;
          const x = rnd(xs, r.seed);
          const w = rnd(ws, r.seed + 1);
          const want = naive(x.dataSync() as Float32Array, xs, w.dataSync() as Float32Array, ws, o);
          expectClose(tf.conv(x, w, o), want.y, want.shape, 1e-5);
        },
      ),
      { numRuns: 40 },
    );
  });

  test("float16 operands give a float16 result close to the float32 one", () => {
    const x = rnd([1, 2, 5, 5], 3);
    const w = rnd([2, 2, 3, 3], 4);
    const y = tf.conv(tf.astype(x, "float16"), tf.astype(w, "float16"), { padding: "SAME" });
    expect(y.dtype).toBe("float16");
    const want = naive(
      tf.astype(tf.astype(x, "float16"), "float32").dataSync() as Float32Array,
      [1, 2, 5, 5],
      tf.astype(tf.astype(w, "float16"), "float32").dataSync() as Float32Array,
      [2, 2, 3, 3],
      { padding: "SAME" },
    );
    expectClose(tf.astype(y, "float32"), want.y, want.shape, 5e-3);
  });

  test("a forward conv of the table-gemm size reads the input in place (no patches kernel)", () => {
    // (5x5: a 3x3 conv of this size takes the Winograd kernel, tests/cpu/winograd.test.ts)
    const f = tf.jit((a: Tensor, b: Tensor) => tf.conv(a, b, { padding: "SAME" }));
    const x = rnd([8, 16, 16, 16], 5);
    const w = rnd([32, 16, 5, 5], 6);
    const before = gatherStats.implicit;
    const y = f(x, w);
    y.dataSync();
    expect(gatherStats.implicit).toBeGreaterThan(before);
    const want = naive(x.dataSync() as Float32Array, [8, 16, 16, 16], w.dataSync() as Float32Array, [32, 16, 5, 5], { padding: "SAME" });
    expectClose(y, want.y, want.shape, 1e-5);
  });

  test("padding reads zeros: an infinite weight over the padding gives NaN on every backend (as XLA)", async () => {
    // JAX 0.10: conv(ones(1,1,3,3), w = 0 except w[0,0,0,1] = inf, SAME) has NaN on the top row
    // (0 · inf from the padding) and inf below; an infinite input gives inf over its windows.
    const w = tf.tensor([0, Infinity, 0, 0, 0, 0, 0, 0, 0], { shape: [1, 1, 3, 3] });
    const x2 = tf.tensor([Infinity, 1, 1, 1, 1, 1, 1, 1, 1], { shape: [1, 1, 3, 3] });
    const ones = tf.tensor(new Array<number>(9).fill(1), { shape: [1, 1, 3, 3] }); // (buffers, not constants: no folding)
    const halves = tf.tensor(new Array<number>(9).fill(0.5), { shape: [1, 1, 3, 3] });
    try {
      for (const backend of ["reference", "cpu"]) {
        await tf.setBackend(backend);
        expect(Array.from(tf.conv(ones, w, { padding: "SAME" }).dataSync()), backend).toEqual([
          NaN,
          NaN,
          NaN,
          Infinity,
          Infinity,
          Infinity,
          Infinity,
          Infinity,
          Infinity,
        ]);
        expect(Array.from(tf.conv(x2, halves, { padding: "SAME" }).dataSync()), backend).toEqual([Infinity, Infinity, 2, Infinity, Infinity, 3, 2, 3, 2]);
      }
    } finally {
      await tf.setBackend("cpu");
    }
  });

  test("bad input names conv and the argument", () => {
    expect(() => tf.conv(tf.ones([1, 2, 4, 4]), tf.ones([3, 3, 3, 3]))).toThrow(/conv: channel mismatch/);
    expect(() => tf.conv(tf.ones([1, 2, 4, 4]), tf.ones([3, 2, 3, 3]), { strides: 0 })).toThrow(/conv: strides/);
    expect(() => tf.conv(tf.ones([1, 4, 4, 4]), tf.ones([3, 2, 3, 3]), { groups: 2 })).toThrow(/conv: groups=2/);
    expect(() => tf.conv(tf.ones([1, 2, 2, 2]), tf.ones([3, 2, 3, 3]))).toThrow(/conv: kernel/);
    expect(() => tf.conv(tf.ones([1, 2, 2, 2], { dtype: "int32" }), tf.ones([3, 2, 1, 1], { dtype: "int32" }))).toThrow(tf.DTypeError);
  });

  test("the primitive is in the graph (one conv node per call)", () => {
    const g = tf.makeGraph((a: Tensor, b: Tensor) => tf.conv(a, b, { padding: "SAME" }))(tf.ones([1, 1, 4, 4]), tf.ones([1, 1, 3, 3]));
    expect(g.nodes().filter((n) => n.prim === "conv").length).toBe(1);
  });
});

describe("conv derivatives", () => {
  const grads: { name: string; xs: number[]; ws: number[]; o: Opts }[] = [
    { name: "3x3 SAME", xs: [2, 2, 5, 4], ws: [3, 2, 3, 3], o: { padding: "SAME" } },
    {
      name: "stride 2, dilation 2, explicit padding",
      xs: [1, 2, 8, 7],
      ws: [2, 2, 2, 3],
      o: {
        strides: [2, 2],
        dilation: [2, 1],
        padding: [
          [1, 2],
          [3, 0],
        ],
      },
    },
    { name: "groups 2, 1-D, stride 3", xs: [2, 4, 10], ws: [4, 2, 3], o: { strides: [3], groups: 2, padding: "SAME" } },
    { name: "5x5, batch 1", xs: [1, 1, 6, 6], ws: [2, 1, 5, 5], o: { padding: "SAME" } },
  ];
  for (const c of grads) {
    test(`${c.name}: first and second order, both modes, against finite differences`, () => {
      const f = (a: Tensor, b: Tensor): Tensor => tf.conv(a, b, c.o);
      checkGrads(f, [rnd(c.xs, 7), rnd(c.ws, 8)], { order: 2, atol: 2e-2, rtol: 2e-2 });
    });
  }

  test("grad of a loss at the benchmark's layout matches a float64 finite difference", () => {
    const x = rnd([2, 3, 6, 6], 9);
    const w = rnd([4, 3, 3, 3], 10);
    const loss = (a: Tensor, b: Tensor): Tensor => tf.sum(tf.square(tf.conv(a, b, { padding: "SAME" })));
    const [gx, gw] = tf.jit(tf.grad(loss, { argnums: [0, 1] }))(x, w) as Tensor[];
    const xd = Float64Array.from(x.dataSync());
    const wd = Float64Array.from(w.dataSync());
    const L = (a: Float64Array, b: Float64Array): number => naive(a, [2, 3, 6, 6], b, [4, 3, 3, 3], { padding: "SAME" }).y.reduce((s, v) => s + v * v, 0);
    const fd = (arr: Float64Array, i: number, other: (a: Float64Array) => number): number => {
      const e = 1e-6;
      const p = Float64Array.from(arr);
      p[i]! += e;
      const m = Float64Array.from(arr);
      m[i]! -= e;
      return (other(p) - other(m)) / (2 * e);
    };
    for (const i of [0, 13, 50, 107, 215])
      expect(gx!.dataSync()[i]!).toBeCloseTo(
        fd(xd, i, (a) => L(a, wd)),
        3,
      );
    for (const i of [0, 7, 40, 107])
      expect(gw!.dataSync()[i]!).toBeCloseTo(
        fd(wd, i, (b) => L(xd, b)),
        3,
      );
  });

  test("jvp equals the directional derivative (bilinear: conv(dx, w) + conv(x, dw))", () => {
    const o: Opts = { strides: [2, 1], padding: "SAME", groups: 2 };
    const [x, w, dx, dw] = [rnd([2, 4, 5, 6], 11), rnd([2, 2, 3, 3], 12), rnd([2, 4, 5, 6], 13), rnd([2, 2, 3, 3], 14)];
    const [, t] = tf.jvp((a: Tensor, b: Tensor) => tf.conv(a, b, o), [x, w], [dx, dw]);
    const want = tf.add(tf.conv(dx, w, o), tf.conv(x, dw, o));
    expectClose(t as Tensor, want.dataSync(), want.shape, 1e-5);
  });

  test("the general form (input dilation, cropping padding) has correct gradients", () => {
    const f = (a: Tensor, b: Tensor): Tensor =>
      bind(
        "conv",
        {
          strides: [2, 1],
          padding: [
            [2, -1],
            [-1, 1],
          ],
          lhsDilation: [2, 3],
          rhsDilation: [1, 2],
          groups: 1,
        },
        [a, b],
      );
    checkGrads(f, [rnd([1, 2, 4, 3], 15), rnd([2, 2, 2, 2], 16)], { order: 2, atol: 2e-2, rtol: 2e-2 });
  });
});

describe("conv under vmap", () => {
  const o: Opts = { strides: [1, 2], padding: "SAME", groups: 2 };
  const f = (a: Tensor, b: Tensor): Tensor => tf.conv(a, b, o);
  const xs = [0, 1, 2].map((i) => rnd([2, 4, 5, 6], 20 + i));
  const ws = [0, 1, 2].map((i) => rnd([4, 2, 3, 3], 30 + i));
  const check = (got: Tensor, loop: Tensor[]): void => {
    const want = tf.stack(loop);
    expectClose(got, want.dataSync(), want.shape, 1e-5);
  };
  test("batched input == loop", () =>
    check(
      tf.vmap(f, { inAxes: [0, null] })(tf.stack(xs), ws[0]!),
      xs.map((x) => f(x, ws[0]!)),
    ));
  test("batched weights == loop", () =>
    check(
      tf.vmap(f, { inAxes: [null, 0] })(xs[0]!, tf.stack(ws)),
      ws.map((w) => f(xs[0]!, w)),
    ));
  test("both batched == loop (and under jit)", () => {
    const loop = xs.map((x, i) => f(x, ws[i]!));
    check(tf.vmap(f)(tf.stack(xs), tf.stack(ws)), loop);
    check(tf.jit(tf.vmap(f))(tf.stack(xs), tf.stack(ws)), loop);
  });
  test("per-example gradients (vmap of grad) == loop", () => {
    const loss = (w: Tensor, x: Tensor): Tensor => tf.sum(tf.square(f(x, w)));
    const per = tf.vmap(tf.grad(loss), { inAxes: [null, 0] })(ws[0]!, tf.stack(xs.map((x) => tf.slice(x, [0, 0, 0, 0], [1, 4, 5, 6]))));
    const loop = xs.map((x) => tf.grad(loss)(ws[0]!, tf.slice(x, [0, 0, 0, 0], [1, 4, 5, 6])));
    check(per, loop);
  });
});
