// tenfold/train: batching, fit (learning, validation, aux metrics, model state, early stopping),
// the progress bar's two modes, and plotHistory's SVG (checked with a small XML balance parser).
import { describe, expect, test } from "vitest";
import { add, arange, matmul, mean, random, square, subtract, tensor, zeros, tanh, multiply } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { adam, sgd } from "../../src/optim/index.js";
import { batches, earlyStopping, fit, fitAsync, plotHistory, progressBar } from "../../src/train/index.js";

describe("batches", () => {
  const data = { x: arange(23), y: [multiply(arange(23), 10)] };
  test("shuffled batches cover every sample exactly once and keep rows aligned", () => {
    const seen: number[] = [];
    for (const b of batches(random.key(3), data, 5)) {
      const xs = Array.from(b.x.dataSync());
      expect(Array.from(b.y[0]!.dataSync())).toEqual(xs.map((v) => v * 10));
      seen.push(...xs);
    }
    expect(seen).not.toEqual([...Array(23).keys()]);
    expect([...seen].sort((a, b) => a - b)).toEqual([...Array(23).keys()]);
  });
  test("dropLast, order without shuffle, and different keys give different orders", () => {
    expect([...batches(null, data, 5, { shuffle: false, dropLast: true })].map((b) => b.x.shape[0])).toEqual([5, 5, 5, 5]);
    expect([...batches(null, data, 5, { shuffle: false })].map((b) => b.x.shape[0])).toEqual([5, 5, 5, 5, 3]);
    expect(Array.from([...batches(null, data, 23, { shuffle: false })][0]!.x.dataSync())).toEqual([...Array(23).keys()]);
    const first = (k: number): number[] => Array.from([...batches(random.key(k), data, 23)][0]!.x.dataSync());
    expect(first(1)).not.toEqual(first(2));
    expect(first(1)).toEqual(first(1));
  });
  test("leaves of different lengths are an error, at once", () => {
    expect(() => batches(null, { x: zeros([4, 2]), y: zeros([5]) }, 2, { shuffle: false })).toThrow(/leaf 0 has 4 samples, leaf 1 has 5/);
    expect(() => batches(null, { x: zeros([4]) }, 2)).toThrow(/needs a key/);
  });
});

// synthetic regression: y = tanh(x W1) W2 + noise-free
const X = random.normal(random.key(10), [256, 3]);
const Y = matmul(
  tanh(
    matmul(
      X,
      tensor([
        [1, -2],
        [0.5, 1],
        [-1, 0.3],
      ]),
    ),
  ),
  tensor([[1.5], [-0.7]]),
);
const model = (p: { w1: Tensor; b1: Tensor; w2: Tensor }, x: Tensor): Tensor => matmul(tanh(add(matmul(x, p.w1), p.b1)), p.w2);
const init = (k: Tensor): { w1: Tensor; b1: Tensor; w2: Tensor } => {
  const [k1, k2] = random.split(k);
  return { w1: multiply(random.normal(k1!, [3, 16]), 0.5), b1: zeros([16]), w2: multiply(random.normal(k2!, [16, 1]), 0.25) };
};

