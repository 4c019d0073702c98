/**
 * MNIST MLP (the README demo): 784-128-10 with ReLU, trained with `fit` (Adam, cosine decay) on
 * the bundled 8,000-digit training split, validated on the 2,000 held out. Shows the progress
 * bar, prints the test accuracy, saves checkpoints and writes the loss plot
 * (examples/out/mnist-mlp.svg).
 *   npm run demo        (= npm run example:mnist-mlp)
 */
import { nn, optim, slice } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { accuracy } from "../src/metrics/index.js";
import { fit, loadMnist, predict } from "../src/train/index.js";
import type { ExampleOptions, ExampleResult } from "./common.js";
import { checkpoints, epochsOf, isMain, say, since, writePlot } from "./common.js";

const BATCH = 100;

export async function main(o: ExampleOptions = {}): Promise<ExampleResult> {
  const t0 = performance.now();
  const epochs = epochsOf(o, 12);
  const { train: all, test } = loadMnist();
  const n = o.samples ?? all.x.shape[0]!;
  const train = { x: slice(all.x, [0, 0], [n, 784]), y: slice(all.y, [0], [n]) };
  const model = nn.sequential(nn.dense(784, 128), nn.relu, nn.dense(128, 10));
  say(o, nn.summary(model, [BATCH, 784]));
  const steps = Math.ceil(n / BATCH) * epochs;
  const loss = (p: nn.Params[], b: { x: Tensor; y: Tensor }) => {
    const logits = model.apply(p, b.x);
    return [nn.sparseSoftmaxCrossEntropy(logits, b.y), { accuracy: accuracy(logits, b.y) }] as const;
  };
  const { params, history } = await fit({
    init: model.init,
    loss,
    optimizer: optim.adam({ lr: optim.schedules.cosineDecay({ init: 3e-3, decaySteps: steps }) }),
    data: train,
    validation: test,
    epochs,
    batchSize: BATCH,
    key: 0,
    ...(o.verbose !== undefined ? { verbose: o.verbose } : {}),
    callbacks: [checkpoints(o, "mnist-mlp", "valAccuracy")],
  });
  const acc = accuracy(
    predict((p: nn.Params[], x: Tensor) => model.apply(p, x), params, test.x),
    test.y,
  ).itemSync();
  const plot = writePlot(o, "mnist-mlp", history, { title: "MNIST MLP: loss and accuracy per epoch" });
  say(o, `test accuracy ${(100 * acc).toFixed(2)}% on ${test.x.shape[0]} held-out digits; wrote ${plot}; total ${since(t0)}`);
  return { history, value: acc, metric: "test accuracy", files: [plot] };
}

if (isMain(import.meta.url)) await main();
