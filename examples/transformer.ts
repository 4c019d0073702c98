/**
 * A small transformer encoder learns to reverse sequences: input 8 tokens from a vocabulary of
 * 10, output at position i the token at position 7 - i. Embedding + sinusoidal positions + two
 * transformer blocks + a per-position classifier. Reports token accuracy on held-out sequences.
 *   npm run example:transformer
 */
import { argmax, astype, equal, flip, jit, mean, nn, optim, random } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { makeStep, since } from "./common.js";

const T = 8;
const VOCAB = 10;
const D = 32;
const STEPS = Number(process.env.STEPS ?? 400);
const BATCH = 64;

function reversalData(key: random.Key, n: number): { x: Tensor; y: Tensor } {
  const x = random.randint(key, [n, T], 0, VOCAB);
  return { x, y: flip(x, { axis: 1 }) };
}

const t0 = performance.now();
const model = nn.sequential(
  nn.embedding(VOCAB, D),
  nn.positionalEncoding(T, D),
  nn.transformerBlock(D, 4, 64),
  nn.transformerBlock(D, 4, 64),
  nn.layerNorm(D),
  nn.dense(D, VOCAB),
);
console.log(nn.summary(model, [BATCH, T]));
let params: nn.Params[] = model.init(random.key(0));
const opt = optim.adam({ lr: optim.schedules.warmupCosine({ init: 0, peak: 3e-3, warmupSteps: Math.min(50, STEPS / 4), decaySteps: STEPS }) });
let state = opt.init(params);
const step = makeStep((p: nn.Params[], x: Tensor, y: Tensor) => nn.sparseSoftmaxCrossEntropy(model.apply(p, x), y), opt);
const test = reversalData(random.key(99), 500);
const acc = jit((p: nn.Params[], x: Tensor, y: Tensor) => mean(astype(equal(argmax(model.apply(p, x), { axis: -1 }), y), "float32")));

for (let i = 1; i <= STEPS; i++) {
  const { x, y } = reversalData(random.foldIn(random.key(1), i), BATCH);
  const [l, p2, s2] = step(params, state, x, y);
  [params, state] = [p2, s2];
  if (i % 50 === 0) console.log(`step ${i}  loss ${l.itemSync().toFixed(4)}  test token accuracy ${(100 * acc(params, test.x, test.y).itemSync()).toFixed(1)}%  (${since(t0)})`);
}
const final = acc(params, test.x, test.y).itemSync();
console.log(`sequence reversal (length ${T}, vocab ${VOCAB}): test token accuracy ${(100 * final).toFixed(1)}% (chance 10%); ${since(t0)}`);
