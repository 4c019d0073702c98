/**
 * The perceptron: a single unit with a step activation, trained with Rosenblatt's rule
 * `w += lr * (y - step(w·x + b)) * x` on linearly separable 2-D points, until every point is right.
 *   npm run example:perceptron
 */
import { add, astype, equal, greater, matmul, matrixTranspose, mean, multiply, nn, random, subtract, sum, tensor } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { since } from "./common.js";

const t0 = performance.now();
const n = 200;
const x = random.uniform(random.key(0), [n, 2], { minval: -1, maxval: 1 });
// the true boundary: 2·x0 - x1 + 0.3 > 0
const score = add(matmul(x, tensor([[2], [-1]])), 0.3);
const y = astype(greater(score, 0), "float32"); // [n, 1]

let w = tensor([[0], [0]]);
let b = tensor(0);
const predict = (xx: Tensor): Tensor => nn.step(add(matmul(xx, w), b));
let epoch = 0;
for (; epoch < 100; epoch++) {
  const err = subtract(y, predict(x)); // [n, 1] in {-1, 0, 1}
  const mistakes = sum(astype(greater(multiply(err, err), 0), "float32")).itemSync();
  if (mistakes === 0) break;
  // batch perceptron rule
  w = add(w, multiply(0.1, matmul(matrixTranspose(x), err)));
  b = add(b, multiply(0.1, sum(err)));
}
const acc = mean(astype(equal(predict(x), y), "float32")).itemSync();
console.log(`perceptron: ${(acc * 100).toFixed(1)}% of ${n} points right after ${epoch} epochs; w = ${JSON.stringify(w.arraySync())}, b = ${b.itemSync().toFixed(3)} (${since(t0)})`);
