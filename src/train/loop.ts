/**
 * The one training loop behind `fit`, written as a generator of requests (see drive.ts): a jitted
 * train step `(params, optState, state, batch, key, lrScale) -> new values`, host-side shuffling
 * from the key's random bits (read asynchronously where the backend needs it), a batched
 * validation pass, per-epoch history, callbacks, and exact resume from a `TrainCheckpoint`.
 */
import { Tensor } from "../core/tensor.js";
import * as tree from "../core/tree.js";
import type { TensorLike } from "../ops/base.js";
import { tensor } from "../ops/creation.js";
import { multiply } from "../ops/elementwise.js";
import { take } from "../ops/shape.js";
import { valueAndGrad } from "../transforms/vjp.js";
import { jit } from "../transforms/jit.js";
import type { Key } from "../random/index.js";
import { bits, foldIn, key as makeKey, split } from "../random/index.js";
import type { GradientTransformation, OptState } from "../optim/core.js";
import { applyUpdates, mapLeaves } from "../optim/core.js";
import { batchCount, numSamples, orderFromBits } from "./batches.js";
import type { BatchControl, Callback, History, TrainInfo } from "./callbacks.js";
import { terminateOnNaN } from "./callbacks.js";
import { progressBar } from "./progress.js";
import type { Req } from "./drive.js";
import type { TrainCheckpoint } from "./state.js";
import { checkCheckpoint, decodeNumbers, makeCheckpoint } from "./state.js";
import { Dataset } from "./dataset.js";

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
  /** Training data: a pytree of tensors with a common leading sample axis, or a `Dataset` of batches. */
  readonly data: B | Dataset<B>;
  /** Validation data (same structure, or a `Dataset` of batches); adds `valLoss` (and `valX` aux metrics). */
  readonly validation?: B | Dataset<B>;
  /** Default 1. */
  readonly epochs?: number;
  /** Default 32 (unused when `data` is a `Dataset`, which batches itself). */
  readonly batchSize?: number;
  /** A key or integer seed (default 0): split for init, shuffling and the loss's keys. */
  readonly key?: Key | number;
  readonly callbacks?: readonly Callback[];
  /** Metrics computed once per epoch on the whole validation set (or the training data without one). */
  readonly metrics?: Readonly<Record<string, (params: P, data: B, state: unknown) => TensorLike>>;
  /** Compile the train and evaluation steps with `jit` (default true). */
  readonly jit?: boolean;
  /** Shuffle the training data each epoch (default true; a `Dataset` shuffles itself). */
  readonly shuffle?: boolean;
  /** Drop the last, smaller batch of each epoch (default false). */
  readonly dropLast?: boolean;
  /** Initial model state (non-trainable, e.g. batch-norm statistics), passed as `ctx.state`. */
  readonly state?: unknown;
  /**
   * 0: silent; 1 (default): a progress bar when stderr is a TTY, nothing otherwise; 2: the bar on
   * a TTY, one line per epoch otherwise. Ignored when `callbacks` has a `progressBar`.
   */
  readonly verbose?: 0 | 1 | 2;
  /** Stop at the first NaN/infinite loss and keep the params from before it (default true). */
  readonly terminateOnNaN?: boolean;
  /**
   * A factor on the optimizer's step size per epoch (`epoch => factor`, 1 = as configured). It
   * is a traced scalar of the jitted step: changing it never retraces. Multiplies with the
   * factor set by callbacks (`reduceLROnPlateau`); recorded as `history.lrScale`.
   */
  readonly lrSchedule?: (epoch: number) => number;
  /** Continue a run from a checkpoint (a `TrainCheckpoint` tree, e.g. loaded with `tenfold/io` `load`). */
  readonly resume?: TrainCheckpoint;
}

