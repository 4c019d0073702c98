/**
 * `fit`: the training loop. One jitted step `(params, optState, state, batch, key) -> new values`
 * (value-and-grad of the loss, the optimizer update, the params update), a jitted evaluation step
 * for validation, per-epoch history, and callbacks.
 */
import { Tensor } from "../core/tensor.js";
import type { TensorLike } from "../ops/base.js";
import { valueAndGrad } from "../transforms/vjp.js";
import { jit } from "../transforms/jit.js";
import type { Key } from "../random/index.js";
import { foldIn, key as makeKey, split } from "../random/index.js";
import type { GradientTransformation, OptState } from "../optim/core.js";
import { applyUpdates } from "../optim/core.js";
import { batchCount, batches, numSamples } from "./batches.js";
import type { Callback, History, TrainInfo } from "./callbacks.js";

/** What the loss function is told besides params and batch. */
export interface LossContext {
  /** A fresh key for this step (dropout and other randomness). */
  readonly key: Key;
  /** True in training steps, false in validation. */
  readonly training: boolean;
  /** The model state (e.g. batch-norm statistics); undefined unless `fit` got `state`. */
  readonly state: unknown;
}

/**
 * Extra loss outputs: scalar tensors are averaged per epoch into the history (validation ones
 * as `valName`); `state`, if present, is the updated model state (training steps only).
 */
export type LossAux = { readonly state?: unknown } & { readonly [metric: string]: unknown };

/** A loss value, or `[loss, aux]`. */
export type LossOutput = Tensor | readonly [Tensor, LossAux];

/** Options of `fit`. */
export interface FitOptions<P, B> {
  /** Initial params, or a function of a key that makes them (e.g. `model.init`). */
  readonly init: P | ((key: Key) => P);
  /** `(params, batch, { key, training, state }) => loss` (a scalar), or `[loss, aux]`. */
  readonly loss: (params: P, batch: B, ctx: LossContext) => LossOutput;
  readonly optimizer: GradientTransformation;
  /** Training data: a pytree of tensors with a common leading sample axis. */
  readonly data: B;
  /** Validation data of the same structure; adds `valLoss` (and `valX` aux metrics). */
  readonly validation?: B;
  /** Default 1. */
  readonly epochs?: number;
  /** Default 32. */
  readonly batchSize?: number;
  /** A key or integer seed (default 0): split for init, shuffling and the loss's keys. */
  readonly key?: Key | number;
  readonly callbacks?: readonly Callback[];
  /** Metrics computed once per epoch on the whole validation set (or the training data without one). */
  readonly metrics?: Readonly<Record<string, (params: P, data: B, state: unknown) => TensorLike>>;
  /** Compile the train and evaluation steps with `jit` (default true). */
  readonly jit?: boolean;
  /** Shuffle the training data each epoch (default true). */
  readonly shuffle?: boolean;
  /** Drop the last, smaller batch of each epoch (default false). */
  readonly dropLast?: boolean;
  /** Initial model state (non-trainable, e.g. batch-norm statistics), passed as `ctx.state`. */
  readonly state?: unknown;
}

/** The result of `fit`. */
export interface FitResult<P> {
  readonly params: P;
  /** The final model state (as given to `fit`, updated through the loss's `aux.state`). */
  readonly state: unknown;
  /** The final optimizer state (to resume training). */
  readonly optState: OptState;
  readonly history: History;
}

function split2(out: LossOutput): [Tensor, LossAux] {
  if (out instanceof Tensor) return [out, {}];
  if (Array.isArray(out) && out.length === 2 && out[0] instanceof Tensor) return [out[0], out[1] ?? {}];
  throw new TypeError("fit: loss must return a scalar tensor or [loss, aux]");
}

function auxMetrics(aux: LossAux): Record<string, Tensor> {
  const m: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(aux)) if (k !== "state" && v instanceof Tensor && v.size === 1) m[k] = v;
  return m;
}

const capital = (s: string): string => `val${s[0]!.toUpperCase()}${s.slice(1)}`;

type StepOut = readonly [unknown, OptState, unknown, Tensor, Record<string, Tensor>];
type EvalOut = readonly [Tensor, Record<string, Tensor>];

/**
 * Trains `init` params by minimizing `loss` over mini-batches of `data` with `optimizer`.
 * Returns the final params, model state, optimizer state and the per-epoch history (`loss`,
 * `valLoss`, aux metrics, `metrics`). Synchronous (CPU and reference backends); use `fitAsync` on
 * WebGPU.
 * @example
 * ```ts
 * import { tensor, random, matmul, mean, square, subtract } from "tenfold";
 * import { adam } from "tenfold/optim";
 * import { fit } from "tenfold/train";
 * const x = random.normal(random.key(1), [64, 2]);
 * const y = matmul(x, tensor([[2], [-1]]));
 * const { params, history } = fit({
 *   init: { w: tensor([[0], [0]]) },
 *   loss: (p, b) => mean(square(subtract(matmul(b.x, p.w), b.y))),
 *   optimizer: adam({ lr: 0.1 }),
 *   data: { x, y }, epochs: 20, batchSize: 16,
 * });
 * console.log(history.loss[19]! < history.loss[0]! / 10, params.w.shape); // true [2, 1]
 * ```
 */
export function fit<P, B>(options: FitOptions<P, B>): FitResult<P> {
  const loop = fitLoop(options);
  let r = loop.next();
  while (!r.done) r = loop.next(r.value.itemSync());
  return r.value;
}

