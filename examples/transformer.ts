/**
 * A small transformer encoder learns to reverse sequences: input 8 tokens from a vocabulary of
 * 10, output at position i the token at position 7 - i. Embedding + sinusoidal positions + two
 * transformer blocks + a per-position classifier, trained with `fit` on generated batches and
 * validated on 500 held-out sequences (token accuracy). Writes examples/out/transformer.svg.
 *   npm run example:transformer
 */
import { argmax, astype, equal, flip, mean, nn, optim, random } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { Dataset, fit } from "../src/train/index.js";
import type { ExampleOptions, ExampleResult } from "./common.js";
import { checkpoints, epochsOf, isMain, say, since, stepsOf, writePlot } from "./common.js";

const T = 8;
const VOCAB = 10;
const D = 32;
const BATCH = 64;

function reversalData(key: random.Key, n: number): { x: Tensor; y: Tensor } {
  const x = random.randint(key, [n, T], 0, VOCAB);
  return { x, y: flip(x, { axis: 1 }) };
}

export async function main(o: ExampleOptions = {}): Promise<ExampleResult> {
  const t0 = performance.now();
  const [epochs, steps] = [epochsOf(o, 4), stepsOf(o, 100)];
  const total = epochs * steps;
  const model = nn.sequential(
    nn.embedding(VOCAB, D),
    nn.positionalEncoding(T, D),
    nn.transformerBlock(D, 4, 64),
    nn.transformerBlock(D, 4, 64),
    nn.layerNorm(D),
    nn.dense(D, VOCAB),
  );
  say(o, nn.summary(model, [BATCH, T]));
  const data = Dataset.fromIterable(function* (epoch: number) {
    for (let i = 0; i < steps; i++) yield reversalData(random.foldIn(random.key(1), epoch * steps + i), BATCH);
  });
  const { history } = await fit({
    init: model.init,
    loss: (p: nn.Params[], b: { x: Tensor; y: Tensor }) => {
      const logits = model.apply(p, b.x);
      return [nn.sparseSoftmaxCrossEntropy(logits, b.y), { accuracy: mean(astype(equal(argmax(logits, { axis: -1 }), b.y), "float32")) }] as const;
    },
    optimizer: optim.adam({ lr: optim.schedules.warmupCosine({ init: 0, peak: 3e-3, warmupSteps: Math.min(50, total / 4), decaySteps: total }) }),
    data,
    validation: reversalData(random.key(99), 500),
    epochs,
    key: 0,
    ...(o.verbose !== undefined ? { verbose: o.verbose } : {}),
    callbacks: [checkpoints(o, "transformer", "valAccuracy")],
  });
  const acc = history.valAccuracy!.at(-1)!;
  const plot = writePlot(o, "transformer", history, { title: "transformer, sequence reversal: loss and token accuracy" });
  say(o, `sequence reversal (length ${T}, vocab ${VOCAB}): test token accuracy ${(100 * acc).toFixed(1)}% (chance 10%); wrote ${plot}; ${since(t0)}`);
  return { history, value: acc, metric: "test token accuracy", files: [plot] };
}

if (isMain(import.meta.url)) await main();
