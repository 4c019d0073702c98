/** Public higher-order primitives: scan, customVjp, checkpoint. */
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Node } from "../core/node.js";
import { freshId, makeCall } from "../core/node.js";
import type { CustomVjpInfo } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import { flatten, treeKey } from "../core/tree.js";
import { callInfo, closeOver } from "./closure.js";
import { flattenArgs, leafTensor, rebuild, traceFlat } from "./trace.js";

/**
 * A loop carried through the graph as one primitive: `f(carry, x) => [carry, y]` runs over the
 * leading axis of `xs` (pytrees allowed: each step's `x` has the structure of `xs`, one leading
 * axis less); returns `[finalCarry, ys]` with `ys` stacked on axis 0. Its gradient is a reverse
 * scan; `vmap` batches it. `xs` may be null with `{ length }` to loop without inputs.
 * @example
 * ```ts
 * import { scan, add, tensor } from "tenfold";
 * const [total, running] = scan((c, x) => { const s = add(c, x); return [s, s]; }, tensor(0), tensor([1, 2, 3]));
 * console.log(total.arraySync(), running.arraySync()); // 6 [1, 3, 6]
 * ```
 */
export function scan<C, X = Tensor, Y = Tensor>(
  f: (carry: C, x: X) => readonly [C, Y],
  init: C,
  xs: X | null | undefined,
  options: { reverse?: boolean; length?: number } = {},
): [C, Y] {
  const c = flattenArgs([init], "scan init");
  const [xl, xdef] = flatten<unknown>(xs);
  const xt = xl.map((l) => leafTensor(l, "scan xs"));
  let length = options.length;
  for (const x of xt) {
    if (x.ndim === 0) throw new ShapeError("scan: every xs leaf needs a leading axis to scan over, got a scalar");
    if (length === undefined) length = x.shape[0];
    else if (x.shape[0] !== length) {
      throw new ShapeError(`scan: xs leaves disagree on the scanned length: ${length} vs ${x.shape[0]} (shape ${fmtShape(x.shape)})`);
    }
  }
  if (length === undefined) throw new ShapeError("scan: xs is empty; pass { length } to scan without inputs");
  const nC = c.leaves.length;
  let yDef: ReturnType<typeof flatten>[1] | undefined;
  const tr = traceFlat(
    (args) => {
      const carry = (rebuild(c.def, args.slice(0, nC)) as unknown[])[0] as C;
      const x = rebuild(xdef, args.slice(nC));
      const res = f(carry, x as X);
      if (!Array.isArray(res) || res.length !== 2) throw new TypeError("scan: f must return [carry, y]");
      const [cl, cdef] = flatten<unknown>(res[0]);
      if (treeKey(cdef) !== treeKey(flatten<unknown>(init)[1])) {
        throw new ShapeError(`scan: f returned a carry with structure ${treeKey(cdef)}, but init has ${treeKey(flatten<unknown>(init)[1])}`);
      }
      cl.forEach((v, i) => {
        const t = leafTensor(v, "scan carry");
        const want = c.leaves[i]!;
        if (t.shape.join() !== want.shape.join() || t.dtype !== want.dtype) {
          throw new ShapeError(`scan: carry leaf ${i} changed from ${want.dtype}${fmtShape(want.shape)} to ${t.dtype}${fmtShape(t.shape)} in one step`);
        }
      });
      const [yl, yd] = flatten<unknown>(res[1]);
      yDef = yd;
      return [...cl, ...yl];
    },
    [...c.leaves.map((t) => ({ shape: t.shape, dtype: t.dtype })), ...xt.map((t) => ({ shape: t.shape.slice(1), dtype: t.dtype }))],
    "scan",
  );
  const { graph, consts } = closeOver(tr.graph);
  const body = callInfo(graph);
  const inputs: Node[] = [...consts, ...c.leaves.map((t) => t.node), ...xt.map((t) => t.node)];
  const outs = makeCall("scan", { body, numConsts: consts.length, numCarry: nC, length, reverse: options.reverse ?? false }, inputs).map((n) => new Tensor(n));
  const carryOut = (rebuild(c.def, outs.slice(0, nC)) as unknown[])[0] as C;
  const ys = rebuild(yDef!, outs.slice(nC)) as Y;
  return [carryOut, ys];
}

