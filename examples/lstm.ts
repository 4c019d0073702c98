/**
 * LSTM on the adding problem (Hochreiter & Schmidhuber, 1997): each step carries a random value
 * in [0, 1] and a marker; exactly two steps are marked, and the target is the sum of their
 * values. Always predicting the mean (1.0) gives MSE ≈ 0.167; the LSTM must find and add the
 * marked values across the sequence.
 *   npm run example:lstm
 */
import { concat, expandDims, jit, mean, nn, optim, random, square, subtract, sum, multiply, squeeze, tensor } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { makeStep, since } from "./common.js";

const T = 20;
const STEPS = Number(process.env.STEPS ?? 600);
const BATCH = 64;

/** `[n, T, 2]` inputs (value, marker) and `[n]` targets. */
function addingData(key: random.Key, n: number): { x: Tensor; y: Tensor } {
  const [kv, km] = random.split(key, 2);
  const values = random.uniform(kv!, [n, T]);
  // two distinct marked positions per row: one in each half
  const u = random.uniform(km!, [n, 2]).dataSync() as Float32Array;
  const marks = new Float32Array(n * T);
  for (let i = 0; i < n; i++) {
    marks[i * T + Math.floor(u[2 * i]! * (T / 2))] = 1;
    marks[i * T + T / 2 + Math.floor(u[2 * i + 1]! * (T / 2))] = 1;
  }
  const markT = tensor(marks, { shape: [n, T] });
  const x = concat([expandDims(values, -1), expandDims(markT, -1)], { axis: -1 });
  return { x, y: sum(multiply(values, markT), { axis: 1 }) };
}

const t0 = performance.now();
const model = nn.sequential(nn.lstm(2, 32), nn.dense(32, 1));
let params: nn.Params[] = model.init(random.key(0));
const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adam({ lr: 5e-3 }));
let state = opt.init(params);
const predict = (p: nn.Params[], x: Tensor): Tensor => squeeze(model.apply(p, x), { axis: -1 });
const step = makeStep((p: nn.Params[], x: Tensor, y: Tensor) => nn.mse(predict(p, x), y), opt);
const test = addingData(random.key(99), 1000);
const evalMse = jit((p: nn.Params[], x: Tensor, y: Tensor) => mean(square(subtract(predict(p, x), y))));

for (let i = 1; i <= STEPS; i++) {
  const { x, y } = addingData(random.foldIn(random.key(1), i), BATCH);
  const [l, p2, s2] = step(params, state, x, y);
  [params, state] = [p2, s2];
  if (i % 100 === 0) console.log(`step ${i}  train mse ${l.itemSync().toFixed(4)}  test mse ${evalMse(params, test.x, test.y).itemSync().toFixed(4)}  (${since(t0)})`);
}
const final = evalMse(params, test.x, test.y).itemSync();
const baseline = mean(square(subtract(test.y, 1))).itemSync();
console.log(`adding problem (T=${T}): test mse ${final.toFixed(4)} vs ${baseline.toFixed(4)} for always predicting 1.0 (${(baseline / final).toFixed(1)}x better); ${since(t0)}`);
