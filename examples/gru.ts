/**
 * GRU counting: read a binary sequence of 12 bits and classify how many are ones (13 classes).
 * Always guessing the most common count (6) is right about 23% of the time. Trained with `fit`
 * on a `Dataset` of freshly generated batches, validated on 1,000 fixed sequences. Writes
 * examples/out/gru.svg.
 *   npm run example:gru
 */
import { argmax, astype, equal, expandDims, mean, nn, optim, random, sum } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { Dataset, fit } from "../src/train/index.js";
import type { ExampleOptions, ExampleResult } from "./common.js";
import { checkpoints, epochsOf, isMain, say, since, stepsOf, writePlot } from "./common.js";

const T = 12;
const BATCH = 64;

function countingData(key: random.Key, n: number): { x: Tensor; y: Tensor } {
  const bits = astype(random.bernoulli(key, 0.5, [n, T]), "float32");
  return { x: expandDims(bits, -1), y: astype(sum(bits, { axis: 1 }), "int32") };
}

export async function main(o: ExampleOptions = {}): Promise<ExampleResult> {
  const t0 = performance.now();
  const [epochs, steps] = [epochsOf(o, 4), stepsOf(o, 100)];
  const model = nn.sequential(nn.gru(1, 32), nn.dense(32, T + 1));
  const data = Dataset.fromIterable(function* (epoch: number) {
    for (let i = 0; i < steps; i++) yield countingData(random.foldIn(random.key(1), epoch * steps + i), BATCH);
  });
  const { history } = await fit({
    init: model.init,
    loss: (p: nn.Params[], b: { x: Tensor; y: Tensor }) => {
      const logits = model.apply(p, b.x);
      return [nn.sparseSoftmaxCrossEntropy(logits, b.y), { accuracy: mean(astype(equal(argmax(logits, { axis: -1 }), b.y), "float32")) }] as const;
    },
    optimizer: optim.adam({ lr: 1e-2 }),
    data,
    validation: countingData(random.key(99), 1000),
    epochs,
    key: 0,
    ...(o.verbose !== undefined ? { verbose: o.verbose } : {}),
    callbacks: [checkpoints(o, "gru", "valAccuracy")],
  });
  const acc = history.valAccuracy!.at(-1)!;
  const plot = writePlot(o, "gru", history, { title: "GRU counting ones: loss and accuracy" });
  say(o, `counting ones in ${T} bits: test accuracy ${(100 * acc).toFixed(1)}% (majority guess ≈ 23%); wrote ${plot}; ${since(t0)}`);
  return { history, value: acc, metric: "test accuracy", files: [plot] };
}

if (isMain(import.meta.url)) await main();
