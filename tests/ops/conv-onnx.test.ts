// ONNX export of the conv primitive: one `Conv` node (strides, pads, dilations, group), run in
// onnxruntime-node against tenfold's values; the gradient-only general form is refused by name.
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { bind } from "../../src/ops/base.js";
import { exportOnnx, OnnxExportError } from "../../src/onnx/index.js";

interface OrtTensor {
  readonly data: ArrayLike<number>;
  readonly dims: readonly number[];
}
interface Ort {
  Tensor: new (type: string, data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: {
    create(bytes: Uint8Array): Promise<{ outputNames: readonly string[]; run(f: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> }>;
  };
}
const ORT_MODULE = "onnxruntime-node";
const ortModule = (await import(ORT_MODULE).then(
  (m: { default?: Ort } & Ort) => (m.InferenceSession ? m : m.default!),
  () => null,
)) as Ort | null;
if (!ortModule && process.env.ONNX_REQUIRED === "1") throw new Error("ONNX_REQUIRED=1 but onnxruntime-node is not installed");
const suite = ortModule ? describe : describe.skip;

suite("exportOnnx: conv as one Conv node", () => {
  const cases: [string, number[], number[], Parameters<typeof tf.conv>[2]][] = [
    ["SAME 3x3", [2, 3, 7, 6], [4, 3, 3, 3], { padding: "SAME" }],
    [
      "strides, dilation, explicit padding, groups",
      [1, 4, 9, 8],
      [6, 2, 3, 2],
      {
        strides: [2, 1],
        dilation: [1, 2],
        padding: [
          [1, 2],
          [0, 1],
        ],
        groups: 2,
      },
    ],
    ["1-D", [2, 2, 11], [3, 2, 4], { strides: 3 }],
  ];
  for (const [name, xs, ws, o] of cases) {
    it(name, async () => {
      const x = tf.random.normal(tf.random.key(1), xs);
      const w = tf.random.normal(tf.random.key(2), ws);
      const f = (a: Tensor, b: Tensor): Tensor => tf.conv(a, b, o);
      const bytes = await exportOnnx(f, [x, w]);
      const text = Buffer.from(bytes);
      expect(text.includes("Conv")).toBe(true);
      expect(text.includes("MatMul")).toBe(false);
      const s = await ortModule!.InferenceSession.create(bytes);
      const out = await s.run({
        input_0: new ortModule!.Tensor("float32", x.dataSync() as Float32Array, xs),
        input_1: new ortModule!.Tensor("float32", w.dataSync() as Float32Array, ws),
      });
      const got = out[s.outputNames[0]!]!;
      const want = f(x, w);
      expect(Array.from(got.dims)).toEqual(want.shape);
      const wv = want.dataSync();
      Array.from(got.data).forEach((v, i) => expect(Math.abs(v - wv[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(wv[i]!))));
    });
  }

  it("the general form built by gradients (input dilation) is refused, naming conv", async () => {
    const f = (a: Tensor, b: Tensor): Tensor => bind("conv", { strides: [1], padding: [[1, 1]], lhsDilation: [2], rhsDilation: [1], groups: 1 }, [a, b]);
    await expect(exportOnnx(f, [tf.ones([1, 1, 4]), tf.ones([1, 1, 2])])).rejects.toThrow(OnnxExportError);
    await expect(exportOnnx(f, [tf.ones([1, 1, 4]), tf.ones([1, 1, 2])])).rejects.toThrow(/primitive "conv" with input dilation/);
  });
});
