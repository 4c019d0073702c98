// Every nn layer: output shape, parameter count, gradients through the layer (checkGrads: central
// finite differences in reverse and forward mode), and vmap/jit agreement with eager application.
import { describe, expect, it } from "vitest";
import { jit, nn, random, stack, tensor, vmap } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { assertAllClose, checkGrads } from "../../laws/index.js";

type AnyLayer = nn.Layer<nn.Params, nn.State>;

interface Spec {
  readonly layer: AnyLayer;
  /** Input of the layer (batch first). */
  readonly input: () => Tensor;
  readonly outShape: readonly number[];
  readonly params: number;
  readonly training?: boolean;
  /** Skip forward-mode grad checks (e.g. layers whose jvp is not the point). */
  readonly revOnly?: boolean;
}

const normal = (seed: number, shape: number[]): Tensor => random.normal(random.key(seed), shape);
const ids = (shape: number[], vocab: number): Tensor => random.randint(random.key(3), shape, 0, vocab);

const SPECS: Record<string, Spec> = {
  dense: { layer: nn.dense(3, 4), input: () => normal(1, [2, 3]), outShape: [2, 4], params: 16 },
  "dense (no bias, 3-D input)": { layer: nn.dense(3, 4, { useBias: false }), input: () => normal(1, [2, 5, 3]), outShape: [2, 5, 4], params: 12 },
  conv1d: { layer: nn.conv1d(2, 3, 3), input: () => normal(1, [2, 2, 7]), outShape: [2, 3, 5], params: 21 },
  conv2d: { layer: nn.conv2d(2, 3, 3, { padding: "SAME", stride: 2 }), input: () => normal(1, [2, 2, 5, 5]), outShape: [2, 3, 3, 3], params: 57 },
  maxPool2d: { layer: nn.maxPool2d(2), input: () => normal(1, [2, 2, 4, 4]), outShape: [2, 2, 2, 2], params: 0 },
  avgPool2d: { layer: nn.avgPool2d([2, 2], { stride: 1 }), input: () => normal(1, [1, 2, 3, 3]), outShape: [1, 2, 2, 2], params: 0 },
  flatten: { layer: nn.flatten(), input: () => normal(1, [2, 3, 2]), outShape: [2, 6], params: 0 },
  "dropout (training)": { layer: nn.dropout(0.3), input: () => normal(1, [4, 5]), outShape: [4, 5], params: 0, training: true },
  "batchNorm (training)": { layer: nn.batchNorm(3), input: () => normal(1, [6, 3]), outShape: [6, 3], params: 6, training: true },
  "batchNorm 4-D (training)": { layer: nn.batchNorm(2), input: () => normal(1, [3, 2, 2, 2]), outShape: [3, 2, 2, 2], params: 4, training: true },
  layerNorm: { layer: nn.layerNorm(4), input: () => normal(1, [3, 4]), outShape: [3, 4], params: 8 },
  embedding: { layer: nn.embedding(7, 3), input: () => ids([2, 4], 7), outShape: [2, 4, 3], params: 21 },
  simpleRnn: { layer: nn.simpleRnn(3, 4), input: () => normal(1, [2, 5, 3]), outShape: [2, 4], params: 3 * 4 + 16 + 4 },
  "simpleRnn sequences": { layer: nn.simpleRnn(3, 4, { returnSequences: true }), input: () => normal(1, [2, 5, 3]), outShape: [2, 5, 4], params: 32 },
  lstm: { layer: nn.lstm(3, 4), input: () => normal(1, [2, 5, 3]), outShape: [2, 4], params: 4 * (3 * 4 + 16 + 4) },
  gru: { layer: nn.gru(3, 4, { returnSequences: true }), input: () => normal(1, [2, 5, 3]), outShape: [2, 5, 4], params: 3 * (3 * 4 + 16 + 8) },
  positionalEncoding: { layer: nn.positionalEncoding(10, 4), input: () => normal(1, [2, 5, 4]), outShape: [2, 5, 4], params: 0 },
  multiHeadAttention: { layer: nn.multiHeadAttention(4, 2), input: () => normal(1, [2, 3, 4]), outShape: [2, 3, 4], params: 4 * 20 },
  "multiHeadAttention causal": { layer: nn.multiHeadAttention(4, 2, { causal: true }), input: () => normal(1, [2, 3, 4]), outShape: [2, 3, 4], params: 80 },
  // gelu: finite differences across relu's kink would be wrong, not the layer
  transformerBlock: {
    layer: nn.transformerBlock(4, 2, 8, { activation: nn.gelu }),
    input: () => normal(1, [2, 3, 4]),
    outShape: [2, 3, 4],
    params: 8 + 80 + 8 + 40 + 36,
  },
  sequential: { layer: nn.sequential(nn.dense(3, 5), nn.relu, nn.dense(5, 2)), input: () => normal(1, [4, 3]), outShape: [4, 2], params: 32 },
};

