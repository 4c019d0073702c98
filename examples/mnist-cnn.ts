/**
 * MNIST CNN: conv(8) + pool + conv(16) + pool + dense, Adam with cosine decay, on the same
 * 8,000 / 2,000 split as mnist-mlp. Prints per-epoch loss and the final test accuracy.
 *   npm run example:mnist-cnn
 */
import { argmax, concat, jit, nn, optim, random, reshape, slice } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { accuracy } from "../src/metrics/index.js";
import { makeStep, since, trainEpochs } from "./common.js";
import { loadMnist } from "./mnist-data.js";

const EPOCHS = Number(process.env.EPOCHS ?? 10);
const BATCH = 50;
const t0 = performance.now();
const { train, test } = loadMnist();
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
console.log(nn.summary(model, [BATCH, 1, 28, 28]));
let params: nn.Params[] = model.init(random.key(0));
const steps = Math.floor(train.x.shape[0]! / BATCH) * EPOCHS;
const opt = optim.adam({ lr: optim.schedules.cosineDecay({ init: 3e-3, decaySteps: steps }) });
let state = opt.init(params);
const step = makeStep((p: nn.Params[], x: Tensor, y: Tensor) => nn.sparseSoftmaxCrossEntropy(model.apply(p, img(x)), y), opt);
const predict = jit((p: nn.Params[], x: Tensor) => argmax(model.apply(p, img(x)), { axis: -1 }));

[params, state] = trainEpochs(step, [params, state], [train.x, train.y], { epochs: EPOCHS, batch: BATCH, key: random.key(1), label: "loss", t0 });
// predict in chunks of 500 to bound memory
const preds: Tensor[] = [];
for (let i = 0; i < test.x.shape[0]!; i += 500) preds.push(predict(params, slice(test.x, [i, 0], [i + 500, 784])));
const acc = accuracy(concat(preds), test.y).itemSync();
console.log(`test accuracy ${(100 * acc).toFixed(2)}% on ${test.x.shape[0]} held-out digits; total ${since(t0)}`);
