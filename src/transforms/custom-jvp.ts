/**
 * `customJvp`: JAX's `jax.custom_jvp` — a function with a hand-written forward-mode rule. The call
 * is one `customJvp` primitive (its body is `f`'s traced graph, inlined by the scheduler and by
 * ONNX export); `jvp` runs the rule, reverse mode transposes the rule's tangent computation (so the
 * rule must be linear in the tangents), `vmap` batches both `f` and the rule, `jit` traces it.
 * The rules themselves live in custom-jvp-rules.ts.
 */
import { ShapeError } from "../core/errors.js";
import type { Tensor } from "../core/tensor.js";
import { flatten, treeKey } from "../core/tree.js";
import { callCustomJvp } from "./custom-jvp-rules.js";
import { flattenArgs, leafTensor, rebuild } from "./trace.js";

/**
 * A function with a custom JVP rule (JAX's `jax.custom_jvp` with `defjvp`): `rule(primals,
 * tangents)` gets the argument list and a tangent list of the same structure, and returns
 * `[primalOut, tangentOut]` (each shaped like `f`'s output). Forward mode (`jvp`, `jacfwd`) runs the
 * rule instead of differentiating `f`; reverse mode (`grad`, `vjp`) transposes the rule's tangent
 * computation, which must therefore be linear in the tangents (a clear error says otherwise);
 * `vmap` batches `f` and the rule; under `jit` and in ONNX export `f` is inlined. `f` must not
 * close over a value being differentiated: pass such values as arguments.
 * @example
 * ```ts
 * import { customJvp, grad, jvp, log, add, exp, multiply, divide, tensor } from "tenfold";
 * import type { Tensor } from "tenfold";
 * // log(1 + exp(x)) with the derivative sigmoid(x) written by hand
 * const softplus = customJvp(
 *   (x: Tensor) => log(add(1, exp(x))),
 *   ([x]: [Tensor], [t]: [Tensor]) => [log(add(1, exp(x))), multiply(t, divide(1, add(1, exp(multiply(x, -1)))))] as const,
 * );
 * const [y, dy] = jvp(softplus, [tensor(0)], [tensor(1)]);
 * console.log(y.arraySync(), dy.arraySync(), grad(softplus)(tensor(0)).arraySync()); // ≈0.6931 0.5 0.5
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function customJvp<F extends (...args: any[]) => any>(
  f: F,
  rule: (primals: Parameters<F>, tangents: Parameters<F>) => readonly [ReturnType<F>, ReturnType<F>],
): F {
  const name = f.name || "f";
  const g = (...args: unknown[]): unknown => {
    const a = flattenArgs(args, `customJvp(${name})`);
    let outDef: ReturnType<typeof flatten>[1] | undefined;
    const flatF = (xs: Tensor[]): Tensor[] => {
      const [ol, od] = flatten<unknown>(f(...(rebuild(a.def, xs) as Parameters<F>)));
      outDef = od;
      return ol.map((l) => leafTensor(l, `customJvp(${name}) output`));
    };
    const flatRule = (ps: readonly Tensor[], ts: readonly Tensor[]): Tensor[] => {
      const r = rule(rebuild(a.def, [...ps]) as Parameters<F>, rebuild(a.def, [...ts]) as Parameters<F>);
      if (!Array.isArray(r) || r.length !== 2) throw new TypeError(`customJvp(${name}): the rule must return [primalOut, tangentOut]`);
      const [pl, pd] = flatten<unknown>(r[0]);
      const [tl, td] = flatten<unknown>(r[1]);
      const want = treeKey(outDef!);
      if (treeKey(pd) !== want || treeKey(td) !== want) {
        throw new ShapeError(`customJvp(${name}): the rule returned structures ${treeKey(pd)} and ${treeKey(td)}, but f returns ${want}`);
      }
      return [...pl.map((l) => leafTensor(l, `customJvp(${name}) rule`)), ...tl.map((l) => leafTensor(l, `customJvp(${name}) rule`))];
    };
    const outs = callCustomJvp(name, flatF, flatRule, a.leaves); // traces f (and sets outDef)
    return rebuild(outDef!, outs);
  };
  return g as F;
}
