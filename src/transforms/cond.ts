/**
 * Structured control flow beyond `scan`: `cond`, `switchCase` (exported also as `switch_`),
 * `foriLoop` and `whileLoop`, as JAX's `lax.cond`, `lax.switch`, `lax.fori_loop` and
 * `lax.while_loop`; the rules of their primitives are in cond-rules.ts.
 *
 * - With a concrete predicate/index (eager code, outside jit and grad), only the chosen branch
 *   runs. With a traced one (inside jit, vmap, grad), every branch is traced into one `cond`
 *   primitive, and at run time only the selected branch runs (under vmap with a batched
 *   predicate it becomes a `where` over all branches, as in JAX). Both branches must return the
 *   same tree structure, shapes and dtypes.
 * - `foriLoop` with static bounds is one `scan` (differentiable in both modes, like JAX's).
 * - `whileLoop` runs an ordinary loop on a concrete predicate. With a traced carry it becomes one
 *   `whileLoop` primitive whose trip count is decided at run time (forward-mode differentiable,
 *   like JAX's). With `{ maxIterations }` it is instead one `scan` of that length whose steps
 *   after the predicate turns false leave the carry unchanged: reverse-differentiable too, at the
 *   cost of `maxIterations` steps of work.
 */
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Node } from "../core/node.js";
import { makeCall } from "../core/node.js";
import { Tensor } from "../core/tensor.js";
import { flatten, treeKey, unflatten } from "../core/tree.js";
import type { TensorLike } from "../ops/base.js";
import { asTensor, cast } from "../ops/base.js";
import { arange, tensor } from "../ops/creation.js";
import { clip, logicalAnd, logicalNot, where } from "../ops/elementwise.js";
import { mergeCalls } from "./cond-rules.js";
import { closeOver } from "./closure.js";
import { scan } from "./control.js";
import { traceFlat } from "./trace.js";

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
 * vmap, grad) traces both into one `cond` primitive that runs only the selected branch at run
 * time. Differentiable in both modes; under vmap with a batched `pred` both run and `where` selects.
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
  return condPrim("cond", cast(p, "int32"), [falseFn, trueFn], operands);
}

/** Traces every branch over the operands' leaves into one `cond` primitive (lax.switch). */
function condPrim<A extends unknown[], R>(op: string, index: Tensor, branches: readonly ((...args: A) => R)[], operands: A): R {
  const ops = leavesOf(operands, op);
  let outDef: ReturnType<typeof flatten>[1] | undefined;
  let outAvals: string | undefined;
  const parts = branches.map((f, b) => {
    const tr = traceFlat(
      (xs) => {
        const res = leavesOf(f(...(unflatten(ops.def, xs) as A)), op);
        const sig = res.leaves.map((t) => `${t.dtype}${fmtShape(t.shape)}`).join(", ");
        if (outDef === undefined) [outDef, outAvals] = [res.def, sig];
        else if (treeKey(outDef) !== res.key)
          throw new ShapeError(`${op}: branches return different structures: ${treeKey(outDef)} vs ${res.key} (branch ${b})`);
        else if (outAvals !== sig) throw new ShapeError(`${op}: branch outputs differ: ${outAvals} vs ${sig} (branch ${b})`);
        return res.leaves;
      },
      ops.leaves.map((t) => ({ shape: t.shape, dtype: t.dtype })),
      op,
    );
    return closeOver(tr.graph);
  });
  const { calls, consts } = mergeCalls(parts);
  const inputs: Node[] = [index.node, ...consts, ...ops.leaves.map((t) => t.node)];
  const outs = makeCall("cond", { branches: calls }, inputs).map((n) => new Tensor(n));
  return unflatten(outDef!, outs) as R;
}

/**
 * `switchCase(index, branches, ...operands)`: `branches[index](...operands)` with `index`
 * clamped into range (`lax.switch`). A traced index builds one `cond` primitive: at run time only
 * the selected branch runs.
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
  return condPrim("switchCase", i, branches, operands);
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

/** Traces `condFn` and `body` over the carry's leaves into one `whileLoop` primitive. */
function whilePrim<C>(condFn: (carry: C) => TensorLike, body: (carry: C) => C, init: C): C {
  const c = leavesOf(init, "whileLoop");
  const avals = c.leaves.map((t) => ({ shape: t.shape, dtype: t.dtype }));
  const sig = avals.map((a) => `${a.dtype}${fmtShape(a.shape)}`).join(", ");
  const condTr = traceFlat((xs) => [scalarPred("whileLoop", condFn(unflatten(c.def, xs) as C))], avals, "whileLoop");
  const bodyTr = traceFlat(
    (xs) => {
      const next = leavesOf(body(unflatten(c.def, xs) as C), "whileLoop");
      if (next.key !== c.key) throw new ShapeError(`whileLoop: body changed the carry structure from ${c.key} to ${next.key}`);
      const got = next.leaves.map((t) => `${t.dtype}${fmtShape(t.shape)}`).join(", ");
      if (got !== sig) throw new ShapeError(`whileLoop: body changed the carry from ${sig} to ${got}`);
      return next.leaves;
    },
    avals,
    "whileLoop",
  );
  const { calls, consts } = mergeCalls([closeOver(condTr.graph), closeOver(bodyTr.graph)]);
  const inputs: Node[] = [...consts, ...c.leaves.map((t) => t.node)];
  const outs = makeCall("whileLoop", { cond: calls[0]!, body: calls[1]!, numConsts: consts.length }, inputs);
  return unflatten(
    c.def,
    outs.map((n) => new Tensor(n)),
  ) as C;
}

/** Options of `whileLoop`. */
export interface WhileLoopOptions {
  /**
   * Bound on the iterations. Without it a traced carry (inside jit, vmap, jvp) builds a native
   * while loop (forward-mode differentiable only); with it the loop is a scan of this length
   * (reverse-differentiable too).
   */
  readonly maxIterations?: number;
}

/**
 * `whileLoop(condFn, body, init, { maxIterations })`: `while (condFn(c)) c = body(c)`
 * (`lax.while_loop`). Eager with a concrete carry. With a traced carry (jit, vmap, jvp) it is
 * one `whileLoop` primitive whose trip count is decided at run time; like JAX's it supports
 * forward mode but not reverse mode (grad throws, naming whileLoop). With `maxIterations` it is
 * instead one `scan` of that length that freezes the carry once `condFn` is false (equal to the
 * unbounded loop whenever it ends within the bound), which is reverse-differentiable too.
 * @example
 * ```ts
 * import { whileLoop, jit, tensor, less, multiply } from "tenfold";
 * const f = jit((x) => whileLoop((v) => less(v, 100), (v) => multiply(v, 3), x));
 * console.log(f(tensor(2)).arraySync()); // 162 (4 iterations, decided at run time)
 * const g = jit((x) => whileLoop((v) => less(v, 100), (v) => multiply(v, 3), x, { maxIterations: 10 }));
 * console.log(g(tensor(2)).arraySync()); // 162
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
  if (max === undefined) return whilePrim(condFn, body, init);
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