function run(spec: Spec, p: nn.Params, x: Tensor): Tensor {
  const opts = spec.training ? { training: true, key: random.key(9) } : {};
  if (spec.layer.stateful) return spec.layer.apply(p, x, { ...opts, state: spec.layer.initState() })[0];
  return spec.layer.apply(p, x, opts);
}

describe("nn layers", () => {
  for (const [name, spec] of Object.entries(SPECS)) {
    describe(name, () => {
      const p = spec.layer.init(random.key(0));
      it("output shape and parameter count", () => {
        expect(run(spec, p, spec.input()).shape).toEqual(spec.outShape);
        expect(nn.paramCount(p)).toBe(spec.params);
      });
      it("gradients match finite differences", () => {
        const x = spec.input();
        const f = (pp: nn.Params, xx: Tensor): Tensor => run(spec, pp, xx);
        checkGrads(f, [p, x], { modes: spec.revOnly ? ["rev"] : ["rev", "fwd"], atol: 2e-2, rtol: 2e-2, eps: 1e-3 });
      });
      it("jit and vmap agree with eager application", () => {
        const x = spec.input();
        const eager = run(spec, p, x);
        assertAllClose(jit((pp: nn.Params, xx: Tensor) => run(spec, pp, xx))(p, x), eager, { atol: 1e-5, rtol: 1e-4 });
        // vmap over a new leading axis: each slice is a whole batch for the layer
        const x2 = stack([x, x]);
        const batched = vmap((xx: Tensor) => run(spec, p, xx))(x2);
        assertAllClose(batched, stack([eager, eager]), { atol: 1e-5, rtol: 1e-4 });
      });
    });
  }
});

