/**
 * ONNX export round trips: the seed models (MLP, CNN, LSTM, transformer block) and single ops are
 * exported with `exportOnnx`, run in onnxruntime-node, and compared with tenfold's own outputs.
 */
import { describe, expect, it } from "vitest";
import {
  cumsum,
  jit,
  nn,
  random,
  scan,
  tensor,
  add,
  multiply,
  tanh,
  take,
  takeAlongAxis,
  flip,
  pad,
  argmax,
  max,
  sum,
  expm1,
  log1p,
  where,
  less,
  astype,
  customVjp,
  checkpoint,
  matmul,
  cos,
  maximum,
  whileLoop,
  cond,
  switchCase,
  greater,
  sin,
  negative,
  maxPool,
} from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { exportOnnx, OnnxExportError } from "../../src/onnx/index.js";

// onnxruntime-node is a dev-only peer: CI installs it and sets ONNX_REQUIRED=1, so a missing
// runtime fails there; elsewhere these tests skip.
// The slice of onnxruntime-node's API used here (typed locally: the package is optional).
interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: ArrayLike<number | bigint | boolean>;
}
interface Ort {
  Tensor: new (type: string, data: ArrayLike<number> | Uint8Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: {
    create(bytes: Uint8Array): Promise<{ outputNames: readonly string[]; run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> }>;
  };
}
const ORT_MODULE = "onnxruntime-node";
const ortModule = (await import(ORT_MODULE).then(
  (m: { default?: Ort } & Ort) => (m.InferenceSession ? m : m.default!),
  () => null,
)) as Ort | null;
if (!ortModule && process.env.ONNX_REQUIRED === "1") throw new Error("ONNX_REQUIRED=1 but onnxruntime-node is not installed");
const ort = ortModule!;
const suite = ortModule ? describe : describe.skip;

async function runOrt(bytes: Uint8Array, inputs: readonly Tensor[]): Promise<OrtTensor[]> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, OrtTensor> = {};
  for (const [i, x] of inputs.entries()) {
    const data = await x.data();
    feeds[`input_${i}`] = new ort.Tensor(
      x.dtype === "int32" ? "int32" : x.dtype === "bool" ? "bool" : "float32",
      x.dtype === "bool" ? Uint8Array.from(data as Uint8Array) : data,
      x.shape,
    );
  }
  const out = await session.run(feeds);
  return session.outputNames.map((n) => out[n]!);
}

async function roundTrip(f: (...args: never[]) => unknown, args: readonly Tensor[], atol = 1e-5): Promise<number> {
  const bytes = await exportOnnx(f, args);
  const want = (f as unknown as (...a: Tensor[]) => Tensor | Tensor[])(...args);
  const wants = Array.isArray(want) ? want : [want];
  const got = await runOrt(bytes, args);
  expect(got.length).toBe(wants.length);
  let worst = 0;
  for (const [i, w] of wants.entries()) {
    const ref = Array.from(await w.data(), Number);
    expect(Array.from(got[i]!.dims)).toEqual(w.shape);
    const vals = Array.from(got[i]!.data as ArrayLike<number | bigint | boolean>, Number);
    expect(vals.length).toBe(ref.length);
    for (let k = 0; k < ref.length; k++) {
      const d = Math.abs(vals[k]! - ref[k]!);
      worst = Math.max(worst, d);
      if (!(d <= atol + 1e-5 * Math.abs(ref[k]!))) expect.fail(`output ${i}[${k}]: onnxruntime ${vals[k]} vs tenfold ${ref[k]}`);
    }
  }
  return worst;
}

