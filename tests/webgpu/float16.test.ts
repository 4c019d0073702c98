// float16 on the WebGPU backend: where the adapter has `shader-f16` (lavapipe does), float16
// tensors live in f16 device buffers (converted on upload and readback; arithmetic runs in f32
// inside each kernel), so results agree with the cpu backend (which keeps float16 widened to
// float32) within f16 tolerances: atol = rtol = 5e-3 for elementwise ops and reductions (one f16
// ulp is 9.8e-4 relative; inputs and every stored intermediate are rounded), 1e-2 for matmul.
// Without shader-f16, float16 is computed and stored as float32 (the f32 tolerance applies).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { webgpuBackend } from "../../src/backends/webgpu/index.js";
import { assertClose, probeWebGpu } from "./gpu.js";

const available = await probeWebGpu();
const F16_TOL = 5e-3;
const F16_MATMUL_TOL = 1e-2;

async function on(backend: string, f: () => Tensor[]): Promise<{ data: Float32Array; dtype: string }[]> {
  await tf.setBackend(backend);
  const out = f();
  const res = await Promise.all(out.map(async (t) => ({ data: Float32Array.from(await t.data()), dtype: t.dtype })));
  await tf.setBackend("webgpu");
  return res;
}

describe.skipIf(!available)("float16 on the webgpu backend", () => {
  beforeAll(async () => {
    await tf.setBackend("webgpu");
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  it("uses f16 storage where the adapter has shader-f16", async () => {
    const b = webgpuBackend();
    expect(b.info.f16).toBe(b.info.features.includes("shader-f16"));
    // 1 + 2^-12 is not a half: f16 storage rounds it to 1; f32 storage keeps it.
    const x = tf.tensor([1 + 2 ** -12, 65504, 1e-8, -2.5, 0.1, 3, 7], { dtype: "float16" });
    const y = tf.multiply(x, 1);
    const got = await y.data();
    expect(y.dtype).toBe("float16");
    if (b.info.f16) {
      expect(Array.from(got)).toEqual([1, 65504, 0, -2.5, 0.0999755859375, 3, 7]);
    } else {
      expect(got[0]).toBe(Math.fround(1 + 2 ** -12));
    }
  });

  it("agrees with the cpu backend on elementwise ops, reductions, casts and matmul", async () => {
    const build = (): Tensor[] => {
      const k = tf.random.key(11);
      const [k1, k2] = tf.random.split(k);
      const a = tf.astype(tf.random.normal(k1!, [5, 33]), "float16");
      const w = tf.astype(tf.random.normal(k2!, [33, 7]), "float16");
      const e = tf.add(tf.multiply(tf.tanh(a), 2), tf.exp(tf.multiply(a, 0.5)));
      const s = tf.sum(tf.square(a), { axis: 1 });
      const m = tf.max(a, { axis: 0 });
      const sm = tf.nn.softmax(a, { axis: -1 });
      const c = tf.astype(tf.multiply(a, 10), "int32");
      const f32 = tf.astype(a, "float32");
      const mm = tf.maximum(tf.matmul(a, w), 0);
      // Large enough for the tiled (workgroup-memory) matmul kernel.
      const big = tf.astype(tf.random.uniform(k1!, [70, 64]), "float16");
      const tiled = tf.matmul(big, tf.matrixTranspose(big));
      return [e, s, m, sm, c, f32, mm, tiled];
    };
    const [g, c] = [await on("webgpu", build), await on("cpu", build)];
    const names = ["elementwise", "sum", "max", "softmax", "cast int32", "cast float32", "matmul", "tiled matmul"];
    g.forEach((x, i) => {
      expect(x.dtype, names[i]).toBe(c[i]!.dtype);
      if (names[i] === "cast int32") {
        // Truncation of values rounded to f16 may land one integer lower or higher.
        const off = x.data.reduce((n, v, j) => n + (Math.abs(v - c[i]!.data[j]!) > 1 ? 1 : 0), 0);
        expect(off, names[i]).toBe(0);
      } else {
        const tol = names[i]!.endsWith("matmul") ? F16_MATMUL_TOL : F16_TOL;
        assertClose(x.data, c[i]!.data, `float16 ${names[i]}`, tol, tol);
      }
    });
  });

  it("handles odd lengths, jit and gradients in float16", async () => {
    const f = tf.jit((x: Tensor) => tf.grad((v: Tensor) => tf.sum(tf.sin(v)))(x));
    const build = (): Tensor[] => {
      const x = tf.astype(tf.linspace(-2, 2, 7), "float16");
      return [f(x), tf.cumsum(x), tf.flip(x, { axis: 0 })];
    };
    const [g, c] = [await on("webgpu", build), await on("cpu", build)];
    g.forEach((x, i) => assertClose(x.data, c[i]!.data, `float16 output ${i}`, F16_TOL, F16_TOL));
  });
});
