/**
 * LSTM on the adding problem (Hochreiter & Schmidhuber, 1997): each step carries a random value
 * in [0, 1] and a marker; exactly two steps are marked, and the target is the sum of their
 * values. Always predicting the mean (1.0) gives MSE ≈ 0.167; the LSTM must find and add the
 * marked values across the sequence. Trained with `fit` on a `Dataset` that generates fresh
 * batches each epoch; validated on 1,000 fixed sequences. Writes examples/out/lstm.svg.
 *   npm run example:lstm
 */
import { concat, expandDims, mean, multiply, nn, optim, random, square, squeeze, subtract, sum, tensor } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { Dataset, evaluate, fit } from "../src/train/index.js";
import type { ExampleOptions, ExampleResult } from "./common.js";
import { checkpoints, epochsOf, isMain, say, since, stepsOf, writePlot } from "./common.js";

const T = 20;
const BATCH = 64;

/** `[n, T, 2]` inputs (value, marker) and `[n]` targets. */
function addingData(key: random.Key, n: number): { x: Tensor; y: Tensor } {
  const [kv, km] = random.split(key, 2);
  const values = random.uniform(kv!, [n, T]);
  // two distinct marked positions per row: one in each half
  const u = random.uniform(km!, [n, 2]).dataSync();
  const marks = new Float32Array(n * T);
  for (let i = 0; i < n; i++) {
    marks[i * T + Math.floor(u[2 * i]! * (T / 2))] = 1;
    marks[i * T + T / 2 + Math.floor(u[2 * i + 1]! * (T / 2))] = 1;
  }
  const markT = tensor(marks, { shape: [n, T] });
  const x = concat([expandDims(values, -1), expandDims(markT, -1)], { axis: -1 });
  return { x, y: sum(multiply(values, markT), { axis: 1 }) };
}

export async function main(o: ExampleOptions = {}): Promise<ExampleResult> {
  const t0 = performance.now();
  const [epochs, steps] = [epochsOf(o, 6), stepsOf(o, 100)];
  const model = nn.sequential(nn.lstm(2, 32), nn.dense(32, 1));
  const predict = (p: nn.Params[], x: Tensor): Tensor => squeeze(model.apply(p, x), { axis: -1 });
  const loss = (p: nn.Params[], b: { x: Tensor; y: Tensor }): Tensor => nn.mse(predict(p, b.x), b.y);
  const data = Dataset.fromIterable(function* (epoch: number) {
    for (let i = 0; i < steps; i++) yield addingData(random.foldIn(random.key(1), epoch * steps + i), BATCH);
  });
  const test = addingData(random.key(99), 1000);
  const { params, history } = await fit({
    init: model.init,
    loss,
    optimizer: optim.chain(optim.clipByGlobalNorm(1), optim.adam({ lr: 5e-3 })),
    data,
    validation: test,
    epochs,
    key: 0,
    ...(o.verbose !== undefined ? { verbose: o.verbose } : {}),
    callbacks: [checkpoints(o, "lstm")],
  });
  const final = (await evaluate(params, loss, test)).loss!;
  const baseline = mean(square(subtract(test.y, 1))).itemSync();
  const plot = writePlot(o, "lstm", history, { title: "LSTM adding problem: MSE", logY: true });
  say(
    o,
    `adding problem (T=${T}): test mse ${final.toFixed(4)} vs ${baseline.toFixed(4)} for always predicting 1.0 (${(baseline / final).toFixed(1)}x better); wrote ${plot}; ${since(t0)}`,
  );
  return { history, value: final, metric: "test mse", files: [plot] };
}

if (isMain(import.meta.url)) await main();
