/**
 * Overfitting and regularization: a wide MLP (784-256-256-10) trained with `fit` on only 500
 * MNIST digits memorizes them, and its validation loss turns up. The same model with an L2
 * weight penalty and dropout keeps the validation loss lower; `earlyStopping` with
 * `restoreBest` would keep the best epoch of the plain run. Writes examples/out/overfitting.svg
 * (train and validation loss per epoch, both runs).
 *   npm run example:overfitting
 */
import { add, multiply, nn, optim, slice } from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { accuracy } from "../src/metrics/index.js";
import type { History } from "../src/train/index.js";
import { fit, loadMnist } from "../src/train/index.js";
import type { ExampleOptions, ExampleResult } from "./common.js";
import { checkpoints, epochsOf, isMain, say, since, writePlot } from "./common.js";

const BATCH = 50;

export async function main(o: ExampleOptions = {}): Promise<ExampleResult> {
  const t0 = performance.now();
  const N = o.samples ?? 500;
  const epochs = epochsOf(o, 60);
  const { train: all, test: val } = loadMnist();
  const train = { x: slice(all.x, [0, 0], [N, 784]), y: slice(all.y, [0], [N]) };
  const run = async (label: string, rate: number, l2: number): Promise<{ history: History; acc: number }> => {
    const model = nn.sequential(nn.dense(784, 256), nn.relu, nn.dropout(rate), nn.dense(256, 256), nn.relu, nn.dropout(rate), nn.dense(256, 10));
    const r = await fit({
      init: model.init,
      loss: (p: nn.Params[], b: { x: Tensor; y: Tensor }, ctx) => {
        const logits = model.apply(p, b.x, { training: ctx.training, key: ctx.key });
        const data = nn.sparseSoftmaxCrossEntropy(logits, b.y);
        const total = ctx.training && l2 > 0 ? add(data, multiply(l2, nn.l2(p))) : data;
        return [total, { accuracy: accuracy(logits, b.y) }] as const;
      },
      optimizer: optim.adam({ lr: 1e-3 }),
      data: train,
      validation: val,
      epochs,
      batchSize: BATCH,
      key: 1,
      ...(o.verbose !== undefined ? { verbose: o.verbose } : {}),
      callbacks: [checkpoints(o, `overfitting-${label}`)],
    });
    return { history: r.history, acc: r.history.valAccuracy!.at(-1)! };
  };
  const plain = await run("plain", 0, 0);
  const reg = await run("regularized", 0.5, 1e-3);
  const curves = {
    "plain: train": plain.history.loss,
    "plain: validation": plain.history.valLoss,
    "L2 + dropout: train": reg.history.loss,
    "L2 + dropout: validation": reg.history.valLoss,
  };
  const plot = writePlot(o, "overfitting", curves, { title: `MLP on ${N} digits: cross-entropy per epoch (log scale)`, logY: true });
  const minAt = (a: readonly number[]): string => `${Math.min(...a).toFixed(3)} @ epoch ${a.indexOf(Math.min(...a)) + 1}`;
  say(
    o,
    `plain:        final train ${plain.history.loss.at(-1)!.toFixed(4)}, val ${plain.history.valLoss.at(-1)!.toFixed(3)} (min ${minAt(plain.history.valLoss)}), val accuracy ${(100 * plain.acc).toFixed(1)}%`,
  );
  say(
    o,
    `L2 + dropout: final train ${reg.history.loss.at(-1)!.toFixed(4)}, val ${reg.history.valLoss.at(-1)!.toFixed(3)} (min ${minAt(reg.history.valLoss)}), val accuracy ${(100 * reg.acc).toFixed(1)}%`,
  );
  say(o, `wrote ${plot}; ${since(t0)}`);
  return {
    history: plain.history,
    value: reg.history.valLoss.at(-1)! - plain.history.valLoss.at(-1)!,
    metric: "val loss gap (regularized - plain)",
    files: [plot],
  };
}

if (isMain(import.meta.url)) await main();
