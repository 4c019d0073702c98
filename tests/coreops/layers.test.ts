// convTranspose, upsample, globalAvgPool, groupNorm, rmsNorm, masks and scaledDotProductAttention
// against NumPy/JAX fixtures (tests/fixtures/coreops/gen_layers.py), finite-difference gradients
// (checkGrads), jit == eager and vmap == loop; layers' shapes and bad-input errors.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { ShapeError, convTranspose, globalAvgPool, jit, nn, random, stack, sum, tensor, upsample, vmap } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { checkGrads } from "../../laws/index.js";

interface ConvCase {
  x: number[];
  xs: number[];
  w: number[];
  ws: number[];
  stride: number[];
  pad: number[];
  opad: number[];
  dil: number[];
  y: number[];
  ys: number[];
}
interface UpCase {
  x: number[];
  xs: number[];
  size: number[];
  method: "nearest" | "bilinear";
  y: number[];
}
interface Fix {
  convTranspose: ConvCase[];
  upsample: UpCase[];
  groupNorm: { x: number[]; xs: number[]; scale: number[]; bias: number[]; groups: number; y: number[] };
  rmsNorm: { x: number[]; xs: number[]; scale: number[]; y: number[] };
  sdpa: { q: number[]; k: number[]; v: number[]; lengths: number[]; plain: number[]; causal: number[]; padded: number[] };
}
const FIX = JSON.parse(readFileSync(new URL("../fixtures/coreops/layers.json", import.meta.url), "utf8")) as Fix;

function close(got: Tensor, want: readonly number[], tol = 1e-4): void {
  const g = Array.from(got.dataSync());
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(tol * (1 + Math.abs(want[i]!))));
}

const ctOpts = (c: ConvCase) => ({ strides: c.stride, padding: c.pad, outputPadding: c.opad, dilation: c.dil });

describe("convTranspose (PyTorch ConvTranspose semantics)", () => {
  FIX.convTranspose.forEach((c, i) => {
    test(`case ${i}: x [${c.xs.join(", ")}] w [${c.ws.join(", ")}] stride ${c.stride} pad ${c.pad} outPad ${c.opad} dil ${c.dil}`, () => {
      const y = convTranspose(tensor(c.x, { shape: c.xs }), tensor(c.w, { shape: c.ws }), ctOpts(c));
      expect(y.shape).toEqual(c.ys);
      close(y, c.y);
    });
  });
  test("gradients in both arguments match finite differences", () => {
    const c = FIX.convTranspose[2]!;
    checkGrads((x: Tensor, w: Tensor) => convTranspose(x, w, ctOpts(c)), [tensor(c.x, { shape: c.xs }), tensor(c.w, { shape: c.ws })], {
      atol: 2e-2,
      rtol: 2e-2,
    });
  });
  test("jit == eager and vmap == loop", () => {
    const c = FIX.convTranspose[0]!;
    const x = tensor(c.x, { shape: c.xs });
    const w = tensor(c.w, { shape: c.ws });
    const f = (a: Tensor, b: Tensor): Tensor => convTranspose(a, b, ctOpts(c));
    close(jit(f)(x, w), Array.from(f(x, w).dataSync()), 1e-5);
    const wsList = [w, random.normal(random.key(1), c.ws), random.normal(random.key(2), c.ws)];
    const loop = stack(wsList.map((wi) => f(x, wi)));
    close(vmap(f, { inAxes: [null, 0] })(x, stack(wsList)), Array.from(loop.dataSync()), 1e-5);
  });
  test("bad input names the op and the argument", () => {
    expect(() => convTranspose(tensor([[[1, 2]]]), tensor([[[1]], [[1]]]))).toThrow(ShapeError);
    expect(() => convTranspose(tensor([[[1, 2]]]), tensor([[[1]], [[1]]]))).toThrow(/convTranspose: channel mismatch/);
    expect(() => convTranspose(tensor([[[1, 2]]]), tensor([[[1, 1]]]), { strides: 2, outputPadding: 2 })).toThrow(/convTranspose: outputPadding 2/);
    expect(() => convTranspose(tensor([[[1, 2]]]), tensor([[[1, 1]]]), { strides: 0 })).toThrow(/convTranspose: strides/);
  });
});

