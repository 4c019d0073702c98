/**
 * Training callbacks for `fit`: the `Callback` protocol (hooks may return promises), and
 * `earlyStopping` (with restore of the best weights), `terminateOnNaN`, `reduceLROnPlateau` and
 * `csvLogger`. `progressBar` lives in progress.ts, `modelCheckpoint` in checkpoint.ts.
 */
import type { OptState } from "../optim/core.js";
import type { TrainCheckpoint } from "./state.js";
import { nodeModule } from "./node.js";

/** Per-epoch series: `loss`, `valLoss` (empty without validation) and any metrics. */
export interface History {
  readonly loss: number[];
  readonly valLoss: number[];
  readonly [name: string]: number[];
}

/** What a training run looks like, given to callbacks. */
export interface TrainInfo {
  readonly epochs: number;
  /** Batches per epoch (NaN when the data is a `Dataset` of unknown length). */
  readonly stepsPerEpoch: number;
  /** The epoch and global step the run starts at (non-zero when resumed from a checkpoint). */
  readonly initialEpoch?: number;
  readonly initialStep?: number;
}

/** What `onBatchEnd` can do besides read the logs. */
export interface BatchControl {
  /** Optimizer steps done so far in the whole run (1 after the first batch). */
  readonly step: number;
  readonly params: unknown;
  /** Ends training now; `reason` becomes `FitResult.stopReason`. */
  stop(reason?: string): void;
  /** Restores the params, state and optimizer state from before this step (e.g. it made NaNs). */
  revert(): void;
  /** Everything needed to resume the run exactly from this point (save it with `tenfold/io`). */
  checkpoint(): TrainCheckpoint;
}

/** The end of an epoch, as callbacks see it. */
export interface EpochEnd {
  /** 0-based epoch index. */
  readonly epoch: number;
  /** This epoch's values (`loss`, `valLoss`, metrics). */
  readonly logs: Readonly<Record<string, number>>;
  readonly history: History;
  readonly info: TrainInfo;
  /** The params and model state after this epoch. */
  readonly params: unknown;
  readonly state: unknown;
  readonly optState: OptState;
  /** Ends training after this epoch. */
  stop(reason?: string): void;
  /** The current factor on the optimizer's step size (1 unless changed). */
  readonly lrScale: number;
  /** Sets the factor on the optimizer's step size from the next epoch on (no retracing). */
  setLrScale(scale: number): void;
  /** Everything needed to resume the run from the start of the next epoch. */
  checkpoint(): TrainCheckpoint;
}

/** A hook's result: nothing, or a promise `fit` awaits (which makes the run asynchronous). */
export type HookResult = void | Promise<void>;

/**
 * Hooks called by `fit`; all optional, each may return a promise. `onTrainEnd` may replace the
 * final params/state. `kind` tags the built-in callbacks (`fit` adds `progressBar` and
 * `terminateOnNaN` itself unless one of that kind is given).
 */
export interface Callback {
  readonly kind?: string;
  onTrainBegin?(info: TrainInfo): HookResult;
  onEpochBegin?(epoch: number, info: TrainInfo): HookResult;
  onBatchEnd?(step: number, logs: { readonly loss: number; readonly epoch: number }, info: TrainInfo, ctl: BatchControl): HookResult;
  onEpochEnd?(e: EpochEnd): HookResult;
  onTrainEnd?(
    history: History,
  ): { readonly params: unknown; readonly state: unknown } | void | Promise<{ readonly params: unknown; readonly state: unknown } | void>;
}

/** Options of `earlyStopping`. */
export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping (default 3). */
  readonly patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  readonly minDelta?: number;
  /** The series to watch (default `valLoss`, or `loss` when there is no validation). */
  readonly monitor?: string;
  /** Whether smaller (default) or larger is better. */
  readonly mode?: "min" | "max";
  /** Return the params of the best epoch instead of the last (default false). */
  readonly restoreBest?: boolean;
  /** Same as `restoreBest` (the Keras name). */
  readonly restoreBestWeights?: boolean;
}

