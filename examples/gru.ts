/**
 * GRU counting: read a binary sequence of 12 bits and classify how many are ones (13 classes).
 * Always guessing the most common count (6) is right about 23% of the time.
 *   npm run example:gru
 */
import { argmax, astype, expandDims, jit, mean, equal, nn, optim, random, sum } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { makeStep, since } from "./common.js";

const T = 12;
const STEPS = Number(process.env.STEPS ?? 400);
const BATCH = 64;

function countingData(key: random.Key, n: number): { x: Tensor; y: Tensor } {
  const bits = astype(random.bernoulli(key, 0.5, [n, T]), "float32");
  return { x: expandDims(bits, -1), y: astype(sum(bits, { axis: 1 }), "int32") };
}

const t0 = performance.now();
const model = nn.sequential(nn.gru(1, 32), nn.dense(32, T + 1));
let params: nn.Params[] = model.init(random.key(0));
const opt = optim.adam({ lr: 1e-2 });
let state = opt.init(params);
const step = makeStep((p: nn.Params[], x: Tensor, y: Tensor) => nn.sparseSoftmaxCrossEntropy(model.apply(p, x), y), opt);
const test = countingData(random.key(99), 1000);
const acc = jit((p: nn.Params[], x: Tensor, y: Tensor) => mean(astype(equal(argmax(model.apply(p, x), { axis: -1 }), y), "float32")));

for (let i = 1; i <= STEPS; i++) {
  const { x, y } = countingData(random.foldIn(random.key(1), i), BATCH);
  const [l, p2, s2] = step(params, state, x, y);
  [params, state] = [p2, s2];
  if (i % 100 === 0) console.log(`step ${i}  loss ${l.itemSync().toFixed(4)}  test accuracy ${(100 * acc(params, test.x, test.y).itemSync()).toFixed(1)}%  (${since(t0)})`);
}
const final = acc(params, test.x, test.y).itemSync();
console.log(`counting ones in ${T} bits: test accuracy ${(100 * final).toFixed(1)}% (majority guess ≈ 23%); ${since(t0)}`);
