/**
 * The optimizers: SGD with (Nesterov) momentum, Adam, AdamW and RMSProp, each a single pure
 * GradientTransformation whose state is `{ count, ...moments }` (tensors only). Updates follow
 * Optax's sign convention: they are added to the params (`applyUpdates`).
 */
import type { Tensor } from "../core/tensor.js";
import { add, astype, divide, multiply, negative, pow, sqrt, square, subtract } from "../ops/elementwise.js";
import { zerosLike } from "../ops/creation.js";
import type { GradientTransformation, OptState } from "./core.js";
import { field, lrAt, mapLeaves, zeroCount } from "./core.js";
import type { LearningRate } from "./schedules.js";

/** Options of `sgd`. */
export interface SgdOptions {
  /** Learning rate (a number or a schedule). */
  readonly lr: LearningRate;
  /** Momentum coefficient (default 0: plain SGD). */
  readonly momentum?: number;
  /** Nesterov momentum (Sutskever et al. 2013 form used by Optax and PyTorch). */
  readonly nesterov?: boolean;
}

function zerosOf<T>(params: T): T {
  return mapLeaves((p) => zerosLike(p, { dtype: "float32" }), params);
}

/**
 * Stochastic gradient descent. With momentum `m`: `t = g + m * t`, step `-lr * t`; with Nesterov:
 * step `-lr * (g + m * t)`. State: `{ count, trace }`.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { sgd, applyUpdates } from "tenfold/optim";
 * const opt = sgd({ lr: 0.1, momentum: 0.9 });
 * let params = { w: tensor([1]) };
 * let state = opt.init(params);
 * for (let i = 0; i < 2; i++) {
 *   const [u, s] = opt.update({ w: tensor([1]) }, state, params);
 *   params = applyUpdates(params, u);
 *   state = s;
 * }
 * console.log(params.w.arraySync()); // [0.71]: 1 - 0.1 - 0.19 (up to rounding)
 * ```
 */
export function sgd(options: SgdOptions): GradientTransformation {
  const { lr, momentum = 0, nesterov = false } = options;
  if (!(momentum >= 0)) throw new RangeError(`sgd: momentum must be >= 0, got ${momentum}`);
  return {
    init: (params) => ({ count: zeroCount(), trace: momentum > 0 ? zerosOf(params) : null }) as OptState,
    update<U>(grads: U, state: OptState): [U, OptState] {
      const count = field<Tensor>(state, "count", "sgd");
      const rate = negative(lrAt(lr, count));
      if (momentum === 0) return [mapLeaves((g) => multiply(g, rate), grads), { count: add(count, 1), trace: null }];
      const trace = mapLeaves((g, t) => add(g, multiply(momentum, t)), grads, field(state, "trace", "sgd"));
      const dir = nesterov ? mapLeaves((g, t) => add(g, multiply(momentum, t)), grads, trace) : trace;
      return [mapLeaves((d) => multiply(d, rate), dir), { count: add(count, 1), trace: trace as OptState }];
    },
  };
}

/** Options of `adam`. */
export interface AdamOptions {
  /** Learning rate (a number or a schedule); default 1e-3. */
  readonly lr?: LearningRate;
  /** Decay of the first moment (default 0.9). */
  readonly b1?: number;
  /** Decay of the second moment (default 0.999). */
  readonly b2?: number;
  /** Added to the denominator (default 1e-8). */
  readonly eps?: number;
}

/** The bias-corrected Adam direction `m̂ / (sqrt(v̂) + eps)` and the new moments. */
function adamDirection<U>(grads: U, state: OptState, b1: number, b2: number, eps: number, name: string): { dir: U; mu: U; nu: U; count: Tensor } {
  const count = add(field<Tensor>(state, "count", name), 1);
  const mu = mapLeaves((g, m) => add(multiply(b1, m), multiply(1 - b1, g)), grads, field(state, "mu", name));
  const nu = mapLeaves((g, v) => add(multiply(b2, v), multiply(1 - b2, square(g))), grads, field(state, "nu", name));
  const t = astype(count, "float32");
  const c1 = subtract(1, pow(b1, t));
  const c2 = subtract(1, pow(b2, t));
  const dir = mapLeaves((m, v) => divide(divide(m, c1), add(sqrt(divide(v, c2)), eps)), mu, nu);
  return { dir, mu, nu, count };
}

function adamLike(name: string, lr: LearningRate, b1: number, b2: number, eps: number, weightDecay: number): GradientTransformation {
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new RangeError(`${name}: b1 and b2 must be in [0, 1), got ${b1}, ${b2}`);
  return {
    init: (params) => ({ count: zeroCount(), mu: zerosOf(params), nu: zerosOf(params) }) as OptState,
    update<U>(grads: U, state: OptState, params?: U): [U, OptState] {
      const { dir, mu, nu, count } = adamDirection(grads, state, b1, b2, eps, name);
      const rate = negative(lrAt(lr, field<Tensor>(state, "count", name)));
      let d = dir;
      if (weightDecay !== 0) {
        if (params === undefined) throw new TypeError(`${name}: update(grads, state, params) needs params for weight decay`);
        d = mapLeaves((x, p) => add(x, multiply(weightDecay, p)), dir, params);
      }
      return [mapLeaves((x) => multiply(x, rate), d), { count, mu, nu } as OptState];
    },
  };
}

