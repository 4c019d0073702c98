// The Wasm SIMD exp (simd-lanes.ts: Cody–Waite reduction, degree-6 polynomial, |x| ≤ 87 fast
// path, scaled path for overflow and denormal results) stays within the bound documented in
// docs/semantics.md (boundOf("exp", "wasm")) against the one definition (scalarFn), on a dense
// grid over the whole finite range [−104, 89], a fine grid near 0, every float32 around the
// fast-path edges ±87, random bit patterns and specials. The worst error is printed.
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { boundOf, scalarFn } from "../../src/core/semantics.js";
import { simdMemory, simdPlan } from "../../src/backends/cpu/simd.js";
import type { ElementwiseKernel } from "../../src/scheduler/ir.js";

const ulp32 = (w: number): number => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(w) || 2 ** -149)), -126) - 23);

function points(): Float32Array {
  const n = 1 << 20;
  const xs = new Float32Array(n);
  const q = n / 4;
  for (let i = 0; i < q; i++) xs[i] = -104 + (193 * i) / q; // [−104, 89)
  for (let i = q; i < 2 * q; i++) xs[i] = -2 + (4 * (i - q)) / q; // [−2, 2)
  // Every float32 from 2^14 ulps below to 2^14 above ±87 (the fast path's edge), and around 88.72 (overflow).
  const edge = new Float32Array(1);
  const eb = new Int32Array(edge.buffer);
  let k = 2 * q;
  for (const e of [87, -87, 88.72]) {
    edge[0] = e;
    const b0 = eb[0]!;
    for (let d = -(1 << 14); d < 1 << 14; d++, k++) {
      eb[0] = b0 + d;
      xs[k] = edge[0]!;
    }
  }
  const bits = new Uint32Array(xs.buffer);
  let s = 777;
  for (; k < n; k++) bits[k] = s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  xs.set([0, -0, Infinity, -Infinity, NaN, 1, -1, 1e-45, -1e-45, 88.72283, 88.72284, -87.33654, -103.27893, -103.972, -104, 3.4e38, -3.4e38], 0);
  return xs;
}

describe.skipIf(!simdMemory())("SIMD exp within its documented bound", () => {
  it("dense over [−104, 89], the fast-path edges and specials", () => {
    tf.setBackend("cpu");
    const xs = points();
    const x = tf.tensor(xs);
    const f = (t: tf.Tensor): tf.Tensor => tf.exp(t);
    const ks = tf.jit(f).lower(x).program.kernels as readonly ElementwiseKernel[];
    expect(ks.some((k) => k.ops.includes("exp") && simdPlan(k) !== undefined)).toBe(true);
    const got = tf.jit(f)(x).dataSync();
    const def = scalarFn("exp", "float32", "float32", {});
    const bound = boundOf("exp", "wasm");
    let worst = 0;
    const bad: string[] = [];
    for (let i = 0; i < xs.length; i++) {
      const [w, g] = [def(xs[i]!, 0, 0, 0), got[i]!];
      if (Object.is(w, g) || (Number.isNaN(w) && Number.isNaN(g))) continue;
      const e = Number.isFinite(w) && Number.isFinite(g) ? Math.abs(g - w) / ulp32(w) : Infinity;
      worst = Math.max(worst, e);
      if (e > bound.ulp && bad.length < 5) bad.push(`exp(${xs[i]}) = ${g}, want ${w}`);
    }
    console.log(`exp: worst ${worst} ulp (bound ${bound.ulp})`);
    expect(bad).toEqual([]);
    expect(bound.ulp).toBe(2);
  });
});

describe.skipIf(!simdMemory())("SIMD exp in unrolled steps (one range test per step of 4 vectors)", () => {
  it("a step with one far lane takes the scaled path for all its vectors; rows and sums stay within the bound", () => {
    tf.setBackend("cpu");
    const [R, C] = [64, 256];
    const xs = Float32Array.from({ length: R * C }, (_, i) => Math.sin(i * 12.9898) * 3);
    // One far value in most rows, at a column that moves through every position of a step.
    const far = [-95.5, 88.5, -103.5, 87.01, -87.01, NaN, -Infinity, Infinity];
    for (let r = 0; r < R; r++) if (r % 4 !== 3) xs[r * C + ((r * 37) % C)] = far[r % far.length]!;
    const x = tf.tensor(xs, { shape: [R, C] });
    const def = scalarFn("exp", "float32", "float32", {});
    const bound = boundOf("exp", "wasm");
    const e = (t: tf.Tensor): tf.Tensor => tf.exp(t);
    const s = (t: tf.Tensor): tf.Tensor => tf.sum(tf.exp(t), { axis: -1 });
    for (const f of [e, s]) {
      const ks = tf.jit(f).lower(x).program.kernels as readonly ElementwiseKernel[];
      expect(ks.every((k) => simdPlan(k) !== undefined)).toBe(true);
    }
    const got = tf.jit(e)(x).dataSync();
    const bad: string[] = [];
    for (let i = 0; i < xs.length; i++) {
      const [w, g] = [def(xs[i]!, 0, 0, 0), got[i]!];
      if (Object.is(w, g) || (Number.isNaN(w) && Number.isNaN(g))) continue;
      const err = Number.isFinite(w) && Number.isFinite(g) ? Math.abs(g - w) / ulp32(w) : Infinity;
      if (err > bound.ulp && bad.length < 5) bad.push(`exp(${xs[i]}) = ${g}, want ${w}`);
    }
    expect(bad).toEqual([]);
    const sums = tf.jit(s)(x).dataSync();
    for (let r = 0; r < R; r++) {
      let want = 0;
      let mag = 0;
      for (let c = 0; c < C; c++) {
        const v = def(xs[r * C + c]!, 0, 0, 0);
        want += v;
        mag += Math.abs(v);
      }
      const g = sums[r]!;
      if (Number.isNaN(want)) expect(g).toBeNaN();
      else if (!Number.isFinite(want)) expect(g).toBe(want);
      else expect(Math.abs(g - want)).toBeLessThanOrEqual(mag * bound.ulp * 2 ** -23 + ulp32(want));
    }
  });
});
