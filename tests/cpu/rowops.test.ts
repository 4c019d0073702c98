// Row-wise softmax, logSoftmax, logsumexp and layerNorm on the CPU backend: each is one Wasm SIMD
// row pass (max, exp-sum with its log/mean/rsqrt epilogue fused into the reduction, normalize),
// threaded over rows when big. Checked against the reference backend within the documented
// bounds (exp 2 ulp, log 2 ulp: a few ulp of the result), on rows with special values (all -Inf,
// NaN, +Inf, huge, tiny), row lengths crossing the 4-lane tail, eager and jit, float32 (SIMD)
// and float16 (there is no float64; float16 computes in float32 and runs the JS kernels), and
// their gradients.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { nn } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { simdHelpers, simdMemory, simdPlan, simdThreads } from "../../src/backends/cpu/simd.js";
import type { ElementwiseKernel, ReduceKernel } from "../../src/scheduler/ir.js";

const ulp32 = (w: number): number => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(w) || 2 ** -149)), -126) - 23);

/**
 * Mismatches of `got` against `want`: NaN where NaN, infinities equal, else within `ulps` ulp of
 * the larger of |want| and `scale` (log-domain results near 0 carry the error of their terms).
 */
function mismatches(got: ArrayLike<number>, want: ArrayLike<number>, ulps: number, scale: ArrayLike<number> | number): string[] {
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    const s = typeof scale === "number" ? scale : scale[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= ulps * ulp32(Math.max(Math.abs(w), s));
    if (!ok && bad.length < 5) bad.push(`[${i}] got ${g} want ${w}`);
  }
  return bad;
}

/** Rows of `cols` values: varied logits, with special rows at the front. */
function rowsOf(rows: number, cols: number, dtype: "float32" | "float16" = "float32"): Tensor {
  const x = new Float64Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898 + 1.3) * 8 + Math.cos(i * 0.37) * 3;
  const row = (r: number, vals: (c: number) => number): void => {
    if (r < rows) for (let c = 0; c < cols; c++) x[r * cols + c] = vals(c);
  };
  row(0, () => -Infinity); // all -Inf: softmax NaN, logsumexp -Inf
  row(1, (c) => (c === cols >> 1 ? NaN : x[cols + c]!)); // one NaN
  row(2, (c) => (c === 0 ? Infinity : x[2 * cols + c]!)); // +Inf
  row(3, (c) => (c % 2 ? 3e38 : -3e38)); // huge
  row(4, (c) => (c % 3 ? 1e-40 : -1e-42)); // tiny (denormal)
  row(5, (c) => (c === cols - 1 ? 80 : -80)); // one dominant entry in the tail
  row(6, (c) => (c % 2 ? -Infinity : x[6 * cols + c]!)); // some -Inf
  row(7, () => 1e30);
  return tf.tensor(Float32Array.from(x), { shape: [rows, cols], dtype });
}

type Case = readonly [name: string, f: (x: Tensor) => Tensor, ulps: number, logDomain: boolean];
const lnParams = (cols: number): { scale: Tensor; bias: Tensor } => ({
  scale: tf.tensor(Float32Array.from({ length: cols }, (_, i) => 1 + 0.25 * Math.sin(i))),
  bias: tf.tensor(Float32Array.from({ length: cols }, (_, i) => 0.1 * Math.cos(i))),
});
const layerNorm = (x: Tensor): Tensor => {
  const cols = x.shape[x.shape.length - 1]!;
  const p = lnParams(cols);
  return nn.layerNorm(cols).apply(p as never, x) as unknown as Tensor;
};
const cases: readonly Case[] = [
  ["softmax", (x) => nn.softmax(x), 8, false],
  ["logSoftmax", (x) => nn.logSoftmax(x), 8, true],
  ["logsumexp", (x) => tf.logsumexp(x, { axis: -1 }), 8, true],
  ["logsumexp keepdims", (x) => tf.logsumexp(x, { axis: -1, keepdims: true }), 8, true],
  [
    "softmax as users write it",
    (x) => {
      const e = tf.exp(tf.subtract(x, tf.max(x, { axis: -1, keepdims: true })));
      return tf.divide(e, tf.sum(e, { axis: -1, keepdims: true }));
    },
    8,
    false,
  ],
  ["layerNorm", layerNorm, 8, true],
];

/** The scale of a log-domain result: its row's largest finite |x| (and 1). */
function logScale(x: Tensor, outLen: number): Float64Array {
  const [rows, cols] = x.shape as [number, number];
  const d = x.dataSync();
  const out = new Float64Array(outLen);
  for (let r = 0; r < rows; r++) {
    let m = 1;
    for (let c = 0; c < cols; c++) if (Number.isFinite(d[r * cols + c]!)) m = Math.max(m, Math.abs(d[r * cols + c]!));
    const per = outLen / rows;
    out.fill(m, r * per, (r + 1) * per);
  }
  return out;
}

function check(name: string, f: (x: Tensor) => Tensor, ulps: number, logDomain: boolean, x: Tensor, mode: "jit" | "eager"): void {
  const run = (backend: string): Float64Array | Float32Array => {
    tf.setBackend(backend);
    const xb = tf.tensor(x.dataSync().slice() as Float32Array, { shape: x.shape, dtype: x.dtype });
    return (mode === "jit" ? tf.jit(f)(xb) : f(xb)).dataSync() as Float32Array;
  };
  const want = run("reference");
  const got = run("cpu");
  expect(got.length).toBe(want.length);
  const bad = mismatches(got, want, ulps, logDomain ? logScale(x, want.length) : 0);
  expect(bad, `${name} ${mode} ${x.dtype}[${x.shape}]`).toEqual([]);
}

