/**
 * Overfitting and regularization: a wide MLP (784-256-256-10) trained on only 500 MNIST digits
 * memorizes them, and its validation loss turns up. The same model with L2 weight penalty and
 * dropout keeps validation loss lower. Writes examples/out/overfitting.svg (train and validation
 * loss per epoch, both runs).
 *   npm run example:overfitting
 */
import { add, jit, multiply, nn, optim, random, slice } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { accuracy } from "../src/metrics/index.js";
import { batchIndices, linePlot, makeStep, rows, since, writeOut } from "./common.js";
import { loadMnist } from "./mnist-data.js";

const EPOCHS = Number(process.env.EPOCHS ?? 60);
const N = 500;
const BATCH = 50;
const t0 = performance.now();
const { train: all, test: val } = loadMnist();
const train = { x: slice(all.x, [0, 0], [N, 784]), y: slice(all.y, [0], [N]) };

function run(label: string, rate: number, l2: number): { train: number[]; val: number[]; acc: number } {
  const model = nn.sequential(nn.dense(784, 256), nn.relu, nn.dropout(rate), nn.dense(256, 256), nn.relu, nn.dropout(rate), nn.dense(256, 10));
  let params: nn.Params[] = model.init(random.key(0));
  const opt = optim.adam({ lr: 1e-3 });
  let state = opt.init(params);
  const step = makeStep((p: nn.Params[], x: Tensor, y: Tensor, k: Tensor) => {
    const data = nn.sparseSoftmaxCrossEntropy(model.apply(p, x, { training: true, key: k }), y);
    return l2 > 0 ? add(data, multiply(l2, nn.l2(p))) : data;
  }, opt);
  const evalLoss = jit((p: nn.Params[], x: Tensor, y: Tensor) => nn.sparseSoftmaxCrossEntropy(model.apply(p, x), y));
  const hist = { train: [] as number[], val: [] as number[] };
  let key = random.key(1);
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    const [k, kd, next] = random.split(key, 3);
    key = next!;
    batchIndices(k!, N, BATCH).forEach((idx, i) => {
      const [, p2, s2] = step(params, state, rows(train.x, idx), rows(train.y, idx), random.foldIn(kd!, i));
      [params, state] = [p2, s2];
    });
    hist.train.push(evalLoss(params, train.x, train.y).itemSync());
    hist.val.push(evalLoss(params, val.x, val.y).itemSync());
    if (epoch % 10 === 0) console.log(`${label} epoch ${epoch}: train loss ${hist.train.at(-1)!.toFixed(4)}, val loss ${hist.val.at(-1)!.toFixed(4)}  (${since(t0)})`);
  }
  const acc = accuracy(model.apply(params, val.x), val.y).itemSync();
  return { ...hist, acc };
}

const plain = run("plain", 0, 0);
const reg = run("L2 + dropout", 0.5, 1e-3);
writeOut(
  "examples/out/overfitting.svg",
  linePlot(`MLP on ${N} digits: cross-entropy per epoch (log scale)`, {
    "plain: train": plain.train,
    "plain: validation": plain.val,
    "L2 1e-3 + dropout 0.5: train": reg.train,
    "L2 1e-3 + dropout 0.5: validation": reg.val,
  }, { logY: true }),
);
const minAt = (a: number[]): string => `${Math.min(...a).toFixed(3)} @ epoch ${a.indexOf(Math.min(...a)) + 1}`;
console.log(`plain:        final train ${plain.train.at(-1)!.toFixed(4)}, val ${plain.val.at(-1)!.toFixed(3)} (min ${minAt(plain.val)}), val accuracy ${(100 * plain.acc).toFixed(1)}%`);
console.log(`L2 + dropout: final train ${reg.train.at(-1)!.toFixed(4)}, val ${reg.val.at(-1)!.toFixed(3)} (min ${minAt(reg.val)}), val accuracy ${(100 * reg.acc).toFixed(1)}%`);
console.log(`wrote examples/out/overfitting.svg; ${since(t0)}`);