/**
 * Adam (Kingma & Ba 2015): `m = b1 m + (1-b1) g`, `v = b2 v + (1-b2) g²`, step
 * `-lr * m̂ / (sqrt(v̂) + eps)` with `m̂ = m / (1 - b1^t)`, `v̂ = v / (1 - b2^t)`.
 * State: `{ count, mu, nu }`.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { adam } from "tenfold/optim";
 * const opt = adam({ lr: 0.1 });
 * const params = { w: tensor([1, -1]) };
 * const [u] = opt.update({ w: tensor([5, -0.01]) }, opt.init(params), params);
 * console.log(u.w.arraySync()); // [-0.1, 0.1]: the first step is lr * sign(g) (up to eps)
 * ```
 */
export function adam(options: AdamOptions = {}): GradientTransformation {
  const { lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8 } = options;
  return adamLike("adam", lr, b1, b2, eps, 0);
}

/** Options of `adamw`. */
export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay coefficient (default 1e-4, as Optax). */
  readonly weightDecay?: number;
}

/**
 * AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, step
 * `-lr * (m̂ / (sqrt(v̂) + eps) + weightDecay * params)`. `update` needs `params`.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { adamw } from "tenfold/optim";
 * const opt = adamw({ lr: 0.1, weightDecay: 0.5 });
 * const params = { w: tensor([2]) };
 * const [u] = opt.update({ w: tensor([3]) }, opt.init(params), params);
 * console.log(u.w.arraySync()); // [-0.2]: -0.1 * (1 + 0.5 * 2) (up to rounding)
 * ```
 */
export function adamw(options: AdamWOptions = {}): GradientTransformation {
  const { lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, weightDecay = 1e-4 } = options;
  return adamLike("adamw", lr, b1, b2, eps, weightDecay);
}

/** Options of `rmsprop`. */
export interface RmspropOptions {
  /** Learning rate (a number or a schedule); default 1e-3. */
  readonly lr?: LearningRate;
  /** Decay of the running mean of squared gradients (default 0.9, Hinton's lecture and Optax). */
  readonly decay?: number;
  /** Added to the denominator (default 1e-8). */
  readonly eps?: number;
  /** Momentum on the scaled gradient (default 0). */
  readonly momentum?: number;
  /** Divide by the running variance instead of the second moment (Graves 2013). */
  readonly centered?: boolean;
}

/**
 * RMSProp (Tieleman & Hinton 2012): `v = decay v + (1-decay) g²`, step `-lr * g / (sqrt(v) + eps)`
 * (PyTorch's placement of eps). With momentum: `b = momentum b + g / (sqrt(v) + eps)`, step
 * `-lr * b`. Centered: `sqrt(v - mg²)` with `mg` the running mean of g. State:
 * `{ count, nu, mg, trace }` (unused moments are null).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { rmsprop } from "tenfold/optim";
 * const opt = rmsprop({ lr: 0.01, decay: 0.9 });
 * const params = { w: tensor([1]) };
 * const [u] = opt.update({ w: tensor([2]) }, opt.init(params), params);
 * console.log(u.w.arraySync()); // [-0.0316...]: -0.01 * 2 / sqrt(0.1 * 4)
 * ```
 */
export function rmsprop(options: RmspropOptions = {}): GradientTransformation {
  const { lr = 1e-3, decay = 0.9, eps = 1e-8, momentum = 0, centered = false } = options;
  if (!(decay >= 0 && decay < 1)) throw new RangeError(`rmsprop: decay must be in [0, 1), got ${decay}`);
  return {
    init: (params) =>
      ({
        count: zeroCount(),
        nu: zerosOf(params),
        mg: centered ? zerosOf(params) : null,
        trace: momentum > 0 ? zerosOf(params) : null,
      }) as OptState,
    update<U>(grads: U, state: OptState): [U, OptState] {
      const count = field<Tensor>(state, "count", "rmsprop");
      const nu = mapLeaves((g, v) => add(multiply(decay, v), multiply(1 - decay, square(g))), grads, field(state, "nu", "rmsprop"));
      let mg: U | null = null;
      let denomSq: U = nu;
      if (centered) {
        const mgNew = mapLeaves((g, m) => add(multiply(decay, m), multiply(1 - decay, g)), grads, field(state, "mg", "rmsprop"));
        denomSq = mapLeaves((v, m) => subtract(v, square(m)), nu, mgNew);
        mg = mgNew;
      }
      let dir = mapLeaves((g, v) => divide(g, add(sqrt(v), eps)), grads, denomSq);
      let trace: U | null = null;
      if (momentum > 0) {
        dir = mapLeaves((d, b) => add(multiply(momentum, b), d), dir, field(state, "trace", "rmsprop"));
        trace = dir;
      }
      const rate = negative(lrAt(lr, count));
      const next = { count: add(count, 1), nu, mg, trace } as OptState;
      return [mapLeaves((d) => multiply(d, rate), dir), next];
    },
  };
}