/**
 * Stops training when the monitored value has not improved by more than `minDelta` for
 * `patience` epochs.
 * @example
 * ```ts
 * import { tensor, square, mean, subtract, multiply } from "tenfold";
 * import { sgd } from "tenfold/optim";
 * import { fit, earlyStopping } from "tenfold/train";
 * const data = { x: tensor([[1], [2]]), y: tensor([[2], [4]]) };
 * const { history } = await fit({
 *   init: { w: tensor([[0]]) },
 *   loss: (p, b) => mean(square(subtract(multiply(b.x, p.w), b.y))),
 *   optimizer: sgd({ lr: 0 }), // never improves
 *   data, epochs: 50, callbacks: [earlyStopping({ patience: 2 })],
 * });
 * console.log(history.loss.length); // 3
 * ```
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): Callback {
  const { patience = 3, minDelta = 0, mode = "min" } = options;
  const restoreBest = options.restoreBest ?? options.restoreBestWeights ?? false;
  let best = Infinity;
  let wait = 0;
  let bestParams: { params: unknown; state: unknown } | undefined;
  return {
    kind: "earlyStopping",
    onTrainBegin() {
      best = Infinity;
      wait = 0;
      bestParams = undefined;
    },
    onEpochEnd(e) {
      const name = options.monitor ?? (e.logs.valLoss !== undefined ? "valLoss" : "loss");
      const v = e.logs[name];
      if (v === undefined) throw new Error(`earlyStopping: no "${name}" in the epoch logs (have ${Object.keys(e.logs).join(", ")})`);
      const score = mode === "min" ? v : -v;
      if (score < best - minDelta) {
        best = score;
        wait = 0;
        if (restoreBest) bestParams = { params: e.params, state: e.state };
      } else if (++wait >= patience) e.stop("earlyStopping");
    },
    onTrainEnd() {
      return restoreBest ? bestParams : undefined;
    },
  };
}

/** Reads a monitored value from the logs, with a clear error naming the callback. */
function monitored(who: string, logs: Readonly<Record<string, number>>, monitor: string | undefined): number {
  const name = monitor ?? (logs.valLoss !== undefined ? "valLoss" : "loss");
  const v = logs[name];
  if (v === undefined) throw new Error(`${who}: no "${name}" in the epoch logs (have ${Object.keys(logs).join(", ")})`);
  return v;
}

/**
 * Stops training at the first batch whose loss is NaN or infinite and returns the params from
 * before that step (`stopReason` "nan"). `fit` adds it by default; pass `terminateOnNaN: false`
 * to `fit` to carry on through NaNs.
 * @example
 * ```ts
 * import { tensor, mean, multiply, log } from "tenfold";
 * import { sgd } from "tenfold/optim";
 * import { fit, terminateOnNaN } from "tenfold/train";
 * const r = await fit({
 *   init: { w: tensor([1]) },
 *   loss: (p, b) => mean(log(multiply(p.w, b.x))), // log of a negative number: NaN
 *   optimizer: sgd({ lr: 10 }), data: { x: tensor([1, 1, 1, 1]) }, batchSize: 1, epochs: 3,
 *   callbacks: [terminateOnNaN()],
 * });
 * console.log(r.stopReason, Number.isFinite(r.params.w.itemSync())); // "nan" true
 * ```
 */
export function terminateOnNaN(): Callback {
  return {
    kind: "terminateOnNaN",
    onBatchEnd(_step, logs, _info, ctl) {
      if (!Number.isFinite(logs.loss)) {
        ctl.revert();
        ctl.stop("nan");
      }
    },
  };
}

/** Options of `reduceLROnPlateau`. */
export interface ReduceLROnPlateauOptions {
  /** The series to watch (default `valLoss`, or `loss` without validation). */
  readonly monitor?: string;
  readonly mode?: "min" | "max";
  /** Multiplies the step size by this factor on a plateau (default 0.1). */
  readonly factor?: number;
  /** Epochs without improvement before reducing (default 5). */
  readonly patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  readonly minDelta?: number;
  /** The smallest factor on the optimizer's step size (default 0). */
  readonly minScale?: number;
  /** Epochs to wait after a reduction before counting again (default 0). */
  readonly cooldown?: number;
}

