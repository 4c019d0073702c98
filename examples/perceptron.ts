/**
 * The perceptron: a single linear unit with a step activation, trained with `fit` on the
 * perceptron criterion `mean(relu(-s·(w·x + b)))` (s = ±1), whose gradient step is Rosenblatt's
 * rule on the misclassified points, on linearly separable 2-D points. Writes
 * examples/out/perceptron.svg.
 *   npm run example:perceptron
 */
import { add, astype, equal, greater, matmul, maximum, mean, multiply, negative, nn, random, subtract, tensor, zeros } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { optim } from "../src/index.js";
import { fit } from "../src/train/index.js";
import type { ExampleOptions, ExampleResult } from "./common.js";
import { checkpoints, epochsOf, isMain, say, since, writePlot } from "./common.js";

type P = { w: Tensor; b: Tensor };

export async function main(o: ExampleOptions = {}): Promise<ExampleResult> {
  const t0 = performance.now();
  const n = 200;
  const x = random.uniform(random.key(0), [n, 2], { minval: -1, maxval: 1 });
  // the true boundary: 2·x0 - x1 + 0.3 > 0
  const y = astype(greater(add(matmul(x, tensor([[2], [-1]])), 0.3), 0), "float32");
  const predict = (p: P, xx: Tensor): Tensor => nn.step(add(matmul(xx, p.w), p.b));
  const loss = (p: P, b: { x: Tensor; y: Tensor }) => {
    const sign = subtract(multiply(b.y, 2), 1);
    const criterion = mean(maximum(negative(multiply(sign, add(matmul(b.x, p.w), p.b))), 0));
    return [criterion, { accuracy: mean(astype(equal(predict(p, b.x), b.y), "float32")) }] as const;
  };
  const data = { x, y };
  const { params, history } = await fit({
    init: { w: zeros([2, 1]), b: zeros([]) },
    loss,
    optimizer: optim.sgd({ lr: 1 }),
    data,
    epochs: epochsOf(o, 30),
    batchSize: 20,
    key: 1,
    ...(o.verbose !== undefined ? { verbose: o.verbose } : {}),
    callbacks: [checkpoints(o, "perceptron", "accuracy")],
  });
  const acc = mean(astype(equal(predict(params, x), y), "float32")).itemSync();
  const plot = writePlot(o, "perceptron", history, { title: "perceptron: criterion and accuracy" });
  say(
    o,
    `perceptron: ${(acc * 100).toFixed(1)}% of ${n} points right after ${history.loss.length} epochs; w = ${JSON.stringify(params.w.arraySync())}, b = ${params.b.itemSync().toFixed(3)}; wrote ${plot} (${since(t0)})`,
  );
  return { history, value: acc, metric: "accuracy", files: [plot] };
}

if (isMain(import.meta.url)) await main();