describe("layer behaviour", () => {
  it("a 3-5-2 MLP has 32 parameters and a summary table", () => {
    const mlp = nn.sequential(nn.dense(3, 5), nn.relu, nn.dense(5, 2));
    const s = nn.summary(mlp, [1, 3]);
    expect(s).toContain("dense(3, 5)");
    expect(s).toContain("[1, 2]");
    expect(s).toMatch(/total params: 32/);
  });

  it("dropout is off outside training, scales kept units, and needs a key", () => {
    const d = nn.dropout(0.25);
    const x = tensor(new Float32Array(4000).fill(1), { shape: [4000] });
    expect(Array.from(d.apply({}, x).dataSync())).toEqual(Array.from(x.dataSync()));
    const y = Array.from(d.apply({}, x, { training: true, key: random.key(4) }).dataSync());
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / 4000 - 0.75)).toBeLessThan(0.03);
    expect(() => d.apply({}, x, { training: true })).toThrow(/key/);
  });

  it("batchNorm: batch statistics and state update in training, running statistics otherwise", () => {
    const bn = nn.batchNorm(2, { momentum: 0.5 });
    const p = bn.init(random.key(0));
    const x = tensor([
      [1, 10],
      [3, 30],
    ]);
    const [y, s] = bn.apply(p, x, { training: true, state: bn.initState() });
    assertAllClose(
      y,
      [
        [-1, -1],
        [1, 1],
      ],
      { atol: 1e-3 },
    );
    assertAllClose(s.mean, [1, 10]); // 0.5 * 0 + 0.5 * [2, 20]
    assertAllClose(s.var, [1, 50.5]); // 0.5 * 1 + 0.5 * [1, 100]
    const [ye, s2] = bn.apply(p, x, { state: s });
    expect(s2).toBe(s);
    assertAllClose(
      ye,
      [
        [0, 0],
        [2 / Math.sqrt(1 + 1e-5), 20 / Math.sqrt(50.5 + 1e-5)],
      ],
      { atol: 1e-4 },
    );
    expect(() => bn.apply(p, x)).toThrow(/state/);
  });

  it("sequential threads state through stateful layers", () => {
    const m = nn.sequential(nn.dense(2, 3), nn.batchNorm(3), nn.relu);
    expect(m.stateful).toBe(true);
    const p = m.init(random.key(0));
    const [y, s] = m.apply(p, normal(2, [5, 2]), { training: true, state: m.initState() });
    expect(y.shape).toEqual([5, 3]);
    expect((s[1] as nn.BatchNormState).mean.shape).toEqual([3]);
  });

  it("causal attention ignores the future; padding mask ignores padded keys", () => {
    const mha = nn.multiHeadAttention(4, 2, { causal: true });
    const p = mha.init(random.key(1));
    const x = normal(2, [1, 4, 4]);
    const x2 = tensor(x.arraySync() as number[][][]).arraySync() as number[][][];
    x2[0]![3] = [5, -5, 5, -5];
    const a = mha.apply(p, x).arraySync() as number[][][];
    const b = mha.apply(p, tensor(x2)).arraySync() as number[][][];
    assertAllClose(a[0]!.slice(0, 3), b[0]!.slice(0, 3), { atol: 1e-5 });
    expect(Math.abs(a[0]![3]![0]! - b[0]![3]![0]!)).toBeGreaterThan(1e-4);

    const full = nn.multiHeadAttention(4, 2);
    const pf = full.init(random.key(1));
    const mask = tensor([[true, true, true, false]], { dtype: "bool" });
    const c = full.apply(pf, x, { mask }).arraySync() as number[][][];
    const d = full.apply(pf, tensor(x2), { mask }).arraySync() as number[][][];
    assertAllClose(c[0]!.slice(0, 3), d[0]!.slice(0, 3), { atol: 1e-5 });
  });

  it("RNN sequences end in the last hidden state", () => {
    for (const make of [nn.simpleRnn, nn.lstm, nn.gru]) {
      const last = make(3, 4);
      const seq = make(3, 4, { returnSequences: true });
      const p = last.init(random.key(5));
      const x = normal(6, [2, 5, 3]);
      const hs = seq.apply(p, x).arraySync() as number[][][];
      assertAllClose(
        last.apply(p, x),
        hs.map((b) => b[4]!),
        { atol: 1e-6 },
      );
    }
  });

  it("positionalEncoding adds the sinusoid table", () => {
    const pe = nn.positionalEncoding(8, 4);
    const y = pe.apply({}, tensor(new Float32Array(12), { shape: [1, 3, 4] })).arraySync() as number[][][];
    assertAllClose(y[0]![2]!, [Math.sin(2), Math.cos(2), Math.sin(0.02), Math.cos(0.02)], { atol: 1e-6 });
  });

  it("shape errors name the layer", () => {
    const d = nn.dense(3, 4);
    expect(() => d.apply(d.init(random.key(0)), normal(0, [2, 5]))).toThrow(/dense\(3, 4\)/);
  });

  it("initializers have the stated scale", () => {
    const k = random.key(11);
    const stdOf = (t: Tensor): number => {
      const a = Array.from(t.dataSync() as Float32Array);
      const m = a.reduce((s, v) => s + v, 0) / a.length;
      return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
    };
    const shape = [200, 100];
    expect(stdOf(nn.glorotUniform(k, shape))).toBeCloseTo(Math.sqrt(2 / 300), 2);
    expect(stdOf(nn.glorotNormal(k, shape))).toBeCloseTo(Math.sqrt(2 / 300), 2);
    expect(stdOf(nn.heUniform(k, shape))).toBeCloseTo(Math.sqrt(2 / 200), 2);
    expect(stdOf(nn.heNormal(k, shape))).toBeCloseTo(Math.sqrt(2 / 200), 2);
    expect(nn.fans([8, 4, 3, 3])).toEqual([36, 72]);
    expect(Array.from(nn.zeros(k, [3]).dataSync())).toEqual([0, 0, 0]);
  });

  it("l1 and l2 sum over the whole tree", () => {
    const t = { a: tensor([1, -2]), b: [tensor([[3]])] };
    expect(nn.l1(t).itemSync()).toBe(6);
    expect(nn.l2(t).itemSync()).toBe(14);
  });
});

describe("flatten as a layer and as a plain function", () => {
  it("works both ways, including inside sequential and summary", () => {
    const x = random.normal(random.key(3), [2, 1, 4, 4]);
    expect(nn.flatten(x).shape).toEqual([2, 16]);
    const m1 = nn.sequential(nn.conv2d(1, 2, 3, { padding: "SAME" }), nn.flatten, nn.dense(32, 3));
    const m2 = nn.sequential(nn.conv2d(1, 2, 3, { padding: "SAME" }), nn.flatten(), nn.dense(32, 3));
    const p = m1.init(random.key(4));
    assertAllClose(m1.apply(p, x) as Tensor, m2.apply(p, x) as Tensor);
    expect(nn.summary(m1, [2, 1, 4, 4])).toContain("[2, 32]");
  });
});
