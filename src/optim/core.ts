/**
 * The optimizer protocol (Optax's GradientTransformation) and the combinators on it: `chain`,
 * `clipByGlobalNorm`, `addDecayedWeights`, `scaleByLearningRate`, plus `applyUpdates` and
 * `globalNorm`. Everything is pure: state in, state out, a pytree of tensors throughout.
 */
import { Tensor } from "../core/tensor.js";
import { ShapeError, fmtShape } from "../core/errors.js";
import type { PyTree } from "../core/tree.js";
import * as tree from "../core/tree.js";
import type { TensorLike } from "../ops/base.js";
import { add, astype, divide, less, multiply, negative, sqrt, square, where } from "../ops/elementwise.js";
import { sum } from "../ops/reduce.js";
import { tensor } from "../ops/creation.js";
import type { LearningRate } from "./schedules.js";

/** Optimizer state: a pytree of tensors (so a jitted train step can carry it). */
export type OptState = PyTree<Tensor>;

/**
 * A pure gradient transformation: `init(params)` builds the state; `update(updates, state, params)`
 * maps incoming updates (gradients, or the previous transformation's output) to outgoing updates
 * and the new state. Add the final updates to the params with `applyUpdates`.
 */
export interface GradientTransformation {
  init(params: unknown): OptState;
  update<U>(updates: U, state: OptState, params?: U): [U, OptState];
}

/**
 * Throws a ShapeError naming `op` unless every tree in `rest` has the structure of `t` and the
 * same leaf shapes (e.g. gradients that do not match the optimizer state built from the params).
 */
function checkTrees(op: string, what: readonly string[], t: unknown, rest: readonly unknown[]): void {
  const [ls, def] = tree.flatten(t);
  const key = tree.treeKey(def);
  rest.forEach((r, k) => {
    const [l2, d2] = tree.flatten(r);
    const k2 = tree.treeKey(d2);
    if (k2 !== key) {
      throw new ShapeError(`${op}: the ${what[0]} tree has structure ${key} but the ${what[k + 1] ?? what[1]} has ${k2}; they must match leaf for leaf`);
    }
    ls.forEach((a, i) => {
      const b = l2[i];
      if (a instanceof Tensor && b instanceof Tensor && (a.ndim !== b.ndim || a.shape.some((d, j) => d !== b.shape[j]))) {
        throw new ShapeError(
          `${op}: leaf ${i} of the ${what[0]} tree has shape ${fmtShape(a.shape)} but the ${what[k + 1] ?? what[1]} has ${fmtShape(b.shape)}`,
        );
      }
    });
  });
}

/** @internal maps a function over the leaves of trees of equal structure. */
export function mapLeaves<U>(f: (...leaves: Tensor[]) => Tensor, t: U, ...rest: unknown[]): U {
  checkTrees("optimizer update(updates, state, params)", ["updates (gradient)", "optimizer state (from init(params)) / params"], t, rest);
  return tree.map((...ls: TensorLike[]) => f(...ls.map(asLeaf)), t, ...rest) as U;
}

function asLeaf(x: TensorLike): Tensor {
  return x instanceof Tensor ? x : tensor(Number(x));
}

/** @internal a scalar int32 step counter starting at 0. */
export function zeroCount(): Tensor {
  return tensor(new Int32Array([0]), { shape: [], dtype: "int32" });
}

/** @internal the learning rate at `count` as a tensor or number. */
export function lrAt(lr: LearningRate, count: Tensor): TensorLike {
  return typeof lr === "number" ? lr : lr(count);
}

function needParams(name: string, params: unknown): void {
  if (params === undefined) throw new TypeError(`${name}: update(updates, state, params) needs params (weight decay is proportional to them)`);
}

function stateField(state: OptState, field: string, name: string): OptState {
  if (typeof state !== "object" || state === null || Array.isArray(state) || !(field in state)) {
    throw new TypeError(`${name}: the state has no '${field}' (pass the state returned by this optimizer's init or update)`);
  }
  return (state as { readonly [k: string]: OptState })[field];
}

/** @internal reads a field of an optimizer state object. */
export function field<T extends OptState>(state: OptState, name: string, opt: string): T {
  return stateField(state, name, opt) as T;
}

/**
 * `params + updates`, leaf by leaf (the result keeps the params' tree type).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { applyUpdates } from "tenfold/optim";
 * const p = applyUpdates({ w: tensor([1, 2]) }, { w: tensor([0.5, -1]) });
 * console.log(p.w.arraySync()); // [1.5, 1]
 * ```
 */
