/**
 * Structured control flow beyond `scan`: `cond`, `switchCase` (exported also as `switch_`),
 * `foriLoop` and `whileLoop`. Each is composed from `where` and the `scan` primitive, so jvp,
 * vjp, vmap, jit and every backend follow from their rules, without a new primitive.
 *
 * - With a concrete predicate/index (eager code, outside jit and grad), only the chosen branch
 *   runs. With a traced one (inside jit, vmap, grad), every branch is traced and the result is
 *   selected with `where`: JAX's semantics of `cond` under `vmap`. Both branches must return the
 *   same tree structure, shapes and dtypes. Values are exactly JAX's; the cost is running both.
 * - `foriLoop` with static bounds is one `scan` (differentiable in both modes, like JAX's).
 * - `whileLoop` runs an ordinary loop on a concrete predicate. With a traced carry it needs a
 *   bound: `{ maxIterations }` gives one `scan` of that length whose steps after the predicate
 *   turns false leave the carry unchanged. Unlike JAX's `while_loop` (unbounded, forward-mode
 *   only), this form is also reverse-differentiable, and it does `maxIterations` steps of work.
 */
import { ShapeError, fmtShape } from "../core/errors.js";
import { ConcretizationError, Tensor } from "../core/tensor.js";
import { flatten, treeKey, unflatten } from "../core/tree.js";
import type { TensorLike } from "../ops/base.js";
import { asTensor, cast } from "../ops/base.js";
import { arange, tensor } from "../ops/creation.js";
import { clip, equal, logicalAnd, logicalNot, where } from "../ops/elementwise.js";
import { scan } from "./control.js";

function leavesOf(t: unknown, what: string): { leaves: Tensor[]; key: string; def: ReturnType<typeof flatten>[1] } {
  const [ls, def] = flatten<unknown>(t);
  const leaves = ls.map((l) => (l instanceof Tensor ? l : typeof l === "number" || typeof l === "boolean" ? asTensor(l) : badLeaf(what, l)));
  return { leaves, key: treeKey(def), def };
}

function badLeaf(what: string, l: unknown): never {
  throw new TypeError(`${what}: leaves must be tensors or numbers, got ${typeof l}`);
}

function isTraced(t: unknown): boolean {
  return flatten<unknown>(t)[0].some((l) => l instanceof Tensor && l.node.traced);
}

/** Reads a concrete scalar (eager only). */
function concreteScalar(x: Tensor): number {
  return Number(x.dataSync()[0]);
}

/** Selects between trees of equal structure with a scalar boolean. */
function selectTree<T>(op: string, pred: Tensor, a: T, b: T): T {
  const la = leavesOf(a, op);
  const lb = leavesOf(b, op);
  if (la.key !== lb.key) throw new ShapeError(`${op}: branches return different structures: ${la.key} vs ${lb.key}`);
  const out = la.leaves.map((x, i) => {
    const y = lb.leaves[i]!;
    if (x.shape.join() !== y.shape.join() || x.dtype !== y.dtype) {
      throw new ShapeError(`${op}: branch outputs differ at leaf ${i}: ${x.dtype}${fmtShape(x.shape)} vs ${y.dtype}${fmtShape(y.shape)}`);
    }
    return where(pred, x, y);
  });
  return unflatten(la.def, out) as T;
}

function scalarPred(op: string, p: TensorLike, dtype?: "int32"): Tensor {
  const t = asTensor(p, op);
  if (t.ndim !== 0) throw new ShapeError(`${op}: the ${dtype ? "index" : "predicate"} must be a scalar, got ${fmtShape(t.shape)} (use vmap to batch it)`);
  return dtype ? cast(t, "int32") : cast(t, "bool");
}

/**
 * `cond(pred, trueFn, falseFn, ...operands)`: `trueFn(...operands)` if `pred` else
 * `falseFn(...operands)` (`lax.cond`). A concrete `pred` runs one branch; a traced one (jit,
 * vmap, grad) traces both and selects with `where`, so it is differentiable.
 * @example
 * ```ts
 * import { cond, jit, tensor, multiply, negative, greater, sum } from "tenfold";
 * const f = jit((x) => cond(greater(sum(x), 0), (v) => multiply(v, 2), (v) => negative(v), x));
 * console.log(f(tensor([1, 2])).arraySync(), f(tensor([-1, -2])).arraySync()); // [2, 4] [1, 2]
 * ```
 */
export function cond<A extends unknown[], R>(pred: TensorLike, trueFn: (...args: A) => R, falseFn: (...args: A) => R, ...operands: A): R {
  const p = scalarPred("cond", pred);
  if (!p.node.traced) return concreteScalar(p) ? trueFn(...operands) : falseFn(...operands);
  return selectTree("cond", p, trueFn(...operands), falseFn(...operands));
}

