/**
 * `modelCheckpoint`: saves the resumable state of a `fit` run (a `TrainCheckpoint`: params,
 * optimizer state, model state, step, PRNG key, data-order position, history) as the last
 * checkpoint (every epoch, and every `everySteps` steps), and the best one by a monitored metric.
 * Saving goes through `tenfold/io`'s `save(path, tree)` unless a `save` function is given.
 */
import { save as ioSave } from "../io/checkpoint.js";
import type { Callback } from "./callbacks.js";
import type { TrainCheckpoint } from "./state.js";

/** Writes a checkpoint tree to a path (may be asynchronous). */
export type SaveFn = (path: string, tree: TrainCheckpoint) => void | Promise<void>;

/** Options of `modelCheckpoint`. */
export interface ModelCheckpointOptions {
  /** Where the last checkpoint goes (overwritten each time); omit to keep only the best. */
  readonly path?: string;
  /** Where the best checkpoint by `monitor` goes; omit to keep only the last. */
  readonly bestPath?: string;
  /** Keras style: save only the best checkpoint, to `path` (same as `{ bestPath: path }`). */
  readonly saveBestOnly?: boolean;
  /** The series that decides "best" (default `valLoss`, or `loss` without validation). */
  readonly monitor?: string;
  readonly mode?: "min" | "max";
  /** Also save the last checkpoint every this many optimizer steps (mid-epoch; default: epochs only). */
  readonly everySteps?: number;
  /** The writer (default: `save` from `tenfold/io`, atomic: a crash never leaves a torn file). */
  readonly save?: SaveFn;
}

/** Runs `jobs` one after another; synchronous unless one of them returns a promise. */
function inOrder(jobs: readonly (() => void | Promise<void>)[]): void | Promise<void> {
  for (let i = 0; i < jobs.length; i++) {
    const r = jobs[i]!();
    if (r instanceof Promise) return r.then(() => inOrder(jobs.slice(i + 1)));
  }
}

/**
 * Saves checkpoints during `fit`: the last state at every epoch end (and every `everySteps`
 * steps) to `path`, and the state of the best epoch by `monitor` to `bestPath`. A run resumes
 * with `fit({ ...sameOptions, resume: await load(path) })` and reaches the same final weights as
 * a run that was never interrupted.
 * @example
 * ```ts
 * import { tensor, square, mean, subtract, multiply } from "tenfold";
 * import { sgd } from "tenfold/optim";
 * import { fit, modelCheckpoint } from "tenfold/train";
 * import type { TrainCheckpoint } from "tenfold/train";
 * const saved = new Map<string, TrainCheckpoint>();
 * const opts = {
 *   init: { w: tensor([[0]]) },
 *   loss: (p: { w: ReturnType<typeof tensor> }, b: { x: ReturnType<typeof tensor>; y: ReturnType<typeof tensor> }) => mean(square(subtract(multiply(b.x, p.w), b.y))),
 *   optimizer: sgd({ lr: 0.1 }), data: { x: tensor([[1], [2]]), y: tensor([[2], [4]]) }, batchSize: 1,
 * };
 * await fit({ ...opts, epochs: 2, callbacks: [modelCheckpoint({ path: "last", save: (p, t) => void saved.set(p, t) })] });
 * const more = await fit({ ...opts, epochs: 4, resume: saved.get("last") }); // epochs 3 and 4 only
 * const all = await fit({ ...opts, epochs: 4 });
 * console.log(more.params.w.itemSync() === all.params.w.itemSync()); // true
 * ```
 */
export function modelCheckpoint(options: ModelCheckpointOptions): Callback {
  const { mode = "min", everySteps } = options;
  const path = options.saveBestOnly ? undefined : options.path;
  const bestPath = options.saveBestOnly ? (options.bestPath ?? options.path) : options.bestPath;
  if (path === undefined && bestPath === undefined) throw new TypeError("modelCheckpoint: give path (last checkpoint) and/or bestPath (best checkpoint)");
  if (everySteps !== undefined && (!Number.isInteger(everySteps) || everySteps < 1))
    throw new RangeError(`modelCheckpoint: everySteps must be a positive integer, got ${everySteps}`);
  if (everySteps !== undefined && path === undefined) throw new TypeError("modelCheckpoint: everySteps saves the last checkpoint; give path too");
  const save: SaveFn = options.save ?? ioSave;
  let best = Infinity;
  return {
    kind: "modelCheckpoint",
    onTrainBegin() {
      best = Infinity;
    },
    onBatchEnd(_step, _logs, _info, ctl) {
      if (everySteps !== undefined && ctl.step % everySteps === 0) return save(path!, ctl.checkpoint());
    },
    onEpochEnd(e) {
      const jobs: (() => void | Promise<void>)[] = [];
      if (bestPath !== undefined) {
        const name = options.monitor ?? (e.logs.valLoss !== undefined ? "valLoss" : "loss");
        const v = e.logs[name];
        if (v === undefined) throw new Error(`modelCheckpoint: no "${name}" in the epoch logs (have ${Object.keys(e.logs).join(", ")})`);
        const score = mode === "min" ? v : -v;
        if (score < best) {
          best = score;
          const ck = e.checkpoint();
          jobs.push(() => save(bestPath, ck));
        }
      }
      if (path !== undefined) {
        const ck = e.checkpoint();
        jobs.push(() => save(path, ck));
      }
      return inOrder(jobs);
    },
  };
}
