/**
 * `fit` (the training loop of loop.ts, run by drive.ts on any backend), `fitAsync` (its old
 * promise-only name), and batched `evaluate` and `predict`.
 */
import { Tensor } from "../core/tensor.js";
import * as tree from "../core/tree.js";
import { tensor } from "../ops/creation.js";
import { concat, take } from "../ops/shape.js";
import { jit } from "../transforms/jit.js";
import type { Key } from "../random/index.js";
import { key as makeKey } from "../random/index.js";
import { batchCount, numSamples } from "./batches.js";
import { Dataset } from "./dataset.js";
import type { Loop, Req } from "./drive.js";
import { drive, settle } from "./drive.js";
import type { FitOptions, FitResult, LossContext, LossOutput } from "./loop.js";
import { eachBatch, fitLoop, makeSteps } from "./loop.js";

export type { FitOptions, FitResult, LossAux, LossContext, LossOutput } from "./loop.js";

/** What `fit` returns: a promise of the result that, on synchronous backends, is also the result. */
export type FitRun<P> = Promise<FitResult<P>> & FitResult<P>;

const FIELDS = ["params", "state", "optState", "history", "stopReason"] as const;

/**
 * Trains `init` params by minimizing `loss` over mini-batches of `data` with `optimizer`, on any
 * backend. Returns the final params, model state, optimizer state and the per-epoch history
 * (`loss`, `valLoss`, aux metrics, `metrics`). The result is a promise (`await fit(...)` works
 * everywhere, WebGPU included: device reads are awaited, never blocked on); on the CPU and
 * reference backends with synchronous callbacks the run completes during the call and the
 * returned value also carries the fields directly. Shows a progress bar on a TTY (`verbose`),
 * stops on a NaN loss (`terminateOnNaN`), and resumes exactly from a checkpoint (`resume`).
 * @example
 * ```ts
 * import { tensor, random, matmul, mean, square, subtract } from "tenfold";
 * import { adam } from "tenfold/optim";
 * import { fit } from "tenfold/train";
 * const x = random.normal(random.key(1), [64, 2]);
 * const y = matmul(x, tensor([[2], [-1]]));
 * const { params, history } = await fit({
 *   init: { w: tensor([[0], [0]]) },
 *   loss: (p, b) => mean(square(subtract(matmul(b.x, p.w), b.y))),
 *   optimizer: adam({ lr: 0.1 }),
 *   data: { x, y }, epochs: 20, batchSize: 16,
 * });
 * console.log(history.loss[19]! < history.loss[0]! / 10, params.w.shape); // true [2, 1]
 * ```
 */
export function fit<P, B>(options: FitOptions<P, B>): FitRun<P> {
  return settle(drive(fitLoop(options)), FIELDS, "fit") as FitRun<P>;
}

/**
 * `fit` as a plain promise (kept for existing callers; `await fit(...)` is the same).
 * @example
 * ```ts
 * import { tensor, random, matmul, mean, multiply, square, subtract } from "tenfold";
 * import { sgd } from "tenfold/optim";
 * import { fitAsync } from "tenfold/train";
 * const x = random.normal(random.key(2), [32, 1]);
 * const { history } = await fitAsync({
 *   init: { w: tensor([[0]]) },
 *   loss: (p, b) => mean(square(subtract(matmul(b.x, p.w), multiply(b.x, 3)))),
 *   optimizer: sgd({ lr: 0.1 }), data: { x }, epochs: 5, batchSize: 8, verbose: 0,
 * });
 * console.log(history.loss[4]! < history.loss[0]!); // true
 * ```
 */
export async function fitAsync<P, B>(options: FitOptions<P, B>): Promise<FitResult<P>> {
  const r = drive(fitLoop(options));
  return r instanceof Promise ? r : r.value;
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Samples per batch (default 256; unused for a `Dataset`). */
  readonly batchSize?: number;
  /** The model state passed as `ctx.state`. */
  readonly state?: unknown;
  /** The key passed as `ctx.key` (default `random.key(0)`). */
  readonly key?: Key;
  /** Compile the evaluation step (default true). */
  readonly jit?: boolean;
}

