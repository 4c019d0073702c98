/**
 * The resumable state of a `fit` run as one pytree of tensors (`TrainCheckpoint`): params,
 * optimizer state, model state, the run's root PRNG key, the position (global step, epoch, batch
 * within the epoch, samples seen), the learning-rate factor and the history so far. Numbers are
 * stored as float32 pairs (hi + lo) so histories and running sums survive a save/load exactly
 * enough to resume to the same values.
 */
import { Tensor } from "../core/tensor.js";
import { tensor } from "../ops/creation.js";
import type { OptState } from "../optim/core.js";

/** Everything `fit({ resume })` needs to continue a run exactly where it stopped. */
export interface TrainCheckpoint {
  readonly params: unknown;
  readonly optState: OptState;
  /** The model state, or an empty object when the run has none. */
  readonly state: unknown;
  /** The run's root key (the one `fit` split into init, shuffle and step keys). */
  readonly key: Tensor;
  /** int32 [4]: optimizer steps done, epoch, batches done in that epoch, samples seen in it. */
  readonly progress: Tensor;
  /** Float32 [2, n] hi/lo pairs: history series, running sums of the epoch, `lrScale` ([2, 1]). */
  readonly numbers: { readonly history: Readonly<Record<string, Tensor>>; readonly sums: Readonly<Record<string, Tensor>>; readonly lrScale: Tensor };
}

/** The decoded position of a checkpoint. */
export interface RunPosition {
  readonly step: number;
  readonly epoch: number;
  readonly batch: number;
  readonly seen: number;
  readonly lrScale: number;
  readonly history: Record<string, number[]>;
  readonly sums: Record<string, number>;
}

/** @internal numbers as a [2, n] float32 tensor of hi/lo parts. */
export function encodeNumbers(v: readonly number[]): Tensor {
  const out = new Float32Array(2 * v.length);
  v.forEach((x, i) => {
    const hi = Math.fround(x);
    out[i] = hi;
    out[v.length + i] = Number.isFinite(x) ? Math.fround(x - hi) : 0;
  });
  return tensor(out, { shape: [2, v.length] });
}

/** @internal the inverse of `encodeNumbers`, from host data. */
export function decodeNumbers(data: ArrayLike<number>): number[] {
  const n = data.length / 2;
  return Array.from({ length: n }, (_, i) => Number(data[i]) + Number(data[n + i]));
}

/** @internal builds a checkpoint tree. */
export function makeCheckpoint(params: unknown, optState: OptState, state: unknown, key: Tensor, pos: RunPosition): TrainCheckpoint {
  const enc = (r: Readonly<Record<string, number[]>>): Record<string, Tensor> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, encodeNumbers(v)]));
  return {
    params,
    optState,
    state: state ?? {},
    key,
    progress: tensor(new Int32Array([pos.step, pos.epoch, pos.batch, pos.seen]), { shape: [4], dtype: "int32" }),
    numbers: {
      history: enc(pos.history),
      sums: enc(Object.fromEntries(Object.entries(pos.sums).map(([k, v]) => [k, [v]]))),
      lrScale: encodeNumbers([pos.lrScale]),
    },
  };
}

/** Checks that `ck` looks like a checkpoint, with an error naming what is missing. */
export function checkCheckpoint(ck: unknown, who: string): asserts ck is TrainCheckpoint {
  const o = ck as Partial<TrainCheckpoint> | null;
  const missing = ["params", "optState", "key", "progress", "numbers"].filter((k) => o === null || typeof o !== "object" || !(k in o));
  if (missing.length) throw new TypeError(`${who}: resume must be a checkpoint from modelCheckpoint or ctl.checkpoint() (missing ${missing.join(", ")})`);
  if (!(o!.progress instanceof Tensor) || o!.progress.size !== 4) throw new TypeError(`${who}: the checkpoint's progress must be an int32 tensor of 4 entries`);
}