/** The result of `fit`. */
export interface FitResult<P> {
  readonly params: P;
  /** The final model state (as given to `fit`, updated through the loss's `aux.state`). */
  readonly state: unknown;
  /** The final optimizer state (to resume training). */
  readonly optState: OptState;
  readonly history: History;
  /** Why training ended early: "nan", "earlyStopping", or a callback's reason; absent otherwise. */
  readonly stopReason?: string;
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

/** @internal the jitted (or plain) train and evaluation steps of a loss and optimizer. */
export function makeSteps<P, B>(lossFn: FitOptions<P, B>["loss"], optimizer: GradientTransformation, useJit: boolean) {
  const trainStep = (p: P, os: OptState, st: unknown, batch: B, k: Key, lrScale: Tensor): StepOut => {
    const ctx: LossContext = { key: k, training: true, state: st };
    const vg = valueAndGrad(
      (q: P) => {
        const [l, aux] = split2(lossFn(q, batch, ctx));
        return [l, { metrics: auxMetrics(aux), state: "state" in aux ? aux.state : null }];
      },
      { hasAux: true },
    ) as (q: P) => [[Tensor, { metrics: Record<string, Tensor>; state: unknown }], P];
    const [[l, aux], g] = vg(p);
    const [u, os2] = optimizer.update(g, os, p);
    // every built-in optimizer's update is linear in its learning rate: scaling the update is
    // scaling the rate, with the factor a traced input (no retrace when it changes)
    const scaled = mapLeaves((x) => multiply(x, lrScale), u);
    return [applyUpdates(p, scaled), os2, aux.state ?? st, l, aux.metrics];
  };
  const evalStep = (p: P, st: unknown, batch: B, k: Key): EvalOut => {
    const [l, aux] = split2(lossFn(p, batch, { key: k, training: false, state: st }));
    return [l, auxMetrics(aux)];
  };
  return { step: useJit ? jit(trainStep) : trainStep, evaluate: useJit ? jit(evalStep) : evalStep };
}

/** Batch `b` of `data` in `order` (or in sequence). */
function rows<B>(data: B, order: Int32Array | null, lo: number, hi: number): B {
  const idx = order
    ? tensor(order.slice(lo, hi), { shape: [hi - lo], dtype: "int32" })
    : tensor(
        Int32Array.from({ length: hi - lo }, (_, i) => lo + i),
        { shape: [hi - lo], dtype: "int32" },
      );
  return tree.map((l: Tensor) => take(l, idx, { axis: 0 }), data) as B;
}

/** @internal iterates the batches of a pass, calling `body` on each (a generator of requests). */
export function* eachBatch<B>(
  data: B | Dataset<B>,
  opts: { readonly order: Int32Array | null; readonly batchSize: number; readonly dropLast: boolean; readonly epoch: number; readonly skip: number },
  body: (batch: B, index: number) => Generator<Req, boolean, unknown>,
): Generator<Req, void, unknown> {
  if (data instanceof Dataset) {
    const it = data.iterate(opts.epoch);
    try {
      for (let b = 0; ; b++) {
        const r = (yield { wait: it.next() }) as IteratorResult<B>;
        if (r.done) return;
        if (b < opts.skip) continue;
        if (!(yield* body(r.value, b))) return;
      }
    } finally {
      void it.return?.();
    }
  }
  const n = numSamples(data);
  const count = batchCount(n, opts.batchSize, opts.dropLast);
  for (let b = opts.skip; b < count; b++) {
    const lo = b * opts.batchSize;
    if (!(yield* body(rows(data, opts.order, lo, Math.min(n, lo + opts.batchSize)), b))) return;
  }
}

const sampleCount = (batch: unknown): number => numSamples(batch);

/** The training loop; see `fit`. */
export function* fitLoop<P, B>(options: FitOptions<P, B>): Generator<Req, FitResult<P>, unknown> {
  const { optimizer, data, validation, epochs = 1, batchSize = 32, shuffle = true, dropLast = false, verbose = 1 } = options;
  if (!Number.isInteger(epochs) || epochs < 0) throw new RangeError(`fit: epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`fit: batchSize must be a positive integer, got ${batchSize}`);
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) throw new RangeError(`fit: verbose must be 0, 1 or 2, got ${String(verbose)}`);
  const isDs = data instanceof Dataset;
  const n = isDs ? NaN : numSamples(data);
  if (validation !== undefined && !(validation instanceof Dataset)) numSamples(validation);
  const ck = options.resume;
  if (ck !== undefined) checkCheckpoint(ck, "fit");
  const root: Key = ck ? ck.key : typeof options.key === "number" || options.key === undefined ? makeKey(options.key ?? 0) : options.key;
  const [initKey, shuffleKey, stepKey] = split(root, 3) as [Key, Key, Key];
  let params: P = ck ? (ck.params as P) : typeof options.init === "function" ? (options.init as (k: Key) => P)(initKey) : options.init;
  let optState: OptState = ck ? ck.optState : optimizer.init(params);
  let state: unknown = ck ? (options.state === undefined ? undefined : ck.state) : options.state;
  let [global, startEpoch, startBatch, startSeen] = [0, 0, 0, 0];
  let lrScale = 1;
  const history: Record<string, number[]> = { loss: [], valLoss: [] };
  const resumeSums: Record<string, number> = {};
  if (ck) {
    const pos = (yield { read: ck.progress }) as ArrayLike<number>;
    [global, startEpoch, startBatch, startSeen] = [Number(pos[0]), Number(pos[1]), Number(pos[2]), Number(pos[3])];
    lrScale = decodeNumbers((yield { read: ck.numbers.lrScale }) as ArrayLike<number>)[0] ?? 1;
    for (const [k, t] of Object.entries(ck.numbers.history)) history[k] = decodeNumbers((yield { read: t }) as ArrayLike<number>);
    for (const [k, t] of Object.entries(ck.numbers.sums)) resumeSums[k] = decodeNumbers((yield { read: t }) as ArrayLike<number>)[0]!;
  }
  const { step, evaluate } = makeSteps(options.loss, optimizer, options.jit ?? true);

  const callbacks: Callback[] = [...(options.callbacks ?? [])];
  const has = (kind: string): boolean => callbacks.some((c) => c.kind === kind);
  if ((options.terminateOnNaN ?? true) && !has("terminateOnNaN")) callbacks.unshift(terminateOnNaN());
  const tty = (globalThis as { process?: { stderr?: { isTTY?: boolean } } }).process?.stderr?.isTTY === true;
  if (!has("progressBar") && (verbose === 2 || (verbose === 1 && tty))) callbacks.push(progressBar());

  const info: TrainInfo = { epochs, stepsPerEpoch: isDs ? NaN : batchCount(n, batchSize, dropLast), initialEpoch: startEpoch, initialStep: global };
  for (const c of callbacks) yield { wait: c.onTrainBegin?.(info) };
  let stopReason: string | undefined;
  let lrSet = ck !== undefined && lrScale !== 1;
  const lrAt = (epoch: number): number => lrScale * (options.lrSchedule ? options.lrSchedule(epoch) : 1);

  for (let epoch = startEpoch; epoch < epochs && stopReason === undefined; epoch++) {
    for (const c of callbacks) yield { wait: c.onEpochBegin?.(epoch, info) };
    const resumed = epoch === startEpoch;
    const sums: Record<string, number> = resumed && ck ? { loss: 0, ...resumeSums } : { loss: 0 };
    let seen = resumed ? startSeen : 0;
    const skip = resumed ? startBatch : 0;
    const lrNow = lrAt(epoch);
    const lrTensor = tensor(lrNow);
    let order: Int32Array | null = null;
    if (!isDs && shuffle) order = orderFromBits((yield { read: bits(foldIn(shuffleKey, epoch), [n]) }) as ArrayLike<number>);
    const snapshot = (batchDone: number, s: Readonly<Record<string, number>>, seenNow: number, atEnd: boolean): TrainCheckpoint =>
      makeCheckpoint(params, optState, state, root, {
        step: global,
        epoch: atEnd ? epoch + 1 : epoch,
        batch: atEnd ? 0 : batchDone,
        seen: atEnd ? 0 : seenNow,
        lrScale,
        history,
        sums: atEnd ? {} : s,
      });
    yield* eachBatch(data, { order, batchSize, dropLast, epoch, skip }, function* (batch, b): Generator<Req, boolean, unknown> {
      const bs = sampleCount(batch);
      const before: readonly [P, OptState, unknown] = [params, optState, state];
      const out = step(params, optState, state, batch, foldIn(stepKey, global++), lrTensor);
      [params, optState, state] = [out[0] as P, out[1], out[2]];
      const lv = Number(((yield { read: out[3] }) as ArrayLike<number>)[0]);
      sums.loss! += lv * bs;
      for (const [k, v] of Object.entries(out[4])) sums[k] = (sums[k] ?? 0) + Number(((yield { read: v }) as ArrayLike<number>)[0]) * bs;
      seen += bs;
      const ctl: BatchControl = {
        step: global,
        params,
        stop: (reason = "callback") => void (stopReason ??= reason),
        revert: () => {
          [params, optState, state] = before;
        },
        checkpoint: () => snapshot(b + 1, sums, seen, false),
      };
      for (const c of callbacks) yield { wait: c.onBatchEnd?.(b, { loss: lv, epoch }, info, ctl) };
      return stopReason === undefined;
    });
    const logs: Record<string, number> = {};
    for (const [k, v] of Object.entries(sums)) logs[k] = v / Math.max(seen, 1);
    if (validation !== undefined && stopReason !== "nan") {
      const vs: Record<string, number> = { loss: 0 };
      let vn = 0;
      const vbs = Math.max(batchSize, 256);
      yield* eachBatch(validation, { order: null, batchSize: vbs, dropLast: false, epoch: 0, skip: 0 }, function* (batch): Generator<Req, boolean, unknown> {
        const bs = sampleCount(batch);
        const [l, m] = evaluate(params, state, batch, stepKey);
        vs.loss! += Number(((yield { read: l }) as ArrayLike<number>)[0]) * bs;
        for (const [k, v] of Object.entries(m)) vs[k] = (vs[k] ?? 0) + Number(((yield { read: v }) as ArrayLike<number>)[0]) * bs;
        vn += bs;
        return true;
      });
      for (const [k, v] of Object.entries(vs)) logs[capital(k)] = v / Math.max(vn, 1);
    }
    for (const [name, f] of Object.entries(options.metrics ?? {})) {
      if (validation instanceof Dataset || (validation === undefined && isDs))
        throw new TypeError(`fit: the metrics option needs array data (got a Dataset); compute "${name}" as a loss aux value instead`);
      const r = f(params, (validation ?? data) as B, state);
      logs[name] = r instanceof Tensor ? Number(((yield { read: r }) as ArrayLike<number>)[0]) : Number(r);
    }
    if (options.lrSchedule || lrSet) logs.lrScale = lrNow;
    const before = history.loss!.length;
    for (const [k, v] of Object.entries(logs)) (history[k] ??= new Array<number>(before).fill(k === "lrScale" ? 1 : NaN)).push(v);
    for (const c of callbacks) {
      yield {
        wait: c.onEpochEnd?.({
          epoch,
          logs,
          history: history as History,
          info,
          params,
          state,
          optState,
          stop: (reason = "callback") => void (stopReason ??= reason),
          lrScale,
          setLrScale: (s: number) => {
            if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`fit: setLrScale needs a finite factor >= 0, got ${s}`);
            lrScale = s;
            lrSet = true;
          },
          checkpoint: () => snapshot(0, {}, 0, true),
        }),
      };
    }
  }
  for (const c of callbacks) {
    const r = (yield { wait: c.onTrainEnd?.(history as History) }) as { params: unknown; state: unknown } | void;
    if (r) [params, state] = [r.params as P, r.state];
  }
  return { params, state, optState, history: history as History, ...(stopReason !== undefined ? { stopReason } : {}) };
}
