/**
 * More optimizers with Optax semantics: Adagrad, Adadelta, Nadam and Lion. Each is one pure
 * GradientTransformation whose state is a tree of tensors; updates are added to the params
 * (`applyUpdates`). Formulas and defaults follow optax 0.2 (`optax.adagrad`, `optax.adadelta`,
 * `optax.nadam`, `optax.lion`); tests/coreops/optim.test.ts checks them against optax fixtures.
 */
import type { Tensor } from "../core/tensor.js";
import { add, astype, divide, greater, multiply, negative, pow, rsqrt, sign, sqrt, square, subtract, where } from "../ops/elementwise.js";
import { fullLike, zerosLike } from "../ops/creation.js";
import type { GradientTransformation, OptState } from "./core.js";
import { field, lrAt, mapLeaves, zeroCount } from "./core.js";
import type { LearningRate } from "./schedules.js";

function zerosOf<T>(params: T): T {
  return mapLeaves((p) => zerosLike(p, { dtype: "float32" }), params);
}

function scaled<U>(dir: U, lr: LearningRate, count: Tensor): U {
  const rate = negative(lrAt(lr, count));
  return mapLeaves((d) => multiply(d, rate), dir);
}

function decayed<U>(dir: U, weightDecay: number, params: U | undefined, name: string): U {
  if (weightDecay === 0) return dir;
  if (params === undefined) throw new TypeError(`${name}: update(grads, state, params) needs params for weightDecay`);
  return mapLeaves((d, p) => add(d, multiply(weightDecay, p)), dir, params);
}

function unitInterval(name: string, what: string, v: number): void {
  if (!(v >= 0 && v < 1)) throw new RangeError(`${name}: ${what} must be in [0, 1), got ${v}`);
}

/** Options of `adagrad`. */
export interface AdagradOptions {
  /** Learning rate (a number or a schedule). */
  readonly lr: LearningRate;
  /** Starting value of the sum of squared gradients (default 0.1, >= 0). */
  readonly initialAccumulatorValue?: number;
  /** Added under the square root (default 1e-7). */
  readonly eps?: number;
}

/**
 * Adagrad (Duchi et al. 2011), as `optax.adagrad`: `s = s + g²`, step
 * `-lr * g / sqrt(s + eps)` (0 where `s` is 0). State: `{ count, sumOfSquares }`.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { adagrad } from "tenfold/optim";
 * const opt = adagrad({ lr: 0.1, initialAccumulatorValue: 0 });
 * const params = { w: tensor([1]) };
 * const [u] = opt.update({ w: tensor([2]) }, opt.init(params), params);
 * console.log(u.w.arraySync()); // ≈[-0.1]: -0.1 * 2 / sqrt(4)
 * ```
 */
export function adagrad(options: AdagradOptions): GradientTransformation {
  const { lr, initialAccumulatorValue = 0.1, eps = 1e-7 } = options;
  if (!(initialAccumulatorValue >= 0)) throw new RangeError(`adagrad: initialAccumulatorValue must be >= 0, got ${initialAccumulatorValue}`);
  return {
    init: (params) => ({ count: zeroCount(), sumOfSquares: mapLeaves((p) => fullLike(p, initialAccumulatorValue, { dtype: "float32" }), params) }) as OptState,
    update<U>(grads: U, state: OptState): [U, OptState] {
      const count = field<Tensor>(state, "count", "adagrad");
      const sos = mapLeaves((g, s) => add(square(g), s), grads, field(state, "sumOfSquares", "adagrad"));
      const dir = mapLeaves((g, s) => multiply(where(greater(s, 0), rsqrt(add(s, eps)), 0), g), grads, sos);
      return [scaled(dir, lr, count), { count: add(count, 1), sumOfSquares: sos } as OptState];
    },
  };
}

/** Options of `adadelta`. */
export interface AdadeltaOptions {
  /** Learning rate (a number or a schedule); default 1 (Zeiler's method has none; PyTorch's default). */
  readonly lr?: LearningRate;
  /** Decay of the running averages (default 0.9). */
  readonly rho?: number;
  /** Added under both square roots (default 1e-6). */
  readonly eps?: number;
  /** Weight decay added to the direction before scaling (default 0); needs params. */
  readonly weightDecay?: number;
}

/**
 * Adadelta (Zeiler 2012), as `optax.adadelta`: `eg = rho eg + (1-rho) g²`,
 * `d = sqrt(ex + eps) / sqrt(eg + eps) * g`, `ex = rho ex + (1-rho) d²`, step
 * `-lr * d`, where `g` already includes `weightDecay * params` (Optax applies the decay first). State: `{ count, eG, eX }`.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { adadelta } from "tenfold/optim";
 * const opt = adadelta({ lr: 1, rho: 0.9, eps: 1e-6 });
 * const params = { w: tensor([1]) };
 * const [u] = opt.update({ w: tensor([1]) }, opt.init(params), params);
 * console.log(u.w.arraySync()); // ≈[-0.00316]: -sqrt(1e-6) / sqrt(0.1 + 1e-6)
 * ```
 */
