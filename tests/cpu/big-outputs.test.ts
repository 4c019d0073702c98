// Program outputs of at least 1 MiB skip the zero fill (`allocFilled`: Node's Buffer.allocUnsafe):
// every kernel kind must write all of its output. Big outputs of each kind agree with the
// reference backend (garbage left in an unwritten element would not).
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { allocFilled } from "../../src/core/dtype.js";
import { close } from "../scheduler/gen.js";

const N = 300_000; // 1.2 MB of float32

async function on(backend: string, f: (x: Tensor) => Tensor, x: Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  return Float32Array.from(tf.jit(f)(x).dataSync());
}

describe("cpu big outputs", () => {
  afterAll(async () => tf.setBackend("cpu"));
  const x = tf.tensor(Float32Array.from({ length: N }, (_, i) => Math.sin(i * 0.37) * 3));

  it("allocFilled gives arrays of the requested type and length", () => {
    for (const [d, C] of [
      ["float32", Float32Array],
      ["int32", Int32Array],
      ["bool", Uint8Array],
    ] as const) {
      for (const n of [10, N, 2 * N]) {
        const a = allocFilled(d, n);
        expect(a).toBeInstanceOf(C);
        expect(a.length).toBe(n);
        expect(a.byteOffset).toBe(0);
      }
    }
  });

  it.each([
    ["JS elementwise (where)", (a: Tensor) => tf.where(tf.greater(a, 0), a, tf.negative(a))],
    ["int32 elementwise (cast)", (a: Tensor) => tf.astype(tf.floor(a), "int32")],
    ["SIMD elementwise", (a: Tensor) => tf.tanh(tf.multiply(a, 2))],
    ["opaque (cumsum)", (a: Tensor) => tf.cumsum(a)],
    ["reduce over the leading axis", (a: Tensor) => tf.sum(tf.stack([a, tf.multiply(a, 2), a]), { axis: 0 })],
    ["matmul product", (a: Tensor) => tf.matmul(tf.reshape(a, [600, 500]), tf.reshape(tf.slice(a, [0], [250_000]), [500, 500]))],
  ] as const)("%s", async (_name, f) => {
    const want = await on("reference", f, x);
    const got = await on("cpu", f, x);
    expect(got.length).toBe(want.length);
    expect(close(got, want, 1e-4)).toBe(true);
  });
});
