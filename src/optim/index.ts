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
export type { GradientTransformation, OptState } from "./core.js";
export { applyUpdates, globalNorm, chain, clipByGlobalNorm, addDecayedWeights, scaleByLearningRate } from "./core.js";
export type { SgdOptions, AdamOptions, AdamWOptions, RmspropOptions } from "./optimizers.js";
export { sgd, adam, adamw, rmsprop } from "./optimizers.js";
export type { Schedule, LearningRate, ExponentialDecayOptions, CosineDecayOptions, WarmupCosineOptions } from "./schedules.js";
export * as schedules from "./schedules.js";
