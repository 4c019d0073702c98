/**
 * Universal approximation, small: a 2-8-1 tanh MLP learns XOR, and a 1-32-1 tanh MLP fits
 * sin(x) on [-π, π]. Both train full-batch with Adam in a jitted step.
 *   npm run example:xor
 */
import { abs, astype, equal, greater, linspace, max, mean, nn, optim, random, reshape, sin, subtract, tensor } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { makeStep, since } from "./common.js";

const t0 = performance.now();

// XOR
const xor = nn.sequential(nn.dense(2, 8), nn.tanh, nn.dense(8, 1));
const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = tensor([[0], [1], [1], [0]]);
let p: nn.Params[] = xor.init(random.key(0));
const opt = optim.adam({ lr: 0.05 });
let s = opt.init(p);
const step = makeStep((pp: nn.Params[], xb: Tensor, yb: Tensor) => nn.binaryCrossEntropyWithLogits(xor.apply(pp, xb), yb), opt);
let loss = 0;
for (let i = 0; i < 300; i++) {
  const [l, p2, s2] = step(p, s, x, y);
  [p, s] = [p2, s2];
  loss = l.itemSync();
}
const probs = nn.sigmoid(xor.apply(p, x));
const acc = mean(astype(equal(astype(greater(probs, 0.5), "float32"), y), "float32")).itemSync();
console.log(`xor: loss ${loss.toFixed(5)}, accuracy ${acc * 100}%, p(1) = ${Array.from(probs.dataSync() as Float32Array, (v) => v.toFixed(3)).join(", ")}`);

// sine fit
const xs = reshape(linspace(-Math.PI, Math.PI, 128), [128, 1]);
const ys = sin(xs);
const mlp = nn.sequential(nn.dense(1, 32), nn.tanh, nn.dense(32, 1));
let q: nn.Params[] = mlp.init(random.key(1));
const opt2 = optim.adam({ lr: 0.01 });
let s2 = opt2.init(q);
const step2 = makeStep((pp: nn.Params[], xb: Tensor, yb: Tensor) => nn.mse(mlp.apply(pp, xb), yb), opt2);
let mse = 0;
for (let i = 0; i < 1500; i++) {
  const [l, q2, t2] = step2(q, s2, xs, ys);
  [q, s2] = [q2, t2];
  if (i % 500 === 0 || i === 1499) {
    mse = l.itemSync();
    console.log(`sine step ${i}: mse ${mse.toExponential(2)}`);
  }
}
const maxErr = max(abs(subtract(mlp.apply(q, xs), ys))).itemSync();
console.log(`sine: mse ${mse.toExponential(2)}, max |error| ${maxErr.toFixed(4)} on [-π, π] (${since(t0)})`);