export function adadelta(options: AdadeltaOptions = {}): GradientTransformation {
  const { lr = 1, rho = 0.9, eps = 1e-6, weightDecay = 0 } = options;
  unitInterval("adadelta", "rho", rho);
  return {
    init: (params) => ({ count: zeroCount(), eG: zerosOf(params), eX: zerosOf(params) }) as OptState,
    update<U>(raw: U, state: OptState, params?: U): [U, OptState] {
      const count = field<Tensor>(state, "count", "adadelta");
      const grads = decayed(raw, weightDecay, params, "adadelta");
      const eG = mapLeaves((g, e) => add(multiply(rho, e), multiply(1 - rho, square(g))), grads, field(state, "eG", "adadelta"));
      const d = mapLeaves((g, eg, ex) => multiply(divide(sqrt(add(ex, eps)), sqrt(add(eg, eps))), g), grads, eG, field(state, "eX", "adadelta"));
      const eX = mapLeaves((x, e) => add(multiply(rho, e), multiply(1 - rho, square(x))), d, field(state, "eX", "adadelta"));
      return [scaled(d, lr, count), { count: add(count, 1), eG, eX } as OptState];
    },
  };
}

/** Options of `nadam`. */
export interface NadamOptions {
  /** Learning rate (a number or a schedule); default 1e-3. */
  readonly lr?: LearningRate;
  /** Decay of the first moment (default 0.9). */
  readonly b1?: number;
  /** Decay of the second moment (default 0.999). */
  readonly b2?: number;
  /** Added to the denominator (default 1e-8). */
  readonly eps?: number;
}

/**
 * Nadam (Dozat 2016), as `optax.nadam` (Adam with a Nesterov first moment):
 * `m = b1 m + (1-b1) g`, `v = b2 v + (1-b2) g²`,
 * `m̂ = b1 m / (1 - b1^(t+1)) + (1-b1) g / (1 - b1^t)`, `v̂ = v / (1 - b2^t)`, step
 * `-lr * m̂ / (sqrt(v̂) + eps)`. State: `{ count, mu, nu }`.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { nadam } from "tenfold/optim";
 * const opt = nadam({ lr: 0.1 });
 * const params = { w: tensor([1]) };
 * const [u] = opt.update({ w: tensor([3]) }, opt.init(params), params);
 * console.log(u.w.arraySync()); // ≈[-0.1474]: -0.1 * (0.09 * 3 / 0.19 + 3) / 3
 * ```
 */
export function nadam(options: NadamOptions = {}): GradientTransformation {
  const { lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8 } = options;
  unitInterval("nadam", "b1", b1);
  unitInterval("nadam", "b2", b2);
  return {
    init: (params) => ({ count: zeroCount(), mu: zerosOf(params), nu: zerosOf(params) }) as OptState,
    update<U>(grads: U, state: OptState): [U, OptState] {
      const count0 = field<Tensor>(state, "count", "nadam");
      const count = add(count0, 1);
      const mu = mapLeaves((g, m) => add(multiply(b1, m), multiply(1 - b1, g)), grads, field(state, "mu", "nadam"));
      const nu = mapLeaves((g, v) => add(multiply(b2, v), multiply(1 - b2, square(g))), grads, field(state, "nu", "nadam"));
      const t = astype(count, "float32");
      const c1 = subtract(1, pow(b1, t));
      const c1next = subtract(1, pow(b1, add(t, 1)));
      const c2 = subtract(1, pow(b2, t));
      const mHat = mapLeaves((m, g) => add(divide(multiply(b1, m), c1next), divide(multiply(1 - b1, g), c1)), mu, grads);
      const dir = mapLeaves((m, v) => divide(m, add(sqrt(divide(v, c2)), eps)), mHat, nu);
      return [scaled(dir, lr, count0), { count, mu, nu } as OptState];
    },
  };
}

/** Options of `lion`. */
export interface LionOptions {
  /** Learning rate (a number or a schedule); default 1e-4 (Lion wants 3-10x less than Adam). */
  readonly lr?: LearningRate;
  /** Interpolation of gradient and momentum for the sign (default 0.9). */
  readonly b1?: number;
  /** Decay of the momentum (default 0.99). */
  readonly b2?: number;
  /** Decoupled weight decay (default 1e-3, as Optax); needs params when nonzero. */
  readonly weightDecay?: number;
}

/**
 * Lion (Chen et al. 2023), as `optax.lion`: step `-lr * (sign((1-b1) g + b1 m) + weightDecay *
 * params)`, then `m = b2 m + (1-b2) g`. State: `{ count, mu }`.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { lion } from "tenfold/optim";
 * const opt = lion({ lr: 0.1, weightDecay: 0 });
 * const params = { w: tensor([1, 1]) };
 * const [u] = opt.update({ w: tensor([0.5, -2]) }, opt.init(params), params);
 * console.log(u.w.arraySync()); // [-0.1, 0.1]: -lr * sign(g) at the first step
 * ```
 */
export function lion(options: LionOptions = {}): GradientTransformation {
  const { lr = 1e-4, b1 = 0.9, b2 = 0.99, weightDecay = 1e-3 } = options;
  unitInterval("lion", "b1", b1);
  unitInterval("lion", "b2", b2);
  return {
    init: (params) => ({ count: zeroCount(), mu: zerosOf(params) }) as OptState,
    update<U>(grads: U, state: OptState, params?: U): [U, OptState] {
      const count = field<Tensor>(state, "count", "lion");
      const mu0 = field(state, "mu", "lion");
      const d = mapLeaves((g, m) => sign(add(multiply(1 - b1, g), multiply(b1, m))), grads, mu0);
      const mu = mapLeaves((g, m) => add(multiply(b2, m), multiply(1 - b2, g)), grads, mu0);
      const dir = decayed(d, weightDecay, params, "lion");
      return [scaled(dir, lr, count), { count: add(count, 1), mu } as OptState];
    },
  };
}