describe("fused row ops on the CPU backend", () => {
  afterAll(() => tf.setBackend("cpu"));

  it("each is three kernels, the reductions carrying their row epilogue, all in Wasm SIMD", () => {
    tf.setBackend("cpu");
    const x = tf.ones([64, 1024]);
    const kernelsOf = (f: (x: Tensor) => Tensor): readonly (ElementwiseKernel | ReduceKernel)[] =>
      tf.jit(f).lower(x).program.kernels as readonly (ElementwiseKernel | ReduceKernel)[];
    const ls = kernelsOf((t) => nn.logSoftmax(t));
    expect(ls.map((k) => k.kind)).toEqual(["reduce", "reduce", "elementwise"]);
    expect((ls[1] as ReduceKernel).epilogue.some((i) => i.op === "unary" && i.fn === "log")).toBe(true);
    const lnk = kernelsOf(layerNorm);
    expect(lnk.map((k) => k.kind)).toEqual(["reduce", "reduce", "elementwise"]);
    expect((lnk[1] as ReduceKernel).epilogue.some((i) => i.op === "unary" && i.fn === "sqrt")).toBe(true);
    expect(kernelsOf((t) => nn.softmax(t))).toHaveLength(3);
    expect(kernelsOf((t) => tf.logsumexp(t, { axis: -1 })).length).toBeLessThanOrEqual(3);
    if (simdMemory()) {
      for (const f of [(t: Tensor) => nn.softmax(t), (t: Tensor) => nn.logSoftmax(t), layerNorm]) {
        for (const k of kernelsOf(f)) expect(simdPlan(k), k.ops.join(" ")).toBeDefined();
      }
      // logsumexp's per-row finite max ([rows, 1]) is viewed as rows too: one row group
      const lse = tf.jit((t: Tensor) => tf.logsumexp(t, { axis: -1 })).lower(tf.ones([4096, 8])).program.kernels as readonly ReduceKernel[];
      for (const k of lse) expect(simdPlan(k)?.rows, k.ops.join(" ")).toBe(4096);
      // row lengths off the 4-lane width run in SIMD too
      for (const k of tf.jit((t: Tensor) => nn.logSoftmax(t)).lower(tf.ones([8, 1025])).program.kernels as readonly ReduceKernel[]) {
        expect(simdPlan(k), k.ops.join(" ")).toBeDefined();
      }
    }
  });

  for (const cols of [1, 3, 4, 5, 1023, 1025]) {
    it(`rows of ${cols} (special rows, eager and jit, float32 and float16)`, () => {
      const rows = cols < 8 ? 5000 : 40; // at least 4096 elements: the SIMD kernels
      for (const dtype of ["float32", "float16"] as const) {
        const x = rowsOf(rows, cols, dtype);
        for (const [name, f, ulps, logDomain] of cases) {
          for (const mode of ["jit", "eager"] as const) {
            if (dtype === "float16" && mode === "eager") continue;
            check(name, f, ulps, logDomain, x, mode);
          }
        }
      }
    });
  }

  it("threaded over rows on the SIMD helper threads when big", async () => {
    const threaded = simdMemory() !== null && simdThreads() > 1;
    const rowsRun = (): number => simdHelpers().reduce((a, b) => a + b, 0);
    // Helpers start on first use; on a loaded machine that can take seconds: wait (bounded).
    if (threaded) for (const end = Date.now() + 10_000; simdHelpers().length === 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
    const before = rowsRun();
    const x = rowsOf(400, 1025); // 410k elements: shared with the helpers
    for (const [name, f, ulps, logDomain] of cases) check(name, f, ulps, logDomain, x, "jit");
    const y = rowsOf(300, 1024);
    for (const [name, f, ulps, logDomain] of cases) check(name, f, ulps, logDomain, y, "eager");
    if (threaded) {
      // A helper descheduled by other load can miss every chunk of a pass, and the share gate then
      // backs off: run the first case again (bounded) until a helper has claimed rows.
      const [name, f, ulps, logDomain] = cases[0]!;
      for (const end = Date.now() + 10_000; rowsRun() <= before && Date.now() < end;) check(name, f, ulps, logDomain, x, "jit");
      expect(rowsRun()).toBeGreaterThan(before);
    }
  });

  it("gradients are unchanged: cpu against the reference", () => {
    const x = rowsOf(40, 37)
      .dataSync()
      .slice(8 * 37); // finite rows only
    const xs = tf.tensor(Float32Array.from(x), { shape: [32, 37] });
    const w = tf.tensor(
      Float32Array.from({ length: 32 * 37 }, (_, i) => Math.cos(i * 0.7)),
      { shape: [32, 37] },
    );
    const losses: readonly ((t: Tensor) => Tensor)[] = [
      (t) => tf.sum(tf.multiply(nn.softmax(t), w)),
      (t) => tf.sum(tf.multiply(nn.logSoftmax(t), w)),
      (t) => tf.sum(tf.multiply(tf.logsumexp(t, { axis: -1 }), tf.sum(w, { axis: -1 }))),
      (t) => tf.sum(tf.multiply(layerNorm(t), w)),
    ];
    for (const loss of losses) {
      const g = (backend: string): Float32Array => {
        tf.setBackend(backend);
        return tf.jit(tf.grad(loss))(xs).dataSync() as Float32Array;
      };
      const want = g("reference");
      const got = g("cpu");
      expect(mismatches(got, want, 64, 1e-3)).toEqual([]);
    }
  });
});
