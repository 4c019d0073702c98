// nn.softmax is e · (1 / sum(e)) with e = exp(x − max) (PyTorch CPU's formula): on the reference
// and CPU backends each element equals fround(e · fround(1 / s)) for the backend's own e and s,
// and lies within 1 ulp of the correctly rounded e / s (JAX's formula); float16 keeps the division.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { nn } from "../../src/index.js";

const ulp32 = (w: number): number => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(w) || 2 ** -149)), -126) - 23);

describe("nn.softmax", () => {
  afterAll(() => tf.setBackend("cpu"));
  const [R, C] = [64, 300];
  const xs = Float32Array.from({ length: R * C }, (_, i) => Math.sin(i * 12.9898) * 9);
  for (const backend of ["reference", "cpu"] as const) {
    it(`${backend}: the reciprocal of the row sum times each exp, within 1 ulp of the division`, async () => {
      await tf.setBackend(backend);
      const x = tf.tensor(xs, { shape: [R, C] });
      const y = tf
        .jit((t: tf.Tensor) => nn.softmax(t))(x)
        .dataSync();
      const e = tf.exp(tf.subtract(x, tf.max(x, { axis: -1, keepdims: true }))).dataSync();
      const s = tf.sum(tf.tensor(e, { shape: [R, C] }), { axis: -1 }).dataSync();
      let worst = 0;
      for (let r = 0; r < R; r++) {
        const inv = Math.fround(1 / s[r]!);
        for (let c = 0; c < C; c++) {
          const i = r * C + c;
          expect(y[i]).toBe(Math.fround(e[i]! * inv));
          const exact = Math.fround(e[i]! / s[r]!);
          worst = Math.max(worst, Math.abs(y[i]! - exact) / ulp32(exact));
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
    });
  }
  it("float16 divides", async () => {
    await tf.setBackend("cpu");
    const x = tf.tensor(xs.subarray(0, 4 * C), { shape: [4, C], dtype: "float16" });
    const ops = tf
      .jit((t: tf.Tensor) => nn.softmax(t))
      .lower(x)
      .kernels.flatMap((k) => k.ops);
    expect(ops).toContain("div");
    expect(ops).not.toContain("mul");
  });
});
