// The Wasm SIMD forms of log, log1p, expm1, erf and tanh (simd-lanes.ts) stay within the ulp bounds
// documented in docs/semantics.md (boundOf(p, "wasm")) against the one definition (scalarFn), on
// 2^18 float32 points: random bit patterns, a dense grid over [-3, 3], ±2^[-30, 10], and specials.
// The worst error measured is printed (docs/semantics.md quotes it).
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { boundOf, scalarFn } from "../../src/core/semantics.js";
import { simdMemory, simdPlan } from "../../src/backends/cpu/simd.js";
import type { ElementwiseKernel } from "../../src/scheduler/ir.js";

const ulp32 = (w: number): number => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(w) || 2 ** -149)), -126) - 23);

function points(n: number): Float32Array {
  const xs = new Float32Array(n);
  const bits = new Uint32Array(xs.buffer);
  let s = 12345;
  for (let i = 0; i < n; i++) bits[i] = s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  const q = n / 4;
  for (let i = 0; i < q; i++) xs[i] = -3 + (6 * i) / q;
  for (let i = q; i < 2 * q; i++) xs[i] = (i % 2 ? -1 : 1) * 2 ** (-30 + (40 * (i - q)) / q);
  xs.set(
    [
      0,
      -0,
      Infinity,
      -Infinity,
      NaN,
      -1,
      1,
      1e-45,
      1e-40,
      3.4e38,
      -3.4e38,
      88.7,
      88.8,
      -87.4,
      -104,
      -1 + 2 ** -24,
      2 ** -24,
      -(2 ** -25),
      0.875,
      2,
      3.95,
      -3.95,
      1.4142135,
    ],
    0,
  );
  return xs;
}

const ops: Record<"log" | "log1p" | "expm1" | "erf" | "tanh", (x: Tensor) => Tensor> = {
  log: (x) => tf.log(x),
  log1p: (x) => tf.log1p(x),
  expm1: (x) => tf.expm1(x),
  erf: (x) => tf.erf(x),
  tanh: (x) => tf.tanh(x),
};

describe.skipIf(!simdMemory())("SIMD log, log1p, expm1, erf, tanh within their documented bounds", () => {
  const xs = points(1 << 18);
  for (const [p, f] of Object.entries(ops) as [keyof typeof ops, (x: Tensor) => Tensor][]) {
    it(p, () => {
      tf.setBackend("cpu");
      const x = tf.tensor(xs);
      const ks = tf.jit(f).lower(x).program.kernels as readonly ElementwiseKernel[];
      expect(ks.some((k) => k.ops.includes(p) && simdPlan(k) !== undefined)).toBe(true);
      const got = tf.jit(f)(x).dataSync();
      const def = scalarFn(p, "float32", "float32", {});
      const bound = boundOf(p, "wasm");
      let worst = 0;
      const bad: string[] = [];
      for (let i = 0; i < xs.length; i++) {
        const [w, g] = [def(xs[i]!, 0, 0, 0), got[i]!];
        if (Object.is(w, g) || (Number.isNaN(w) && Number.isNaN(g))) continue;
        // The public erf switches to a series below 2^-12 (the primitive there: the differential test).
        if (p === "erf" && Math.abs(xs[i]!) < 2 ** -12) continue;
        const e = Number.isFinite(w) && Number.isFinite(g) ? Math.abs(g - w) / ulp32(w) : Infinity;
        worst = Math.max(worst, e);
        if (e > bound.ulp && !(bound.abs !== undefined && Math.abs(g - w) <= bound.abs) && bad.length < 5) bad.push(`${p}(${xs[i]}) = ${g}, want ${w}`);
      }
      console.log(`${p}: worst ${worst} ulp (bound ${bound.ulp})`);
      expect(bad).toEqual([]);
    });
  }
});
