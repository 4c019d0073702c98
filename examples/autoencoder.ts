/**
 * An MNIST autoencoder: 784-256-32-256-784 (ReLU, sigmoid output), compressing each digit to a
 * 32-number code. Reports the test reconstruction MSE (beside the MSE of predicting the mean
 * image) and writes examples/out/autoencoder.svg: originals above reconstructions.
 *   npm run example:autoencoder
 */
import { jit, mean, nn, optim, random, slice, square, subtract } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { imageGrid, makeStep, since, trainEpochs, writeOut } from "./common.js";
import { loadMnist } from "./mnist-data.js";

const EPOCHS = Number(process.env.EPOCHS ?? 10);
const BATCH = 100;
const t0 = performance.now();
const { train, test } = loadMnist();

const encoder = nn.sequential(nn.dense(784, 256), nn.relu, nn.dense(256, 32));
const decoder = nn.sequential(nn.dense(32, 256), nn.relu, nn.dense(256, 784), nn.sigmoid);
const model = nn.sequential(encoder, decoder);
let params: nn.Params[] = model.init(random.key(0));
const opt = optim.adam({ lr: 2e-3 });
let state = opt.init(params);
const step = makeStep((p: nn.Params[], x: Tensor) => nn.mse(model.apply(p, x), x), opt);
const reconstruct = jit((p: nn.Params[], x: Tensor) => model.apply(p, x));

[params, state] = trainEpochs(step, [params, state], [train.x], { epochs: EPOCHS, batch: BATCH, key: random.key(1), label: "train mse", t0 });
const recon = reconstruct(params, test.x);
const testMse = nn.mse(recon, test.x).itemSync();
const baseline = mean(square(subtract(test.x, mean(train.x, { axis: 0 })))).itemSync();
const n = 10;
const orig = slice(test.x, [0, 0], [n, 784]).dataSync() as Float32Array;
const rec = slice(recon, [0, 0], [n, 784]).dataSync() as Float32Array;
const pick = (a: Float32Array): Float32Array[] => Array.from({ length: n }, (_, i) => a.slice(i * 784, (i + 1) * 784));
writeOut("examples/out/autoencoder.svg", imageGrid(`top: test digits; bottom: reconstructions from 32 numbers (test MSE ${testMse.toFixed(4)})`, [pick(orig), pick(rec)]));
console.log(`32-number code: test reconstruction mse ${testMse.toFixed(4)} (predicting the mean image: ${baseline.toFixed(4)}); wrote examples/out/autoencoder.svg; ${since(t0)}`);
