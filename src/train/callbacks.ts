/**
 * Training callbacks for `fit`: the `Callback` protocol, `earlyStopping` and `progressBar`
 * (a redrawn bar on a TTY, one plain line per epoch otherwise; written to stderr).
 */

/** Per-epoch series: `loss`, `valLoss` (empty without validation) and any metrics. */
export interface History {
  readonly loss: number[];
  readonly valLoss: number[];
  readonly [name: string]: number[];
}

/** What a training run looks like, given to callbacks. */
export interface TrainInfo {
  readonly epochs: number;
  readonly stepsPerEpoch: number;
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
  /** Ends training after this epoch. */
  stop(): void;
}

/** Hooks called by `fit`; all optional. `onTrainEnd` may replace the final params/state. */
export interface Callback {
  onTrainBegin?(info: TrainInfo): void;
  onEpochBegin?(epoch: number, info: TrainInfo): void;
  onBatchEnd?(step: number, logs: { readonly loss: number; readonly epoch: number }, info: TrainInfo): void;
  onEpochEnd?(e: EpochEnd): void;
  onTrainEnd?(history: History): { readonly params: unknown; readonly state: unknown } | void;
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
 * const { history } = fit({
 *   init: { w: tensor([[0]]) },
 *   loss: (p, b) => mean(square(subtract(multiply(b.x, p.w), b.y))),
 *   optimizer: sgd({ lr: 0 }), // never improves
 *   data, epochs: 50, callbacks: [earlyStopping({ patience: 2 })],
 * });
 * console.log(history.loss.length); // 3
 * ```
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): Callback {
  const { patience = 3, minDelta = 0, mode = "min", restoreBest = false } = options;
  let best = Infinity;
  let wait = 0;
  let bestParams: { params: unknown; state: unknown } | undefined;
  return {
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
      } else if (++wait >= patience) e.stop();
    },
    onTrainEnd() {
      return restoreBest ? bestParams : undefined;
    },
  };
}

/** Where `progressBar` writes: stderr by default. */
export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

const fmt = (v: number): string => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4));

/**
 * A progress display: on a TTY a bar redrawn in place (at most ~10 times a second), otherwise one
 * plain line per epoch (`epoch 3/10 - loss 0.1234 - valLoss 0.2345 - 1.2s`). Writes to stderr.
 * @example
 * ```ts
 * import { progressBar } from "tenfold/train";
 * const lines: string[] = [];
 * const bar = progressBar({ stream: { write: (s: string) => lines.push(s), isTTY: false } });
 * bar.onTrainBegin?.({ epochs: 1, stepsPerEpoch: 2 });
 * console.log(typeof bar.onEpochEnd); // "function"
 * ```
 */
export function progressBar(options: { readonly stream?: ProgressStream; readonly width?: number } = {}): Callback {
  const stream: ProgressStream | undefined = options.stream ?? (globalThis as { process?: { stderr?: ProgressStream } }).process?.stderr;
  const write = (s: string): void => {
    if (stream) stream.write(s);
    else console.log(s.replace(/\r|\n$/g, ""));
  };
  const tty = stream?.isTTY === true;
  const width = options.width ?? 24;
  let start = 0;
  let lastDraw = 0;
  return {
    onEpochBegin() {
      start = Date.now();
      lastDraw = 0;
    },
    onBatchEnd(step, logs, info) {
      if (!tty) return;
      const now = Date.now();
      const done = step + 1;
      if (now - lastDraw < 100 && done < info.stepsPerEpoch) return;
      lastDraw = now;
      const filled = Math.round((width * done) / info.stepsPerEpoch);
      const bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? ">" : "") + " ".repeat(width - filled);
      write(`\repoch ${logs.epoch + 1}/${info.epochs} [${bar}] ${done}/${info.stepsPerEpoch} loss ${fmt(logs.loss)}\x1b[K`);
    },
    onEpochEnd(e) {
      const parts = Object.entries(e.logs).map(([k, v]) => `${k} ${fmt(v)}`);
      const line = `epoch ${e.epoch + 1}/${e.info.epochs} - ${parts.join(" - ")} - ${((Date.now() - start) / 1000).toFixed(1)}s`;
      write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}
