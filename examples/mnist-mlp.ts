/**
 * The README demo: a 784-128-10 MLP trained with Adam on the MNIST sample shipped in the `mnist`
 * package (8,000 train / 2,000 test), on the default CPU backend. Prints loss per epoch and test
 * accuracy.
 */
import { add, argmax, astype, divide, equal, exp, expandDims, grad, jit, logsumexp, matmul, maximum, mean, multiply, random, sqrt, subtract, take, takeAlongAxis, tensor, tree } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { loadMnist } from "./mnist-data.js";

type Params = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };

const t0 = performance.now();
const { train, test } = loadMnist();
const [k1, k2] = random.split(random.key(0));
const he = (k: Tensor, fanIn: number, shape: number[]): Tensor => multiply(random.normal(k, shape), Math.sqrt(2 / fanIn));
let params: Params = { w1: he(k1!, 784, [784, 128]), b1: tensor(new Float32Array(128)), w2: he(k2!, 128, [128, 10]), b2: tensor(new Float32Array(10)) };

const logits = (p: Params, x: Tensor): Tensor => add(matmul(maximum(add(matmul(x, p.w1), p.b1), 0), p.w2), p.b2);
const loss = (p: Params, x: Tensor, y: Tensor): Tensor => {
  const z = logits(p, x);
  const picked = takeAlongAxis(z, expandDims(y, 1), { axis: 1 });
  return mean(subtract(logsumexp(z, { axis: 1, keepdims: true }), picked));
};

// Adam, written out (the optim module provides it as optim.adam)
const lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
const step = jit((p: Params, m: Params, v: Params, t: Tensor, x: Tensor, y: Tensor) => {
  const g = grad(loss)(p, x, y) as Params;
  const m2 = tree.map((mi: Tensor, gi: Tensor) => add(multiply(mi, b1), multiply(gi, 1 - b1)), m, g) as Params;
  const v2 = tree.map((vi: Tensor, gi: Tensor) => add(multiply(vi, b2), multiply(multiply(gi, gi), 1 - b2)), v, g) as Params;
  const c1 = subtract(1, powT(b1, t));
  const c2 = subtract(1, powT(b2, t));
  const p2 = tree.map((pi: Tensor, mi: Tensor, vi: Tensor) => subtract(pi, divide(multiply(lr, divide(mi, c1)), add(sqrt(divide(vi, c2)), eps))), p, m2, v2) as Params;
  return [p2, m2, v2, loss(p, x, y)] as const;
});
/** base ** t for a scalar tensor t (bias correction of Adam). */
function powT(base: number, t: Tensor): Tensor {
  return exp(multiply(t, Math.log(base)));
}

let m = tree.map((p: Tensor) => multiply(p, 0), params) as Params;
let v = tree.map((p: Tensor) => multiply(p, 0), params) as Params;
const n = train.x.shape[0]!;
const batch = 128;
const epochs = Number(process.env.EPOCHS ?? 5);
let t = 0;
let key = random.key(1);
for (let epoch = 1; epoch <= epochs; epoch++) {
  const [kp, knext] = random.split(key);
  key = knext!;
  const perm = random.permutation(kp!, n);
  let total = 0;
  let count = 0;
  for (let i = 0; i + batch <= n; i += batch) {
    const idx = perm.dataSync().subarray(i, i + batch);
    const ix = tensor(new Int32Array(idx), { shape: [batch], dtype: "int32" });
    t++;
    const [p2, m2, v2, l] = step(params, m, v, tensor(t), take(train.x, ix, { axis: 0 }), take(train.y, ix, { axis: 0 }));
    params = p2; m = m2; v = v2;
    total += l.itemSync();
    count++;
  }
  console.log(`epoch ${epoch}: train loss ${(total / count).toFixed(4)}`);
}
const pred = argmax(logits(params, test.x), { axis: 1 });
const acc = mean(astype(equal(pred, test.y), "float32")).itemSync();
console.log(`test accuracy: ${(acc * 100).toFixed(2)}% on ${test.x.shape[0]} held-out digits (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