suite("exportOnnx: seed models run in onnxruntime with tenfold's outputs", () => {
  it("MLP (dense-relu-dense), with Relu kept as one ONNX op", async () => {
    const model = nn.sequential(nn.dense(12, 16), nn.relu, nn.dense(16, 5));
    const params = model.init(random.key(0));
    const f = jit((x: Tensor) => nn.softmax(model.apply(params, x)));
    await roundTrip(f, [random.normal(random.key(1), [7, 12])]);
    const bytes = Buffer.from(await exportOnnx(f, [random.normal(random.key(1), [7, 12])]));
    expect(bytes.includes("MatMul")).toBe(true);
    // max(x, 0) is kept as ONNX's Relu
    const relu = Buffer.from(await exportOnnx((x: Tensor) => maximum(x, 0), [tensor([-1, 2])]));
    expect(relu.includes("Relu")).toBe(true);
    await roundTrip((x: Tensor) => maximum(x, 0), [tensor([-1, 2, 0.5])]);
  });

  it("CNN (conv2d, maxPool2d, flatten, dense)", async () => {
    const model = nn.sequential(
      nn.conv2d(1, 4, 3, { padding: "SAME" }),
      nn.relu,
      nn.maxPool2d(2),
      nn.conv2d(4, 6, 3, { stride: 2 }),
      nn.relu,
      nn.flatten(),
      nn.dense(6 * 1 * 1, 3),
    );
    const params = model.init(random.key(2));
    const f = jit((x: Tensor) => model.apply(params, x));
    await roundTrip(f, [random.normal(random.key(3), [2, 1, 6, 6])], 1e-4);
    // one MaxPool node: padded, strided, overlapping windows; leading axes other than [N, C]
    const pool = (x: Tensor): Tensor =>
      maxPool(x, [3, 2], {
        strides: [2, 1],
        padding: [
          [1, 1],
          [0, 1],
        ],
      });
    expect(Buffer.from(await exportOnnx(pool, [random.normal(random.key(4), [2, 3, 5, 4])])).includes("MaxPool")).toBe(true);
    await roundTrip(pool, [random.normal(random.key(4), [2, 3, 5, 4])]);
    await roundTrip(pool, [random.normal(random.key(5), [5, 4])]);
    await roundTrip(pool, [random.normal(random.key(6), [2, 2, 3, 5, 4])]);
  });

  it("LSTM (a scan becomes an ONNX Loop) and GRU with returned sequences", async () => {
    const l = nn.lstm(3, 5);
    const lp = l.init(random.key(4));
    await roundTrip(
      jit((x: Tensor) => l.apply(lp, x)),
      [random.normal(random.key(5), [2, 6, 3])],
      1e-4,
    );
    const g = nn.gru(3, 4, { returnSequences: true });
    const gp = g.init(random.key(6));
    await roundTrip(
      jit((x: Tensor) => g.apply(gp, x)),
      [random.normal(random.key(7), [2, 5, 3])],
      1e-4,
    );
  });

  it("transformer block (attention, layer norm, GELU MLP)", async () => {
    const block = nn.transformerBlock(8, 2, 16);
    const p = block.init(random.key(8));
    await roundTrip(
      jit((x: Tensor) => block.apply(p, x)),
      [random.normal(random.key(9), [2, 4, 8])],
      1e-4,
    );
  });
});