describe("upsample (jax.image.resize for upsampling; PyTorch align_corners=False)", () => {
  FIX.upsample.forEach((c, i) => {
    test(`case ${i}: ${c.method} [${c.xs.join(", ")}] -> ${c.size}`, () => {
      const y = upsample(tensor(c.x, { shape: c.xs }), undefined, { method: c.method, size: c.size });
      expect(y.shape).toEqual([...c.xs.slice(0, 2), ...c.size]);
      close(y, c.y);
    });
  });
  test("scale factor and hand values", () => {
    const x = tensor([[[1, 2]]]);
    expect(upsample(x, 2).arraySync()).toEqual([[[1, 1, 2, 2]]]);
    close(upsample(x, 2, { method: "bilinear" }), [1, 1.25, 1.75, 2]);
  });
  test("gradient of bilinear matches finite differences; jit == eager; vmap == loop", () => {
    const c = FIX.upsample[0]!;
    const x = tensor(c.x, { shape: c.xs });
    const f = (a: Tensor): Tensor => upsample(a, 2, { method: "bilinear" });
    checkGrads(f, [x], { atol: 1e-2, rtol: 1e-2 });
    close(jit(f)(x), Array.from(f(x).dataSync()), 1e-6);
    const xs = [x, random.normal(random.key(3), c.xs)];
    close(vmap(f)(stack(xs)), Array.from(stack(xs.map(f)).dataSync()), 1e-6);
  });
  test("bad input", () => {
    expect(() => upsample(tensor([1, 2]), 2)).toThrow(/upsample: expected x \[N, C, \.\.\.spatial\]/);
    expect(() => upsample(tensor([[[1, 2]]]), -1)).toThrow(/upsample: scale/);
    expect(() => upsample(tensor([[[1, 2]]]), 2, { size: [1, 2] })).toThrow(/upsample: size must be 1/);
  });
});

describe("globalAvgPool", () => {
  test("mean over spatial axes, layer and keepdims", () => {
    const x = tensor([
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 9],
        ],
      ],
    ]);
    close(globalAvgPool(x), [2.5, 6.75]);
    expect(globalAvgPool(x, { keepdims: true }).shape).toEqual([1, 2, 1, 1]);
    expect(nn.globalAvgPool2d().apply({}, x).shape).toEqual([1, 2]);
    expect(() => globalAvgPool(tensor([[1, 2]]))).toThrow(/globalAvgPool/);
  });
});

describe("groupNorm and rmsNorm", () => {
  test("groupNorm matches NumPy", () => {
    const c = FIX.groupNorm;
    const gn = nn.groupNorm(c.groups, c.xs[1]!);
    const p = { scale: tensor(c.scale), bias: tensor(c.bias) };
    close(gn.apply(p, tensor(c.x, { shape: c.xs })), c.y);
    checkGrads((x: Tensor, s: Tensor) => sum(nn.tanh(gn.apply({ scale: s, bias: p.bias }, x))), [tensor(c.x, { shape: c.xs }), p.scale], {
      atol: 2e-2,
      rtol: 2e-2,
    });
    expect(() => nn.groupNorm(4, 6)).toThrow(/groupNorm: groups 4/);
    expect(() => gn.apply(p, tensor([[1, 2]]))).toThrow(/channels/);
  });
  test("rmsNorm matches NumPy", () => {
    const c = FIX.rmsNorm;
    const rn = nn.rmsNorm(5);
    close(rn.apply({ scale: tensor(c.scale) }, tensor(c.x, { shape: c.xs })), c.y);
    checkGrads((x: Tensor) => rn.apply({ scale: tensor(c.scale) }, x), [tensor(c.x, { shape: c.xs })], { atol: 2e-2, rtol: 2e-2 });
    const x = tensor(c.x, { shape: c.xs });
    const f = (a: Tensor): Tensor => rn.apply({ scale: tensor(c.scale) }, a);
    close(jit(f)(x), Array.from(f(x).dataSync()), 1e-6);
  });
});

