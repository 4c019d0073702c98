// Small training runs (seconds) that assert learning happened: each states the factor by which the
// loss must fall (and an accuracy floor where it applies). Train steps are jitted.
import { describe, expect, it } from "vitest";
import { argmax, equal, greater, jit, mean, nn, optim, random, slice, sum, tensor, valueAndGrad, astype } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

type Loss<P> = (p: P, x: Tensor, y: Tensor) => Tensor;

/** Full-batch Adam for `steps` steps; returns [first loss, last loss, params]. */
function train<P extends nn.Params>(params: P, loss: Loss<P>, x: Tensor, y: Tensor, steps: number, lr: number): [number, number, P] {
  const opt = optim.adam({ lr });
  let state = opt.init(params);
  const step = jit((p: P, s: typeof state, xb: Tensor, yb: Tensor) => {
    const [l, g] = valueAndGrad(loss)(p, xb, yb);
    const [u, s2] = opt.update(g as P, s, p);
    return [l, optim.applyUpdates(p, u), s2] as const;
  });
  let first = NaN;
  let last = NaN;
  for (let i = 0; i < steps; i++) {
    const [l, p2, s2] = step(params, state, x, y);
    params = p2;
    state = s2;
    if (i === 0) first = l.itemSync();
    if (i === steps - 1) last = l.itemSync();
  }
  return [first, last, params];
}

describe("nn training", () => {
  it("an MLP learns XOR (loss falls 10x, 100% accuracy)", () => {
    const model = nn.sequential(nn.dense(2, 8), nn.tanh, nn.dense(8, 1));
    const x = tensor([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const y = tensor([[0], [1], [1], [0]]);
    const loss: Loss<nn.Params[]> = (p, xb, yb) => nn.binaryCrossEntropyWithLogits(model.apply(p, xb), yb);
    const [first, last, p] = train(model.init(random.key(0)), loss, x, y, 150, 0.05);
    expect(last).toBeLessThan(first / 10);
    const pred = astype(greater(model.apply(p, x), 0), "float32");
    expect(mean(equal(pred, y)).itemSync()).toBe(1);
  });

  it("a small CNN separates left-bright from right-bright images (loss falls 3x)", () => {
    const n = 32;
    const data = new Float32Array(n * 36);
    const labels = new Int32Array(n);
    const u = random.uniform(random.key(1), [n, 36]).dataSync() as Float32Array;
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (let r = 0; r < 6; r++) for (let c = 0; c < 6; c++) data[i * 36 + r * 6 + c] = u[i * 36 + r * 6 + c]! * 0.5 + (c < 3 === (i % 2 === 0) ? 0.5 : 0);
    }
    const x = tensor(data, { shape: [n, 1, 6, 6] });
    const y = tensor(labels, { shape: [n], dtype: "int32" });
    const model = nn.sequential(nn.conv2d(1, 4, 3, { padding: "SAME" }), nn.relu, nn.maxPool2d(2), nn.flatten(), nn.dense(36, 2));
    const loss: Loss<nn.Params[]> = (p, xb, yb) => nn.sparseSoftmaxCrossEntropy(model.apply(p, xb), yb);
    const [first, last, p] = train(model.init(random.key(2)), loss, x, y, 40, 0.05);
    expect(last).toBeLessThan(first / 3);
    expect(mean(equal(argmax(model.apply(p, x), { axis: -1 }), y)).itemSync()).toBeGreaterThan(0.95);
  });

  it("an LSTM learns the sign of a sequence's sum (loss falls 2x)", () => {
    const x = random.normal(random.key(3), [64, 6, 1]);
    const y = astype(greater(sum(x, { axis: [1, 2] }), 0), "int32");
    const model = nn.sequential(nn.lstm(1, 8), nn.dense(8, 2));
    const loss: Loss<nn.Params[]> = (p, xb, yb) => nn.sparseSoftmaxCrossEntropy(model.apply(p, xb), yb);
    const [first, last] = train(model.init(random.key(4)), loss, x, y, 60, 0.05);
    expect(last).toBeLessThan(first / 2);
  });

  it("batchNorm state and dropout keys thread through a jitted training step", () => {
    const model = nn.sequential(nn.dense(4, 16), nn.batchNorm(16), nn.relu, nn.dropout(0.1), nn.dense(16, 3));
    const x = random.normal(random.key(5), [48, 4]);
    // class = index of the largest of the first three features
    const target = astype(argmax(slice(x, [0, 0], [48, 3]), { axis: -1 }), "int32");
    const opt = optim.adam({ lr: 0.03 });
    let params: nn.Params[] = model.init(random.key(6));
    let state: nn.State[] = model.initState();
    let ostate = opt.init(params);
    const step = jit((p: nn.Params[], s: nn.State[], os: typeof ostate, k: Tensor) => {
      const lossFn = (pp: nn.Params[]): [Tensor, nn.State[]] => {
        const [logits, s2] = model.apply(pp, x, { training: true, key: k, state: s });
        return [nn.sparseSoftmaxCrossEntropy(logits, target), s2];
      };
      const [[l, s2], g] = valueAndGrad(lossFn, { hasAux: true })(p);
      const [u, os2] = opt.update(g, os, p);
      return [l, optim.applyUpdates(p, u), s2, os2] as const;
    });
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const [l, p2, s2, o2] = step(params, state, ostate, random.foldIn(random.key(7), i));
      [params, state, ostate] = [p2, s2, o2];
      losses.push(l.itemSync());
    }
    expect(losses[59]!).toBeLessThan(losses[0]! / 2);
    const bnMean = (state[1] as nn.BatchNormState).mean.dataSync() as Float32Array;
    expect(Array.from(bnMean).some((v) => Math.abs(v) > 1e-3)).toBe(true); // running stats moved
    const [evalLogits] = model.apply(params, x, { state });
    expect(mean(equal(argmax(evalLogits, { axis: -1 }), target)).itemSync()).toBeGreaterThan(0.8);
  });
});
