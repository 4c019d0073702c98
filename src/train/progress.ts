/**
 * `progressBar`: the training display. On a TTY a one-line bar redrawn in place (epoch, bar,
 * batches, loss, steps/s, ETA of the epoch); at the end of each epoch a summary line with every
 * logged value. Off a TTY, one plain summary line per epoch. Writes to stderr by default.
 */
import type { Callback } from "./callbacks.js";

/** Where `progressBar` writes: stderr by default. */
export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

const fmt = (v: number): string => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4));

/** Seconds as `12s`, `3m04s` or `1h02m`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * A progress display: on a TTY a bar redrawn in place (at most ~10 times a second) with the
 * running loss, steps/s and the epoch's ETA, otherwise one plain line per epoch
 * (`epoch 3/10 - loss 0.1234 - valLoss 0.2345 - 1.2s - 250 steps/s`). `fit` adds one by
 * default when stderr is a TTY (`verbose: 0` turns it off).
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
  let steps = 0;
  let lossSum = 0;
  return {
    kind: "progressBar",
    onEpochBegin() {
      start = Date.now();
      lastDraw = 0;
      steps = 0;
      lossSum = 0;
    },
    onBatchEnd(step, logs, info) {
      steps++;
      lossSum += logs.loss;
      if (!tty) return;
      const now = Date.now();
      const done = step + 1;
      const total = info.stepsPerEpoch;
      if (now - lastDraw < 100 && !(done >= total)) return;
      lastDraw = now;
      const rate = steps / Math.max(1e-3, (now - start) / 1000);
      const known = Number.isFinite(total) && total > 0;
      const filled = known ? Math.min(width, Math.round((width * done) / total)) : 0;
      const bar = known ? "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? ">" : "") + " ".repeat(width - filled) : "?".repeat(width);
      const eta = known ? ` ETA ${formatDuration((total - done) / rate)}` : "";
      write(
        `\repoch ${logs.epoch + 1}/${info.epochs} [${bar}] ${done}/${known ? total : "?"} loss ${fmt(lossSum / steps)} ${rate.toFixed(1)} steps/s${eta}\x1b[K`,
      );
    },
    onEpochEnd(e) {
      const secs = (Date.now() - start) / 1000;
      const parts = Object.entries(e.logs).map(([k, v]) => `${k} ${fmt(v)}`);
      const rate = steps > 0 ? ` - ${(steps / Math.max(1e-3, secs)).toFixed(1)} steps/s` : "";
      const line = `epoch ${e.epoch + 1}/${e.info.epochs} - ${parts.join(" - ")} - ${formatDuration(secs)}${rate}`;
      write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}