describe("attention masks and scaledDotProductAttention (jax.nn.dot_product_attention)", () => {
  const s = FIX.sdpa;
  const q = tensor(s.q, { shape: [2, 2, 4, 3] });
  const k = tensor(s.k, { shape: [2, 2, 5, 3] });
  const v = tensor(s.v, { shape: [2, 2, 5, 3] });
  test("plain, causal and padded match JAX", () => {
    close(nn.scaledDotProductAttention(q, k, v), s.plain);
    close(nn.scaledDotProductAttention(q, k, v, { causal: true }), s.causal);
    const mask = nn.paddingMask(tensor(s.lengths, { dtype: "int32" }), 5);
    close(nn.scaledDotProductAttention(q, k, v, { mask, scale: 0.7 }), s.padded);
  });
  test("masks by hand", () => {
    expect(nn.causalMask(2, 3).arraySync()).toEqual([
      [true, false, false],
      [true, true, false],
    ]);
    expect(nn.paddingMask(tensor([2, 0], { dtype: "int32" }), 2).arraySync()).toEqual([[[[true, true]]], [[[false, false]]]]);
    // a fully masked row attends uniformly (JAX's finite fill), not NaN
    const y = nn.scaledDotProductAttention(
      tensor([[[1, 0]]]),
      tensor([
        [
          [1, 0],
          [0, 1],
        ],
      ]),
      tensor([
        [
          [2, 0],
          [4, 0],
        ],
      ]),
      { mask: tensor([[[false, false]]]) },
    );
    close(y, [3, 0]);
  });
  test("gradients, jit == eager, vmap == loop", () => {
    const f = (a: Tensor, b: Tensor, c: Tensor): Tensor => nn.scaledDotProductAttention(a, b, c, { causal: true });
    checkGrads(f, [q, k, v], { atol: 2e-2, rtol: 2e-2 });
    close(jit(f)(q, k, v), Array.from(f(q, k, v).dataSync()), 1e-5);
    const qs = [q, random.normal(random.key(4), q.shape)];
    close(vmap(f, { inAxes: [0, null, null] })(stack(qs), k, v), Array.from(stack(qs.map((a) => f(a, k, v))).dataSync()), 1e-5);
  });
  test("bad input", () => {
    expect(() => nn.scaledDotProductAttention(q, random.normal(random.key(0), [2, 2, 5, 4]), v)).toThrow(/scaledDotProductAttention: q's last axis 3/);
    expect(() => nn.causalMask(0)).toThrow(/causalMask/);
  });
});

describe("layers", () => {
  test("convTranspose1d/2d and upsampling2d shapes and bias", () => {
    const up = nn.convTranspose2d(4, 2, 2, { stride: 2 });
    const p = up.init(random.key(0));
    expect(p.w.shape).toEqual([4, 2, 2, 2]);
    expect(up.apply(p, random.normal(random.key(1), [1, 4, 5, 5])).shape).toEqual([1, 2, 10, 10]);
    const u1 = nn.convTranspose1d(3, 2, 3, { stride: 2, padding: 1, outputPadding: 1 });
    expect(u1.apply(u1.init(random.key(0)), random.normal(random.key(1), [1, 3, 4])).shape).toEqual([1, 2, 8]);
    expect(nn.upsampling2d(2, { method: "bilinear" }).apply({}, random.normal(random.key(1), [1, 3, 4, 4])).shape).toEqual([1, 3, 8, 8]);
    expect(() => up.apply(p, random.normal(random.key(1), [1, 3, 5, 5]))).toThrow(/input channels/);
  });
});