/**
 * `fit` for backends that read data asynchronously (WebGPU): the same loop, awaiting each read.
 * @example
 * ```ts
 * import { tensor, random, matmul, mean, multiply, square, subtract } from "tenfold";
 * import { sgd } from "tenfold/optim";
 * import { fitAsync } from "tenfold/train";
 * const x = random.normal(random.key(2), [32, 1]);
 * const { history } = await fitAsync({
 *   init: { w: tensor([[0]]) },
 *   loss: (p, b) => mean(square(subtract(matmul(b.x, p.w), multiply(b.x, 3)))),
 *   optimizer: sgd({ lr: 0.1 }), data: { x }, epochs: 5, batchSize: 8,
 * });
 * console.log(history.loss[4]! < history.loss[0]!); // true
 * ```
 */
export async function fitAsync<P, B>(options: FitOptions<P, B>): Promise<FitResult<P>> {
  const loop = fitLoop(options);
  let r = loop.next();
  while (!r.done) r = loop.next(await r.value.item());
  return r.value;
}

/** The training loop; yields each scalar it needs to read and receives its value. */
function* fitLoop<P, B>(options: FitOptions<P, B>): Generator<Tensor, FitResult<P>, number> {
  const { optimizer, data, validation, epochs = 1, batchSize = 32, callbacks = [], shuffle = true, dropLast = false } = options;
  if (!Number.isInteger(epochs) || epochs < 0) throw new RangeError(`fit: epochs must be a non-negative integer, got ${epochs}`);
  const n = numSamples(data);
  if (validation !== undefined) numSamples(validation);
  const root = typeof options.key === "number" || options.key === undefined ? makeKey(options.key ?? 0) : options.key;
  const [initKey, shuffleKey, stepKey] = split(root, 3) as [Key, Key, Key];
  let params: P = typeof options.init === "function" ? (options.init as (k: Key) => P)(initKey) : options.init;
  let optState = optimizer.init(params);
  let state: unknown = options.state;
  const lossFn = options.loss;

  const trainStep = (p: P, os: OptState, st: unknown, batch: B, k: Key): StepOut => {
    const ctx: LossContext = { key: k, training: true, state: st };
    const vg = valueAndGrad((q: P) => {
      const [l, aux] = split2(lossFn(q, batch, ctx));
      return [l, { metrics: auxMetrics(aux), state: "state" in aux ? aux.state : null }];
    }, { hasAux: true }) as (q: P) => [[Tensor, { metrics: Record<string, Tensor>; state: unknown }], P];
    const [[l, aux], g] = vg(p);
    const [u, os2] = optimizer.update(g, os, p);
    return [applyUpdates(p, u), os2, aux.state ?? st, l, aux.metrics];
  };
  const evalStep = (p: P, st: unknown, batch: B, k: Key): EvalOut => {
    const [l, aux] = split2(lossFn(p, batch, { key: k, training: false, state: st }));
    return [l, auxMetrics(aux)];
  };
  const useJit = options.jit ?? true;
  const step = useJit ? jit(trainStep) : trainStep;
  const evaluate = useJit ? jit(evalStep) : evalStep;

  const info: TrainInfo = { epochs, stepsPerEpoch: batchCount(n, batchSize, dropLast) };
  const history: Record<string, number[]> = { loss: [], valLoss: [] };
  for (const c of callbacks) c.onTrainBegin?.(info);
  let stopped = false;
  let global = 0;
  for (let epoch = 0; epoch < epochs && !stopped; epoch++) {
    for (const c of callbacks) c.onEpochBegin?.(epoch, info);
    const sums: Record<string, number> = { loss: 0 };
    let seen = 0;
    let s = 0;
    for (const batch of batches(foldIn(shuffleKey, epoch), data, batchSize, { shuffle, dropLast })) {
      const bs = numSamples(batch);
      const out = step(params, optState, state, batch, foldIn(stepKey, global++));
      [params, optState, state] = [out[0] as P, out[1], out[2]];
      const lv = (yield out[3]);
      sums.loss! += lv * bs;
      for (const [k, v] of Object.entries(out[4])) sums[k] = (sums[k] ?? 0) + (yield v) * bs;
      seen += bs;
      for (const c of callbacks) c.onBatchEnd?.(s++, { loss: lv, epoch }, info);
    }
    const logs: Record<string, number> = {};
    for (const [k, v] of Object.entries(sums)) logs[k] = v / Math.max(seen, 1);
    if (validation !== undefined) {
      const vs: Record<string, number> = { loss: 0 };
      let vn = 0;
      for (const batch of batches(null, validation, Math.max(batchSize, 256), { shuffle: false })) {
        const bs = numSamples(batch);
        const [l, m] = evaluate(params, state, batch, stepKey);
        vs.loss! += (yield l) * bs;
        for (const [k, v] of Object.entries(m)) vs[k] = (vs[k] ?? 0) + (yield v) * bs;
        vn += bs;
      }
      for (const [k, v] of Object.entries(vs)) logs[capital(k)] = v / Math.max(vn, 1);
    }
    for (const [name, f] of Object.entries(options.metrics ?? {})) {
      const r = f(params, validation ?? data, state);
      logs[name] = r instanceof Tensor ? (yield r) : Number(r);
    }
    const before = history.loss!.length;
    for (const [k, v] of Object.entries(logs)) {
      const series = (history[k] ??= new Array<number>(before).fill(NaN));
      series.push(v);
    }
    for (const c of callbacks) {
      c.onEpochEnd?.({ epoch, logs, history: history as History, info, params, state, stop: () => (stopped = true) });
    }
  }
  for (const c of callbacks) {
    const r = c.onTrainEnd?.(history as History);
    if (r) [params, state] = [r.params as P, r.state];
  }
  return { params, state, optState, history: history as History };
}
