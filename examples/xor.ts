/**
 * Universal approximation, small: a 2-8-1 tanh MLP learns XOR, and a 1-32-1 tanh MLP fits
 * sin(x) on [-π, π]; both train full-batch with `fit` (Adam). Writes examples/out/xor.svg and
 * examples/out/sine.svg.
 *   npm run example:xor
 */
import { abs, astype, equal, greater, linspace, max, mean, nn, optim, reshape, sin, subtract, tensor } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { fit } from "../src/train/index.js";
import type { ExampleOptions, ExampleResult } from "./common.js";
import { checkpoints, epochsOf, isMain, say, since, writePlot } from "./common.js";

export async function main(o: ExampleOptions = {}): Promise<ExampleResult> {
  const t0 = performance.now();
  const verbose = o.verbose !== undefined ? { verbose: o.verbose } : {};
  // XOR: one epoch = one full-batch step
  const xor = nn.sequential(nn.dense(2, 8), nn.tanh, nn.dense(8, 1));
  const data = {
    x: tensor([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]),
    y: tensor([[0], [1], [1], [0]]),
  };
  const xorLoss = (p: nn.Params[], b: typeof data) => {
    const logits = xor.apply(p, b.x);
    return [nn.binaryCrossEntropyWithLogits(logits, b.y), { accuracy: mean(astype(equal(astype(greater(logits, 0), "float32"), b.y), "float32")) }] as const;
  };
  const a = await fit({
    init: xor.init,
    loss: xorLoss,
    optimizer: optim.adam({ lr: 0.05 }),
    data,
    epochs: epochsOf(o, 300),
    batchSize: 4,
    key: 0,
    ...verbose,
    callbacks: [checkpoints(o, "xor", "loss")],
  });
  const probs = nn.sigmoid(xor.apply(a.params, data.x));
  const acc = a.history.accuracy!.at(-1)!;
  say(o, `xor: loss ${a.history.loss.at(-1)!.toFixed(5)}, accuracy ${acc * 100}%, p(1) = ${Array.from(probs.dataSync(), (v) => v.toFixed(3)).join(", ")}`);

  // sine fit
  const xs = reshape(linspace(-Math.PI, Math.PI, 128), [128, 1]);
  const sine = { x: xs, y: sin(xs) };
  const mlp = nn.sequential(nn.dense(1, 32), nn.tanh, nn.dense(32, 1));
  const s = await fit({
    init: mlp.init,
    loss: (p: nn.Params[], b: typeof sine): Tensor => nn.mse(mlp.apply(p, b.x), b.y),
    optimizer: optim.adam({ lr: 0.01 }),
    data: sine,
    epochs: 5 * epochsOf(o, 300),
    batchSize: 128,
    key: 1,
    ...verbose,
  });
  const maxErr = max(abs(subtract(mlp.apply(s.params, xs), sine.y))).itemSync();
  const files = [writePlot(o, "xor", a.history, { title: "XOR: BCE and accuracy" }), writePlot(o, "sine", s.history, { title: "sine fit: MSE", logY: true })];
  say(o, `sine: mse ${s.history.loss.at(-1)!.toExponential(2)}, max |error| ${maxErr.toFixed(4)} on [-π, π]; wrote ${files.join(", ")} (${since(t0)})`);
  return { history: a.history, value: acc, metric: "xor accuracy", files };
}

if (isMain(import.meta.url)) await main();