export function applyUpdates<P>(params: P, updates: unknown): P {
  checkTrees("applyUpdates(params, updates)", ["params", "updates"], params, [updates]);
  return mapLeaves((p, u) => (p.dtype === u.dtype ? add(p, u) : add(p, astype(u, p.dtype))), params, updates);
}

/**
 * The L2 norm of all leaves of a tree taken together: `sqrt(sum of squares)`.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { globalNorm } from "tenfold/optim";
 * console.log(globalNorm({ a: tensor([3]), b: [tensor([4])] }).itemSync()); // 5
 * ```
 */
export function globalNorm(t: unknown): Tensor {
  const ls = tree.leaves<TensorLike>(t).map(asLeaf);
  let total: Tensor = tensor(0);
  for (const l of ls) total = add(total, sum(square(astype(l, "float32"))));
  return sqrt(total);
}

/**
 * Applies transformations in sequence; the state is the array of their states.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { chain, clipByGlobalNorm, sgd, applyUpdates } from "tenfold/optim";
 * const opt = chain(clipByGlobalNorm(1), sgd({ lr: 0.1 }));
 * const params = { w: tensor([0, 0]) };
 * const [u] = opt.update({ w: tensor([30, 40]) }, opt.init(params), params);
 * console.log(applyUpdates(params, u).w.arraySync()); // [-0.06, -0.08] (up to rounding)
 * ```
 */
export function chain(...transforms: readonly GradientTransformation[]): GradientTransformation {
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update<U>(updates: U, state: OptState, params?: U): [U, OptState] {
      if (!Array.isArray(state) || state.length !== transforms.length) {
        throw new TypeError(`chain: expected a state array of ${transforms.length} entries (from chain(...).init)`);
      }
      const states = state as readonly OptState[];
      let u = updates;
      const out: OptState[] = [];
      transforms.forEach((t, i) => {
        const [u2, s2] = t.update(u, states[i]!, params);
        u = u2;
        out.push(s2);
      });
      return [u, out];
    },
  };
}

/**
 * Rescales the updates so that their global norm is at most `maxNorm` (Pascanu et al. 2013):
 * `g * min(1, maxNorm / ||g||)`. Stateless.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { clipByGlobalNorm } from "tenfold/optim";
 * const clip = clipByGlobalNorm(1);
 * const [u] = clip.update({ g: tensor([3, 4]) }, clip.init({}));
 * console.log(u.g.arraySync()); // [0.6, 0.8] (up to rounding)
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  if (!(maxNorm > 0)) throw new RangeError(`clipByGlobalNorm: maxNorm must be positive, got ${maxNorm}`);
  return {
    init: () => ({}),
    update<U>(updates: U, state: OptState): [U, OptState] {
      const n = globalNorm(updates);
      const scale = where(less(n, maxNorm), 1, divide(maxNorm, n));
      return [mapLeaves((g) => multiply(g, scale), updates), state];
    },
  };
}

/**
 * Adds `weightDecay * params` to the updates (decoupled weight decay when placed before the
 * learning-rate scaling, as in AdamW). Stateless; `update` needs `params`.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { addDecayedWeights } from "tenfold/optim";
 * const wd = addDecayedWeights(0.1);
 * const p = { w: tensor([2]) };
 * const [u] = wd.update({ w: tensor([1]) }, wd.init(p), p);
 * console.log(u.w.arraySync()); // [1.2] (up to rounding)
 * ```
 */
export function addDecayedWeights(weightDecay: number): GradientTransformation {
  return {
    init: () => ({}),
    update<U>(updates: U, state: OptState, params?: U): [U, OptState] {
      if (weightDecay === 0) return [updates, state];
      needParams("addDecayedWeights", params);
      return [mapLeaves((g, p) => add(g, multiply(weightDecay, p)), updates, params), state];
    },
  };
}

/**
 * Multiplies the updates by `-lr` (a number or a schedule of the step count; the count is kept
 * in the state), turning descent directions into steps. The last link of most chains.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { scaleByLearningRate } from "tenfold/optim";
 * const t = scaleByLearningRate(0.5);
 * const [u] = t.update({ w: tensor([2]) }, t.init({}));
 * console.log(u.w.arraySync()); // [-1]
 * ```
 */
export function scaleByLearningRate(lr: LearningRate): GradientTransformation {
  return {
    init: () => ({ count: zeroCount() }),
    update<U>(updates: U, state: OptState): [U, OptState] {
      const count = field<Tensor>(state, "count", "scaleByLearningRate");
      const rate = lrAt(lr, count);
      return [mapLeaves((g) => multiply(g, negative(rate)), updates), { count: add(count, 1) }];
    },
  };
}