function* evaluateLoop<P, B>(
  params: P,
  loss: (params: P, batch: B, ctx: LossContext) => LossOutput,
  data: B | Dataset<B>,
  options: EvaluateOptions,
): Loop<Record<string, number>> {
  const { batchSize = 256, state, key = makeKey(0) } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
  if (!(data instanceof Dataset)) numSamples(data);
  const { evaluate: step } = makeSteps(loss, { init: () => ({}), update: (u, s) => [u, s] }, options.jit ?? true);
  const sums: Record<string, number> = { loss: 0 };
  let n = 0;
  yield* eachBatch(data, { order: null, batchSize, dropLast: false, epoch: 0, skip: 0 }, function* (batch): Generator<Req, boolean, unknown> {
    const bs = numSamples(batch);
    const [l, m] = step(params, state, batch, key);
    sums.loss! += Number(((yield { read: l }) as ArrayLike<number>)[0]) * bs;
    for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + Number(((yield { read: v }) as ArrayLike<number>)[0]) * bs;
    n += bs;
    return true;
  });
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(n, 1)]));
}

/**
 * The loss (and its scalar aux values) averaged over `data`, computed in batches (`training:
 * false`). Resolves to `{ loss, ...aux }`; works on every backend.
 * @example
 * ```ts
 * import { tensor, mean, square, subtract, multiply } from "tenfold";
 * import { evaluate } from "tenfold/train";
 * const data = { x: tensor([[1], [2], [3]]), y: tensor([[2], [4], [7]]) };
 * const r = await evaluate({ w: tensor([[2]]) }, (p, b) => mean(square(subtract(multiply(b.x, p.w), b.y))), data, { batchSize: 2 });
 * console.log(r.loss); // 0.333...: (0 + 0 + 1) / 3
 * ```
 */
export async function evaluate<P, B>(
  params: P,
  loss: (params: P, batch: B, ctx: LossContext) => LossOutput,
  data: B | Dataset<B>,
  options: EvaluateOptions = {},
): Promise<Record<string, number>> {
  const r = drive(evaluateLoop(params, loss, data, options));
  return r instanceof Promise ? r : r.value;
}

/**
 * Applies `apply(params, x)` to `x` in batches of `batchSize` rows and concatenates the outputs
 * (a pytree of outputs is concatenated leaf by leaf). Lazy: nothing is read back.
 * @example
 * ```ts
 * import { arange, reshape, multiply } from "tenfold";
 * import { predict } from "tenfold/train";
 * const y = predict((p: number, x) => multiply(x, p), 3, reshape(arange(5), [5, 1]), { batchSize: 2 });
 * console.log(y.arraySync()); // [[0], [3], [6], [9], [12]]
 * ```
 */
export function predict<P, X, Y = Tensor>(
  apply: (params: P, x: X) => Y,
  params: P,
  x: X,
  options: { readonly batchSize?: number; readonly jit?: boolean } = {},
): Y {
  const { batchSize = 256 } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`predict: batchSize must be a positive integer, got ${batchSize}`);
  const n = numSamples(x);
  const f = (options.jit ?? true) ? jit(apply) : apply;
  const outs: Y[] = [];
  for (let b = 0; b < batchCount(n, batchSize, false); b++) {
    const lo = b * batchSize;
    const idx = tensor(
      Int32Array.from({ length: Math.min(n, lo + batchSize) - lo }, (_, i) => lo + i),
      { dtype: "int32" },
    );
    outs.push(f(params, tree.map((l: Tensor) => take(l, idx, { axis: 0 }), x) as X));
  }
  if (outs.length === 1) return outs[0]!;
  return tree.map((...ls: Tensor[]) => concat(ls, { axis: 0 }), outs[0], ...outs.slice(1)) as Y;
}
