/**
 * Learning-rate schedules (Optax conventions): functions of the step count that build a scalar
 * float32 tensor with ops, so they run inside a jitted train step on a traced step counter.
 */
import { Tensor } from "../core/tensor.js";
import type { TensorLike } from "../ops/base.js";
import { astype, cos, exp, floor, less, maximum, minimum, multiply, where, add, subtract, divide } from "../ops/elementwise.js";
import { scalar } from "../ops/creation.js";

/**
 * A schedule maps the step count (a scalar tensor, or a plain number) to a value. Schedules in
 * `schedules.*` return a float32 scalar tensor; a user schedule may return a number or a tensor,
 * but must compute with ops when given a tensor (it may be traced under `jit`).
 */
export type Schedule = (step: Tensor) => TensorLike;

/** A learning rate: a constant or a schedule of the step count. */
export type LearningRate = number | Schedule;

function stepTensor(step: TensorLike): Tensor {
  return step instanceof Tensor ? astype(step, "float32") : scalar(Number(step));
}

function checkPositive(name: string, what: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`schedules.${name}: ${what} must be a positive number, got ${v}`);
}

/** Options of `exponentialDecay`. */
export interface ExponentialDecayOptions {
  /** Value at step 0. */
  readonly init: number;
  /** Multiplier applied every `transitionSteps` steps. */
  readonly decayRate: number;
  /** Steps per factor of `decayRate`. */
  readonly transitionSteps: number;
  /** Decay in discrete jumps (floor of step / transitionSteps) instead of smoothly. */
  readonly staircase?: boolean;
}

/**
 * `init * decayRate ** (step / transitionSteps)` (the exponent floored with `staircase`).
 * @example
 * ```ts
 * import { schedules } from "tenfold/optim";
 * const s = schedules.exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 10 });
 * console.log(s(20).itemSync()); // 0.25
 * const st = schedules.exponentialDecay({ init: 1, decayRate: 0.5, transitionSteps: 10, staircase: true });
 * console.log(st(15).itemSync()); // 0.5
 * ```
 */
export function exponentialDecay(options: ExponentialDecayOptions): (step: TensorLike) => Tensor {
  const { init, decayRate, transitionSteps, staircase = false } = options;
  checkPositive("exponentialDecay", "transitionSteps", transitionSteps);
  checkPositive("exponentialDecay", "decayRate", decayRate);
  const logRate = Math.log(decayRate);
  return (step) => {
    let p = divide(stepTensor(step), transitionSteps);
    if (staircase) p = floor(p);
    return multiply(init, exp(multiply(p, logRate)));
  };
}

/** Options of `cosineDecay`. */
export interface CosineDecayOptions {
  /** Value at step 0. */
  readonly init: number;
  /** Steps over which the value decays; constant afterwards. */
  readonly decaySteps: number;
  /** Final value as a fraction of `init` (default 0). */
  readonly alpha?: number;
}

/**
 * Cosine decay (Loshchilov & Hutter, SGDR without restarts):
 * `init * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decaySteps) / decaySteps)) + alpha)`.
 * @example
 * ```ts
 * import { schedules } from "tenfold/optim";
 * const s = schedules.cosineDecay({ init: 1, decaySteps: 100 });
 * console.log(s(0).itemSync(), s(50).itemSync(), s(200).itemSync()); // 1 0.5 0 (up to rounding)
 * ```
 */
export function cosineDecay(options: CosineDecayOptions): (step: TensorLike) => Tensor {
  const { init, decaySteps, alpha = 0 } = options;
  checkPositive("cosineDecay", "decaySteps", decaySteps);
  return (step) => {
    const s = minimum(stepTensor(step), decaySteps);
    const c = multiply(0.5, add(1, cos(multiply(s, Math.PI / decaySteps))));
    return multiply(init, add(multiply(c, 1 - alpha), alpha));
  };
}

/** Options of `warmupCosine`. */
export interface WarmupCosineOptions {
  /** Value reached at the end of warmup. */
  readonly peak: number;
  /** Steps of linear warmup from `init` to `peak`. */
  readonly warmupSteps: number;
  /** Total length of the schedule, warmup included (Optax convention). */
  readonly decaySteps: number;
  /** Final value (default 0). */
  readonly end?: number;
  /** Value at step 0 (default 0). */
  readonly init?: number;
}

/**
 * Linear warmup from `init` to `peak` over `warmupSteps`, then cosine decay to `end` at step
 * `decaySteps` (which counts the warmup, as in Optax's `warmup_cosine_decay_schedule`).
 * @example
 * ```ts
 * import { schedules } from "tenfold/optim";
 * const s = schedules.warmupCosine({ peak: 1, warmupSteps: 10, decaySteps: 110, end: 0 });
 * console.log(s(5).itemSync(), s(10).itemSync(), s(60).itemSync()); // 0.5 1 0.5 (up to rounding)
 * ```
 */
export function warmupCosine(options: WarmupCosineOptions): (step: TensorLike) => Tensor {
  const { peak, warmupSteps, decaySteps, end = 0, init = 0 } = options;
  if (!(warmupSteps >= 0)) throw new RangeError(`schedules.warmupCosine: warmupSteps must be >= 0, got ${warmupSteps}`);
  if (!(decaySteps > warmupSteps)) {
    throw new RangeError(`schedules.warmupCosine: decaySteps (${decaySteps}) must exceed warmupSteps (${warmupSteps}); decaySteps counts the warmup`);
  }
  const span = decaySteps - warmupSteps;
  return (step) => {
    const s = stepTensor(step);
    const warm = warmupSteps > 0 ? add(init, multiply(s, (peak - init) / warmupSteps)) : scalar(peak);
    const t = minimum(maximum(subtract(s, warmupSteps), 0), span);
    const c = multiply(0.5, add(1, cos(multiply(t, Math.PI / span))));
    const decayed = add(end, multiply(c, peak - end));
    return where(less(s, warmupSteps), warm, decayed);
  };
}

/**
 * A constant schedule (handy in `chain`s and tests).
 * @example
 * ```ts
 * import { schedules } from "tenfold/optim";
 * console.log(schedules.constant(0.1)(7).itemSync()); // 0.1 (in float32)
 * ```
 */
export function constant(value: number): (step: TensorLike) => Tensor {
  return () => scalar(value);
}