/**
 * `switchCase(index, branches, ...operands)`: `branches[index](...operands)` with `index`
 * clamped into range (`lax.switch`). Traced indices select among all branches with `where`.
 * @example
 * ```ts
 * import { switchCase, tensor, add, multiply } from "tenfold";
 * import type { Tensor } from "tenfold";
 * const fs = [(x: Tensor) => add(x, 1), (x: Tensor) => multiply(x, 10)];
 * console.log(switchCase(1, fs, tensor([1, 2])).arraySync()); // [10, 20]
 * console.log(switchCase(5, fs, tensor([1, 2])).arraySync()); // [10, 20] (clamped)
 * ```
 */
export function switchCase<A extends unknown[], R>(index: TensorLike, branches: readonly ((...args: A) => R)[], ...operands: A): R {
  if (branches.length === 0) throw new ShapeError("switchCase: branches must not be empty");
  const i = clip(scalarPred("switchCase", index, "int32"), { min: 0, max: branches.length - 1 });
  if (!i.node.traced) return branches[concreteScalar(i)]!(...operands);
  const outs = branches.map((f) => f(...operands));
  let r = outs[outs.length - 1]!;
  for (let k = outs.length - 2; k >= 0; k--) r = selectTree("switchCase", equal(i, k), outs[k]!, r);
  return r;
}

/** `switchCase` under JAX's name (`switch` is a reserved word). */
export const switch_ = switchCase;

/**
 * `foriLoop(lower, upper, body, init)`: `for (i = lower; i < upper; i++) carry = body(i, carry)`
 * (`lax.fori_loop`), with static integer bounds, as one `scan` (`i` is an int32 scalar tensor).
 * Differentiable in both modes.
 * @example
 * ```ts
 * import { foriLoop, tensor, add, multiply } from "tenfold";
 * const r = foriLoop(0, 4, (i, acc) => add(multiply(acc, 2), i), tensor(0));
 * console.log(r.arraySync()); // 11: ((0*2+0)*2+1)*2+2)*2+3
 * ```
 */
export function foriLoop<C>(lower: number, upper: number, body: (i: Tensor, carry: C) => C, init: C): C {
  if (!Number.isInteger(lower) || !Number.isInteger(upper)) {
    throw new ShapeError(
      `foriLoop: lower and upper must be static integers, got ${String(lower)} and ${String(upper)} (for traced bounds use whileLoop with maxIterations)`,
    );
  }
  if (upper <= lower) return init;
  const [c] = scan((carry: C, i: Tensor) => [body(i, carry), null] as const, init, arange(lower, upper, 1, { dtype: "int32" }));
  return c;
}

/** Options of `whileLoop`. */
export interface WhileLoopOptions {
  /** Bound on the iterations: required when the carry is traced (inside jit, vmap or grad). */
  readonly maxIterations?: number;
}

/**
 * `whileLoop(condFn, body, init, { maxIterations })`: `while (condFn(c)) c = body(c)`
 * (`lax.while_loop`). Eager with a concrete carry. With a traced carry it needs
 * `maxIterations` and runs one `scan` of that length that freezes the carry once `condFn` is
 * false (so the result equals JAX's whenever the loop ends within the bound; it is also
 * reverse-differentiable, unlike JAX's). Without the bound a traced carry throws a
 * ConcretizationError.
 * @example
 * ```ts
 * import { whileLoop, jit, tensor, less, multiply } from "tenfold";
 * const f = jit((x) => whileLoop((v) => less(v, 100), (v) => multiply(v, 3), x, { maxIterations: 10 }));
 * console.log(f(tensor(2)).arraySync()); // 162
 * ```
 */
export function whileLoop<C>(condFn: (carry: C) => TensorLike, body: (carry: C) => C, init: C, options: WhileLoopOptions = {}): C {
  const max = options.maxIterations;
  if (max !== undefined && (!Number.isInteger(max) || max < 0)) throw new ShapeError(`whileLoop: maxIterations must be a non-negative integer, got ${max}`);
  if (!isTraced(init)) {
    let c = init;
    let n = 0;
    for (;;) {
      const p = scalarPred("whileLoop", condFn(c));
      if (p.node.traced) break;
      if (!concreteScalar(p)) return c;
      if (max !== undefined && n >= max) return c;
      c = body(c);
      n++;
    }
  }
  if (max === undefined) {
    throw new ConcretizationError("whileLoop: the carry (or the predicate) is traced (inside jit, vmap or grad); pass { maxIterations } to bound the loop");
  }
  if (max === 0) return init;
  const initLeaves = leavesOf(init, "whileLoop");
  const start = { c: init, done: tensor(false) };
  const [out] = scan(
    (s: { c: C; done: Tensor }) => {
      const active = logicalAnd(logicalNot(s.done), scalarPred("whileLoop", condFn(s.c)));
      const next = body(s.c);
      const nl = leavesOf(next, "whileLoop");
      if (nl.key !== initLeaves.key) throw new ShapeError(`whileLoop: body changed the carry structure from ${initLeaves.key} to ${nl.key}`);
      return [{ c: selectTree("whileLoop", active, next, s.c), done: logicalNot(active) }, null] as const;
    },
    start,
    null,
    { length: max },
  );
  return out.c;
}