describe("fit", () => {
  test("a small MLP regression reduces the loss at least 20-fold in 30 epochs, with validation", async () => {
    const data = { x: X, y: Y };
    const { params, history } = await fit({
      init,
      loss: (p, b: typeof data) => mean(square(subtract(model(p, b.x), b.y))),
      optimizer: adam({ lr: 0.02 }),
      data,
      validation: { x: X, y: Y },
      epochs: 30,
      batchSize: 32,
      key: 0,
    });
    expect(history.loss).toHaveLength(30);
    expect(history.valLoss).toHaveLength(30);
    expect(history.loss[29]!).toBeLessThan(history.loss[0]! / 20);
    expect(history.valLoss[29]!).toBeLessThan(history.valLoss[0]! / 20);
    expect(params.w1.shape).toEqual([3, 16]);
  });

  test("aux metrics, model state, metrics option, and jit: false agree with jit", async () => {
    const data = { x: X, y: Y };
    const run = (useJit: boolean) =>
      fit({
        init,
        loss: (p, b: typeof data, ctx) => {
          const err = mean(square(subtract(model(p, b.x), b.y)));
          const st = ctx.state as { steps: Tensor };
          return [err, { mae: mean(square(err)), state: ctx.training ? { steps: add(st.steps, 1) } : st }] as const;
        },
        optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
        data,
        validation: data,
        state: { steps: tensor(0) },
        metrics: { r: (p, d) => mean(square(subtract(model(p, d.x), d.y))) },
        epochs: 2,
        batchSize: 100,
        jit: useJit,
      });
    const a = await run(true);
    const b = await run(false);
    expect(Object.keys(a.history).sort()).toEqual(["loss", "mae", "r", "valLoss", "valMae"]);
    expect((a.state as { steps: Tensor }).steps.itemSync()).toBe(6);
    a.history.loss.forEach((v, i) => expect(v).toBeCloseTo(b.history.loss[i]!, 4));
    expect(a.history.r![1]).toBeCloseTo(a.history.valLoss[1]!, 5);
  });

  test("earlyStopping stops after `patience` epochs without improvement and can restore the best", async () => {
    const data = { x: X, y: Y };
    let calls = 0;
    const { history, params } = await fit({
      init: { w: tensor([[0.1], [0.1], [0.1]]) },
      // diverging optimizer: loss rises after the first epoch
      loss: (p, b: typeof data) => mean(square(subtract(matmul(b.x, p.w), b.y))),
      optimizer: sgd({ lr: -0.05 }),
      data,
      epochs: 100,
      batchSize: 256,
      callbacks: [earlyStopping({ patience: 3, restoreBest: true }), { onEpochEnd: () => void calls++ }],
    });
    expect(history.loss).toHaveLength(4);
    expect(calls).toBe(4);
    expect(Array.from(params.w.dataSync()).every((v) => Math.abs(v) < 1)).toBe(true);
  });

  test("progressBar: plain lines off a TTY, a redrawn bar on one", async () => {
    const outs: Record<string, string[]> = { plain: [], tty: [] };
    for (const mode of ["plain", "tty"] as const) {
      await fit({
        init: { w: tensor([[0], [0], [0]]) },
        loss: (p, b: { x: Tensor; y: Tensor }) => mean(square(subtract(matmul(b.x, p.w), b.y))),
        optimizer: sgd({ lr: 0.1 }),
        data: { x: X, y: Y },
        epochs: 2,
        batchSize: 64,
        callbacks: [progressBar({ stream: { write: (s: string) => outs[mode]!.push(s), isTTY: mode === "tty" } })],
      });
    }
    expect(outs.plain).toHaveLength(2);
    expect(outs.plain![0]).toMatch(/^epoch 1\/2 - loss \d\.\d{4} - \d+\.\ds - [\d.]+ steps\/s\n$/);
    expect(outs.tty!.some((s) => s.startsWith("\repoch 1/2 [") && s.includes("4/4"))).toBe(true);
  });
});

/** A minimal XML well-formedness check: balanced, properly nested tags; returns the tag names. */
function parseXml(s: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|>/g;
  let text = s;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    if (m[0] === "<") throw new Error(`stray < at ${m.index}`);
    if (m[0] === ">") throw new Error(`stray > at ${m.index}`);
    const [, close, name, , self] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`mismatched </${name}> at ${m.index}`);
    } else {
      names.push(name!);
      if (!self) stack.push(name!);
    }
    text = text.replace(m[0], "");
  }
  if (stack.length) throw new Error(`unclosed <${stack.join(">, <")}>`);
  return names;
}

describe("plotHistory", () => {
  test("well-formed SVG with one path per curve, axes and a legend", () => {
    const svg = plotHistory({ loss: [2, 1, 0.5, 0.4], valLoss: [2.1, 1.3, 0.9, 1], acc: [0.2, 0.5, 0.7, 0.8] }, { title: "a < b & c" });
    const names = parseXml(svg);
    expect(names[0]).toBe("svg");
    expect(names.filter((n) => n === "path")).toHaveLength(3);
    expect(svg).toContain('class="axes"');
    expect(svg).toContain('class="legend"');
    expect(svg).toContain("a &lt; b &amp; c");
    for (const k of ["loss", "valLoss", "acc"]) expect(svg).toContain(`>${k}</text>`);
  });
  test("empty series are skipped; a single epoch and NaN values still give valid paths", () => {
    const svg = plotHistory({ loss: [1], valLoss: [] });
    expect(parseXml(svg).filter((n) => n === "path")).toHaveLength(1);
    const svg2 = plotHistory({ loss: [1, NaN, 0.5], valLoss: [NaN, NaN, NaN] });
    expect(parseXml(svg2).filter((n) => n === "path")).toHaveLength(2);
    expect(svg2).not.toContain("NaN");
  });
});

describe("fit and fitAsync", () => {
  const opts = () => ({
    init: { w: tensor([[0], [0], [0]]) },
    loss: (p: { w: Tensor }, b: { x: Tensor; y: Tensor }) => mean(square(subtract(matmul(b.x, p.w), b.y))),
    optimizer: sgd({ lr: 0.1 }),
    data: { x: X, y: Y },
    epochs: 3,
    batchSize: 64,
    key: 3,
  });
  test("fit returns its result synchronously; fitAsync awaits reads and agrees", async () => {
    const sync = fit(opts());
    expect(Array.isArray(sync.history.loss)).toBe(true);
    expect(sync.history.loss).toHaveLength(3);
    const asy = await fitAsync(opts());
    expect(asy.history.loss).toEqual(sync.history.loss);
    expect(Array.from(asy.params.w.dataSync())).toEqual(Array.from(sync.params.w.dataSync()));
  });
});
