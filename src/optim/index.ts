/**
 * Entry point of `tenfold/optim` (also `optim` from `tenfold`): Optax-style pure optimizers,
 * combinators and learning-rate schedules.
 *
 * ```
 * const opt = optim.adam({ lr: 1e-3 });
 * let s = opt.init(params);
 * const [updates, s2] = opt.update(grads, s, params);
 * params = optim.applyUpdates(params, updates);
 * ```
 */
import type * as core from "./core.js";
import type * as sched from "./schedules.js";

// Types re-declared as local aliases (not re-exported): the declaration bundler otherwise emits
// them as values inside the `optim` namespace of the root entry (tests/build checks this).
/** Optimizer state: a pytree of tensors. */
export type OptState = core.OptState;
/** An Optax-style pure transform: `init(params)` and `update(grads, state, params?)`. */
export type GradientTransformation = core.GradientTransformation;
/** A learning-rate schedule of the step. */
export type Schedule = sched.Schedule;
/** A constant learning rate or a schedule. */
export type LearningRate = sched.LearningRate;
/** Options of `schedules.exponentialDecay`. */
export type ExponentialDecayOptions = sched.ExponentialDecayOptions;
/** Options of `schedules.cosineDecay`. */
export type CosineDecayOptions = sched.CosineDecayOptions;
/** Options of `schedules.warmupCosine`. */
export type WarmupCosineOptions = sched.WarmupCosineOptions;
export { applyUpdates, globalNorm, chain, clipByGlobalNorm, addDecayedWeights, scaleByLearningRate } from "./core.js";
export type { SgdOptions, AdamOptions, AdamWOptions, RmspropOptions } from "./optimizers.js";
export { sgd, adam, adamw, rmsprop } from "./optimizers.js";
export * as schedules from "./schedules.js";
export type { AdagradOptions, AdadeltaOptions, NadamOptions, LionOptions } from "./more.js";
export { adagrad, adadelta, nadam, lion } from "./more.js";
