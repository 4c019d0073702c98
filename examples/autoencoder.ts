/**
 * An MNIST autoencoder: 784-256-32-256-784 (ReLU, sigmoid output), compressing each digit to a
 * 32-number code, trained with `fit` and validated on the held-out digits. Reports the test
 * reconstruction MSE (beside the MSE of predicting the mean image) and writes
 * examples/out/autoencoder.svg (the loss curves) and examples/out/autoencoder-digits.svg
 * (originals above reconstructions).
 *   npm run example:autoencoder
 */
import { mean, nn, optim, slice, square, subtract } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { evaluate, fit, loadMnist, predict } from "../src/train/index.js";
import type { ExampleOptions, ExampleResult } from "./common.js";
import { checkpoints, epochsOf, imageGrid, isMain, outDir, say, since, writeOut, writePlot } from "./common.js";

const BATCH = 100;

export async function main(o: ExampleOptions = {}): Promise<ExampleResult> {
  const t0 = performance.now();
  const { train: all, test } = loadMnist();
  const n = o.samples ?? all.x.shape[0]!;
  const train = { x: slice(all.x, [0, 0], [n, 784]) };
  const encoder = nn.sequential(nn.dense(784, 256), nn.relu, nn.dense(256, 32));
  const decoder = nn.sequential(nn.dense(32, 256), nn.relu, nn.dense(256, 784), nn.sigmoid);
  const model = nn.sequential(encoder, decoder);
  const loss = (p: nn.Params[], b: { x: Tensor }): Tensor => nn.mse(model.apply(p, b.x), b.x);
  const { params, history } = await fit({
    init: model.init,
    loss,
    optimizer: optim.adam({ lr: 2e-3 }),
    data: train,
    validation: { x: test.x },
    epochs: epochsOf(o, 10),
    batchSize: BATCH,
    key: 1,
    ...(o.verbose !== undefined ? { verbose: o.verbose } : {}),
    callbacks: [checkpoints(o, "autoencoder")],
  });
  const testMse = (await evaluate(params, loss, { x: test.x })).loss!;
  const baseline = mean(square(subtract(test.x, mean(train.x, { axis: 0 })))).itemSync();
  const k = 10;
  const orig = slice(test.x, [0, 0], [k, 784]);
  const rec = predict((p: nn.Params[], x: Tensor) => model.apply(p, x), params, orig);
  const pick = (a: Float32Array): Float32Array[] => Array.from({ length: k }, (_, i) => a.slice(i * 784, (i + 1) * 784));
  const digits = `${outDir(o)}/autoencoder-digits.svg`;
  writeOut(
    digits,
    imageGrid(`top: test digits; bottom: reconstructions from 32 numbers (test MSE ${testMse.toFixed(4)})`, [
      pick(orig.dataSync() as Float32Array),
      pick(rec.dataSync() as Float32Array),
    ]),
  );
  const plot = writePlot(o, "autoencoder", history, { title: "autoencoder: reconstruction MSE", logY: true });
  say(
    o,
    `32-number code: test reconstruction mse ${testMse.toFixed(4)} (predicting the mean image: ${baseline.toFixed(4)}); wrote ${plot}, ${digits}; ${since(t0)}`,
  );
  return { history, value: testMse, metric: "test mse", files: [plot, digits] };
}

if (isMain(import.meta.url)) await main();