/**
 * Multiplies the learning rate by `factor` when the monitored value has not improved for
 * `patience` epochs. It acts on `fit`'s step-size factor, a traced scalar of the jitted step, so
 * the step is not retraced; `history.lrScale` records the factor.
 * @example
 * ```ts
 * import { tensor, square, mean, subtract, multiply } from "tenfold";
 * import { sgd } from "tenfold/optim";
 * import { fit, reduceLROnPlateau } from "tenfold/train";
 * const { history } = await fit({
 *   init: { w: tensor([[0]]) },
 *   loss: (p, b) => mean(square(subtract(multiply(b.x, p.w), b.y))),
 *   optimizer: sgd({ lr: 0 }), // never improves
 *   data: { x: tensor([[1], [2]]), y: tensor([[2], [4]]) }, epochs: 4,
 *   callbacks: [reduceLROnPlateau({ patience: 1, factor: 0.5 })],
 * });
 * console.log(history.lrScale); // [1, 0.5, 0.25, 0.125]
 * ```
 */
export function reduceLROnPlateau(options: ReduceLROnPlateauOptions = {}): Callback {
  const { mode = "min", factor = 0.1, patience = 5, minDelta = 0, minScale = 0, cooldown = 0 } = options;
  if (!(factor > 0 && factor < 1)) throw new RangeError(`reduceLROnPlateau: factor must be in (0, 1), got ${factor}`);
  if (!Number.isInteger(patience) || patience < 0) throw new RangeError(`reduceLROnPlateau: patience must be a non-negative integer, got ${patience}`);
  let best = Infinity;
  let wait = 0;
  let cool = 0;
  return {
    kind: "reduceLROnPlateau",
    onTrainBegin() {
      best = Infinity;
      wait = 0;
      cool = 0;
    },
    onEpochEnd(e) {
      const v = monitored("reduceLROnPlateau", e.logs, options.monitor);
      const score = mode === "min" ? v : -v;
      if (cool > 0) cool--;
      if (score < best - minDelta) {
        best = score;
        wait = 0;
      } else if (cool === 0 && ++wait >= patience) {
        e.setLrScale(Math.max(minScale, e.lrScale * factor));
        wait = 0;
        cool = cooldown;
      }
    },
  };
}

/** Options of `csvLogger`. */
export interface CsvLoggerOptions {
  /** Append to an existing file instead of replacing it (default false; use it when resuming). */
  readonly append?: boolean;
  /** Field separator (default ","). */
  readonly separator?: string;
  /** Where lines go instead of a file (tests, browsers): called with each line, newline included. */
  readonly write?: (line: string) => void;
}

/**
 * Writes one CSV row per epoch (`epoch,loss,valLoss,...`, header first) to `path` (Node).
 * @example
 * ```ts
 * import { tensor, square, mean, subtract, multiply } from "tenfold";
 * import { sgd } from "tenfold/optim";
 * import { fit, csvLogger } from "tenfold/train";
 * const lines: string[] = [];
 * await fit({
 *   init: { w: tensor([[0]]) },
 *   loss: (p, b) => mean(square(subtract(multiply(b.x, p.w), b.y))),
 *   optimizer: sgd({ lr: 0.1 }), data: { x: tensor([[1], [2]]), y: tensor([[2], [4]]) }, epochs: 2,
 *   callbacks: [csvLogger("", { write: (l) => lines.push(l) })],
 * });
 * console.log(lines[0]); // "epoch,loss,valLoss\n"
 * ```
 */
export function csvLogger(path: string, options: CsvLoggerOptions = {}): Callback {
  const sep = options.separator ?? ",";
  let columns: string[] | undefined;
  const out = (line: string, header: boolean): void => {
    if (options.write) return options.write(line);
    const fs = nodeModule<typeof import("node:fs")>("node:fs", "csvLogger");
    if (header) {
      if (options.append && fs.existsSync(path)) return;
      fs.writeFileSync(path, line);
    } else fs.appendFileSync(path, line);
  };
  const cell = (v: number | undefined): string => (v === undefined ? "" : String(v));
  return {
    kind: "csvLogger",
    onTrainBegin() {
      columns = undefined;
    },
    onEpochEnd(e) {
      if (!columns) {
        columns = ["loss", "valLoss", ...Object.keys(e.logs).filter((k) => k !== "loss" && k !== "valLoss")];
        out(["epoch", ...columns].join(sep) + "\n", true);
      }
      out([String(e.epoch), ...columns.map((c) => cell(e.logs[c]))].join(sep) + "\n", false);
    },
  };
}