/**
 * A function with a hand-written gradient: `fwd(...args) => [out, residuals]`,
 * `bwd(residuals, outCotangent) => [argCotangent, ...]` (one per argument of f).
 * @example
 * ```ts
 * import { customVjp, grad, exp, log, add, multiply, tensor } from "tenfold";
 * // log(1 + exp(x)) with a stable hand-written derivative
 * const softplus = customVjp(
 *   (x) => log(add(1, exp(x))),
 *   (x) => [log(add(1, exp(x))), x],
 *   (x, g) => [multiply(g, divide(1, add(1, exp(negative(x)))))],
 * );
 * import { divide, negative } from "tenfold";
 * console.log(grad(softplus)(tensor(0)).arraySync()); // 0.5
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function customVjp<F extends (...args: any[]) => any>(
  f: F,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fwd: (...args: Parameters<F>) => readonly [ReturnType<F>, any],
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  bwd: (residuals: any, g: ReturnType<F>) => readonly unknown[],
): F {
  const name = f.name || "f";
  const g = (...args: unknown[]): unknown => {
    const a = flattenArgs(args, "customVjp");
    const tr = traceFlat(
      (xs) => f(...(rebuild(a.def, xs) as Parameters<F>)),
      a.leaves.map((t) => ({ shape: t.shape, dtype: t.dtype })),
      "customVjp",
    );
    const { graph, consts } = closeOver(tr.graph);
    const nConst = consts.length;
    let resDef: ReturnType<typeof flatten>[1] | undefined;
    const info: CustomVjpInfo = {
      id: freshId(),
      graph,
      numOut: graph.outputs.length,
      name,
      fwd: (leaves) => {
        const argLeaves = leaves.slice(nConst);
        const r = fwd(...(rebuild(a.def, argLeaves) as Parameters<F>));
        if (!Array.isArray(r) || r.length !== 2) throw new TypeError(`customVjp(${name}): fwd must return [output, residuals]`);
        const [ol, odef] = flatten<unknown>(r[0]);
        if (treeKey(odef) !== treeKey(tr.outDef))
          throw new ShapeError(`customVjp(${name}): fwd's output structure ${treeKey(odef)} differs from f's ${treeKey(tr.outDef)}`);
        const [rl, rdef] = flatten<unknown>(r[1]);
        resDef = rdef;
        return { outs: ol.map((l) => leafTensor(l, "customVjp fwd")), res: rl.map((l) => leafTensor(l, "customVjp residual")) };
      },
      bwd: (res, cts) => {
        const resTree = rebuild(resDef!, [...res]);
        const ctTree = rebuild(tr.outDef, [...cts]);
        const out = bwd(resTree, ctTree as ReturnType<F>);
        if (!Array.isArray(out)) throw new TypeError(`customVjp(${name}): bwd must return an array with one cotangent per argument of f (${args.length})`);
        const [gl, gdef] = flatten<unknown>(out);
        if (out.length !== args.length || treeKey(gdef) !== treeKey(a.def)) {
          throw new ShapeError(
            `customVjp(${name}): bwd returned structure ${treeKey(gdef)}, but the arguments of f have structure ${treeKey(a.def)} (one cotangent per argument)`,
          );
        }
        const gs = gl.map((l, i) => {
          const t = leafTensor(l, "customVjp bwd");
          const want = a.leaves[i]!;
          if (t.shape.join() !== want.shape.join()) {
            throw new ShapeError(`customVjp(${name}): bwd cotangent ${i} has shape ${fmtShape(t.shape)}, but the argument has shape ${fmtShape(want.shape)}`);
          }
          return t;
        });
        return [...consts.map(() => null), ...gs];
      },
    };
    const inputs = [...consts, ...a.leaves.map((t) => t.node)];
    const outs = makeCall("customVjp", { info }, inputs).map((n) => new Tensor(n));
    return rebuild(tr.outDef, outs);
  };
  return g as F;
}

/**
 * Rematerialization: the backward pass recomputes `f`'s intermediates from its inputs instead of
 * keeping them alive.
 * @example
 * ```ts
 * import { checkpoint, grad, sin, cos, sum, tensor } from "tenfold";
 * const f = checkpoint((x) => sin(cos(x)));
 * console.log(grad((x) => sum(f(x)))(tensor([0])).arraySync()); // [0]
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function checkpoint<F extends (...args: any[]) => any>(f: F): F {
  const g = (...args: unknown[]): unknown => {
    const a = flattenArgs(args, "checkpoint");
    const tr = traceFlat(
      (xs) => f(...(rebuild(a.def, xs) as Parameters<F>)),
      a.leaves.map((t) => ({ shape: t.shape, dtype: t.dtype })),
      "checkpoint",
    );
    const { graph, consts } = closeOver(tr.graph);
    const body = callInfo(graph);
    const inputs = [...consts, ...a.leaves.map((t) => t.node)];
    const outs = makeCall("checkpoint", { body }, inputs).map((n) => new Tensor(n));
    return rebuild(tr.outDef, outs);
  };
  return g as F;
}
