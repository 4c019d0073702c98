/**
 * MNIST CNN: conv(8) + pool + conv(16) + pool + dense, trained with `fit` (Adam, cosine decay)
 * on the same 8,000 / 2,000 split as mnist-mlp, validated every epoch. Prints the test accuracy,
 * saves checkpoints, writes examples/out/mnist-cnn.svg.
 *   npm run example:mnist-cnn
 */
import { nn, optim, reshape, slice } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { accuracy } from "../src/metrics/index.js";
import { fit, loadMnist, predict } from "../src/train/index.js";
import type { ExampleOptions, ExampleResult } from "./common.js";
import { checkpoints, epochsOf, isMain, say, since, writePlot } from "./common.js";

const BATCH = 50;

export async function main(o: ExampleOptions = {}): Promise<ExampleResult> {
  const t0 = performance.now();
  const epochs = epochsOf(o, 10);
  const { train: all, test: fullTest } = loadMnist();
  const n = o.samples ?? all.x.shape[0]!;
  const train = { x: slice(all.x, [0, 0], [n, 784]), y: slice(all.y, [0], [n]) };
  const m = o.samples ? Math.min(fullTest.x.shape[0]!, o.samples) : fullTest.x.shape[0]!;
  const test = { x: slice(fullTest.x, [0, 0], [m, 784]), y: slice(fullTest.y, [0], [m]) };
  const img = (x: Tensor): Tensor => reshape(x, [x.shape[0]!, 1, 28, 28]);
  const model = nn.sequential(
    nn.conv2d(1, 8, 3, { padding: "SAME" }),
    nn.relu,
    nn.maxPool2d(2),
    nn.conv2d(8, 16, 3, { padding: "SAME" }),
    nn.relu,
    nn.maxPool2d(2),
    nn.flatten(),
    nn.dense(16 * 7 * 7, 10),
  );
  say(o, nn.summary(model, [BATCH, 1, 28, 28]));
  const steps = Math.ceil(n / BATCH) * epochs;
  const { params, history } = await fit({
    init: model.init,
    loss: (p: nn.Params[], b: { x: Tensor; y: Tensor }) => {
      const logits = model.apply(p, img(b.x));
      return [nn.sparseSoftmaxCrossEntropy(logits, b.y), { accuracy: accuracy(logits, b.y) }] as const;
    },
    optimizer: optim.adam({ lr: optim.schedules.cosineDecay({ init: 3e-3, decaySteps: steps }) }),
    data: train,
    validation: test,
    epochs,
    batchSize: BATCH,
    key: 1,
    ...(o.verbose !== undefined ? { verbose: o.verbose } : {}),
    callbacks: [checkpoints(o, "mnist-cnn", "valAccuracy")],
  });
  // predict in batches of 500 to bound memory
  const acc = accuracy(
    predict((p: nn.Params[], x: Tensor) => model.apply(p, img(x)), params, test.x, { batchSize: 500 }),
    test.y,
  ).itemSync();
  const plot = writePlot(o, "mnist-cnn", history, { title: "MNIST CNN: loss and accuracy per epoch" });
  say(o, `test accuracy ${(100 * acc).toFixed(2)}% on ${m} held-out digits; wrote ${plot}; total ${since(t0)}`);
  return { history, value: acc, metric: "test accuracy", files: [plot] };
}

if (isMain(import.meta.url)) await main();