suite("exportOnnx: primitive mappings", () => {
  it("elementwise, casts, comparisons, reductions, argmax, cumsum, flips, pads", async () => {
    const x = random.normal(random.key(10), [3, 4]);
    await roundTrip(
      (a: Tensor) => [
        expm1(a),
        log1p(multiply(a, a)),
        where(less(a, 0), cos(a), tanh(a)),
        astype(astype(multiply(a, 10), "int32"), "float32"),
        max(a, { axis: 1 }),
        sum(a, { axis: 0 }),
        argmax(a, { axis: 1 }),
        cumsum(a, { axis: 1, reverse: true }),
        flip(a, { axis: [0, 1] }),
        pad(
          a,
          [
            [1, 0],
            [0, 2],
          ],
          { value: 3 },
        ),
      ],
      [x],
    );
  });

  it("take (Gather), takeAlongAxis (GatherND with batch dims) with int32 index inputs", async () => {
    const x = random.normal(random.key(11), [4, 5, 3]);
    const idx = tensor(
      [
        [3, 0],
        [1, 1],
      ],
      { dtype: "int32" },
    );
    await roundTrip((a: Tensor, i: Tensor) => take(a, i, { axis: 1 }), [x, idx]);
    const along = tensor([[[0, 1, 2]], [[4, 4, 0]], [[1, 3, 2]], [[2, 2, 2]]], { dtype: "int32" });
    await roundTrip((a: Tensor, i: Tensor) => takeAlongAxis(a, i, { axis: 1 }), [x, along]);
  });

  it("reverse scan with a carry that is also its output; captured weights inside the body", async () => {
    const w = random.normal(random.key(12), [3, 3]);
    const f = (h0: Tensor, xs: Tensor) =>
      scan(
        (h: Tensor, x: Tensor) => {
          const h2 = tanh(add(matmul(h, w), x));
          return [h2, h2] as const;
        },
        h0,
        xs,
        { reverse: true },
      );
    await roundTrip(
      (h0: Tensor, xs: Tensor) => {
        const [c, ys] = f(h0, xs);
        return [c, ys];
      },
      [random.normal(random.key(13), [2, 3]), random.normal(random.key(14), [4, 2, 3])],
    );
  });

  it("customVjp and checkpoint calls export their forward computation", async () => {
    const softclip = customVjp(
      (x: Tensor) => tanh(x),
      (x: Tensor) => [tanh(x), [x]] as const,
      (_res: Tensor[], g: Tensor) => [g],
    );
    const body = checkpoint((x: Tensor) => multiply(softclip(x), 2));
    await roundTrip((x: Tensor) => body(x), [random.normal(random.key(15), [5])]);
  });

  it("whileLoop becomes an ONNX Loop whose trip count is decided at run time", async () => {
    const w = tensor([1.5, 0.5]);
    const f = jit((x: Tensor) =>
      whileLoop(
        ([, v]: Tensor[]) => less(sum(v!), 50),
        ([i, v]: Tensor[]) => [add(i!, 1), add(multiply(v!, w), 1)],
        [tensor(0, { dtype: "int32" }), x],
      ),
    );
    const bytes = await exportOnnx(f, [tensor([1, 2])]);
    expect(Buffer.from(bytes).includes("Loop")).toBe(true);
    // one exported model, inputs needing different trip counts (0, 1 and several)
    for (const x of [tensor([60, 0]), tensor([30, 10]), tensor([1, 2]), tensor([-0.5, 0.5])]) {
      const [i, v] = f(x) as Tensor[];
      const [gi, gv] = await runOrt(bytes, [x]);
      expect(Array.from(gi!.data, Number)).toEqual(Array.from(await i!.data()));
      const want = Array.from(await v!.data());
      Array.from(gv!.data, Number).forEach((g, k) => expect(Math.abs(g - want[k]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[k]!))));
    }
  });

  it("cond becomes an ONNX If, switchCase nested Ifs (clamped index)", async () => {
    const w = random.normal(random.key(16), [3, 3]);
    const f = jit((x: Tensor) =>
      cond(
        greater(sum(x), 0),
        (v: Tensor) => tanh(matmul(v, w)),
        (v: Tensor) => [negative(v)][0]!,
        x,
      ),
    );
    const bytes = await exportOnnx(f, [tensor([[1, 2, 3]])]);
    expect(Buffer.from(bytes).includes("If")).toBe(true);
    await roundTrip(f, [tensor([[1, 2, 3]])]);
    await roundTrip(f, [tensor([[-1, -2, 0.5]])]);
    const fs = [(v: Tensor) => add(v, 1), (v: Tensor) => matmul(v, w), (v: Tensor) => sin(v)];
    const s = jit((i: Tensor, v: Tensor) => switchCase(i, fs, v));
    const sb = await exportOnnx(s, [tensor(0, { dtype: "int32" }), tensor([[1, 2, 3]])]);
    for (const i of [-2, 0, 1, 2, 5]) {
      const args = [tensor(i, { dtype: "int32" }), tensor([[0.5, -1, 2]])];
      const [got] = await runOrt(sb, args);
      const want = Array.from(await (s(args[0]!, args[1]!) as Tensor).data());
      Array.from(got!.data, Number).forEach((g, k) => expect(Math.abs(g - want[k]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[k]!))));
    }
  });

  it("unsupported primitives and bad arguments give a clear error naming them", async () => {
    await expect(exportOnnx((k: Tensor) => random.uniform(k, [3]), [random.key(0)])).rejects.toThrow(OnnxExportError);
    await expect(exportOnnx((k: Tensor) => random.uniform(k, [3]), [random.key(0)])).rejects.toThrow(/"threefry"/);
    await expect(exportOnnx((x: Tensor) => x, [tensor([1])], { opset: 11 })).rejects.toThrow(/opset must be an integer >= 17/);
  });
});
