/**
 * Reverse mode, JAX's way: linearize with forward mode against fresh tangent placeholders, then
 * transpose the linear graph. `vjp`, `grad` and `valueAndGrad`.
 */
import { isFloat } from "../core/dtype.js";
import { DTypeError, ShapeError, fmtShape } from "../core/errors.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { inputNode, isTuple, topoSort } from "../core/node.js";
import type { CallPrim, Primitive } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import type { TreeDef } from "../core/tree.js";
import { flatten, treeKey } from "../core/tree.js";
import { add } from "../ops/elementwise.js";
import { cast } from "../ops/base.js";
import { onesLike, zerosLike } from "../ops/creation.js";
import { jvpGraph } from "./jvp.js";
import type { CallTransposeRule, TransposeRule } from "./transpose-rules.js";
import { TRANSPOSE } from "./transpose-rules.js";
import { dependents, flattenArgs, leafTensor, rebuild, traceFlat } from "./trace.js";
import { provide } from "./recurse.js";

/**
 * Transposes the linear map from `linIn` (placeholders) to `outs`: given output cotangents,
 * returns the cotangent of each placeholder (null = zero).
 */
export function transposeLinear(outs: readonly (Tensor | null)[], cts: readonly (Tensor | null)[], linIn: readonly Node[]): (Tensor | null)[] {
  const outNodes = outs.filter((o): o is Tensor => o !== null).map((o) => o.node);
  const lin = dependents(outNodes, new Set(linIn.map((n) => n.id)));
  const ctm = new Map<number, Tensor>();
  const acc = (n: Node, ct: Tensor): void => {
    const prev = ctm.get(n.id);
    ctm.set(n.id, prev ? add(prev, ct) : ct);
  };
  outs.forEach((o, i) => {
    const ct = cts[i];
    if (o && ct && lin.has(o.node.id)) acc(o.node, ct.dtype === o.dtype ? ct : cast(ct, o.dtype));
  });
  const linSet = new Set(linIn.map((n) => n.id));
  const order = topoSort(outNodes).filter((n) => lin.has(n.id));
  // The cotangents of a call node's outputs, gathered from its proj nodes (visited first, in
  // reverse topological order): the call is transposed once, for all of them.
  const callCts = new Map<number, (Tensor | null)[]>();
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    if (linSet.has(n.id)) continue;
    const mask = n.inputs.map((i) => lin.has(i.id));
    if (n.prim === "proj") {
      const ct = ctm.get(n.id);
      if (!ct) continue;
      ctm.delete(n.id);
      const call = n.inputs[0]!;
      const slots = callCts.get(call.id) ?? call.avals!.map((): Tensor | null => null);
      TRANSPOSE.proj(ct, n).forEach((c, i) => {
        if (c) slots[i] = slots[i] ? add(slots[i]!, c) : c;
      });
      callCts.set(call.id, slots);
      continue;
    }
    let ins: (Tensor | null)[];
    if (isTuple(n)) {
      const cts = callCts.get(n.id);
      if (!cts) continue;
      callCts.delete(n.id);
      const rule = TRANSPOSE[n.prim] as CallTransposeRule<CallPrim>;
      ins = rule(cts, n, mask);
    } else {
      const ct = ctm.get(n.id);
      if (!ct) continue;
      ctm.delete(n.id);
      const rule = TRANSPOSE[n.prim] as TransposeRule<Primitive>;
      ins = rule(ct, n, mask);
    }
    n.inputs.forEach((i, j) => {
      const g = ins[j];
      if (mask[j] && g) acc(i, g);
    });
  }
  return linIn.map((n) => ctm.get(n.id) ?? null);
}

/** A linearized function: primal outputs and the pullback of cotangents. */
export interface Linearized {
  readonly outs: Tensor[];
  pullback(cts: readonly (Tensor | null)[]): (Tensor | null)[];
}

/** Linearizes a traced graph at `primals`. */
export function vjpGraph(graph: Graph, primals: readonly Tensor[]): Linearized {
  const tIn = primals.map((p) => (isFloat(p.dtype) ? inputNode(p.shape, p.dtype) : null));
  const { outs, touts } = jvpGraph(
    graph,
    primals,
    tIn.map((n) => (n ? new Tensor(n) : null)),
  );
  const live = tIn.filter((n): n is Node<"input"> => n !== null);
  return {
    outs,
    pullback: (cts) => {
      const g = transposeLinear(touts, cts, live);
      let k = 0;
      return tIn.map((n) => (n ? g[k++]! : null));
    },
  };
}

function checkCotangent(ct: Tensor, out: Tensor, i: number): void {
  if (ct.shape.join() !== out.shape.join()) {
    throw new ShapeError(`vjp: cotangent ${i} has shape ${fmtShape(ct.shape)} but the output has shape ${fmtShape(out.shape)}`);
  }
}

/**
 * Evaluates `f(...primals)` and returns its pullback: `pullback(cotangent)` gives one cotangent
 * tree per primal argument.
 * @example
 * ```ts
 * import { vjp, multiply, tensor } from "tenfold";
 * const [y, pullback] = vjp((a, b) => multiply(a, b), tensor(2), tensor(3));
 * const [ga, gb] = pullback(tensor(1));
 * console.log(y.arraySync(), ga.arraySync(), gb.arraySync()); // 6 3 2
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function vjp<F extends (...args: any[]) => unknown>(f: F, ...primals: Parameters<F>): [ReturnType<F>, (cotangent: unknown) => GradTree<Parameters<F>>] {
  const p = flattenArgs(primals, "vjp");
  const tr = traceFlat(
    (xs) => f(...(rebuild(p.def, xs) as unknown[])),
    p.leaves.map((x) => ({ shape: x.shape, dtype: x.dtype })),
    "vjp",
  );
  const lin = vjpGraph(tr.graph, p.leaves);
  const pullback = (cotangent: unknown): GradTree<Parameters<F>> => {
    const [cl, cdef] = flatten<unknown>(cotangent);
    if (treeKey(cdef) !== treeKey(tr.outDef)) {
      throw new ShapeError(`vjp: cotangent has structure ${treeKey(cdef)} but the output has ${treeKey(tr.outDef)}`);
    }
    const cts = cl.map((c, i) => {
      const t = leafTensor(c, "vjp cotangent");
      checkCotangent(t, lin.outs[i]!, i);
      return t;
    });
    const g = lin.pullback(cts).map((x, i) => x ?? zerosLike(p.leaves[i]!, { dtype: isFloat(p.leaves[i]!.dtype) ? p.leaves[i]!.dtype : "float32" }));
    return rebuild(p.def, g) as GradTree<Parameters<F>>;
  };
  return [rebuild(tr.outDef, lin.outs) as ReturnType<F>, pullback];
}

/** A pytree whose leaves are all tensors (its gradient has the same type). */
export type TensorTree = Tensor | readonly TensorTree[] | { readonly [k: string]: TensorTree };

/** The gradient of a value of type T: the same pytree with every tensor or number leaf a Tensor. */
export type GradTree<T> = T extends Tensor | number
  ? Tensor
  : T extends TensorTree
    ? T
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: GradTree<T[K]> }
      : T extends object
        ? { -readonly [K in keyof T]: GradTree<T[K]> }
        : T;

/** The gradients `grad` returns for arguments A and `argnums` N (0 by default). */
export type GradsOf<A extends readonly unknown[], N> = N extends readonly number[]
  ? { -readonly [K in keyof N]: GradTree<A[N[K] & number]> }
  : N extends number
    ? GradTree<A[N]>
    : GradTree<A[0]>;

/** `argnums` of literal options; 0 when absent; unknown (either form) for a non-literal GradOptions. */
type ArgnumsOf<O> = "argnums" extends keyof O ? (O extends { readonly argnums: infer N } ? N : number | readonly number[]) : 0;
type HasAux<O> = O extends { readonly hasAux: true } ? true : false;
/**
 * What an aux value comes back as: it is traced with the function, so numbers (and tensors)
 * become Tensors; arrays and objects keep their structure; other leaves (booleans, strings) stay.
 */
export type AuxValue<X> = X extends TensorTree
  ? X
  : X extends number
    ? Tensor
    : X extends readonly unknown[]
      ? { -readonly [K in keyof X]: AuxValue<X[K]> }
      : X extends (...args: never[]) => unknown
        ? X
        : X extends object
          ? { -readonly [K in keyof X]: AuxValue<X[K]> }
          : X;
/** The auxiliary output of a `hasAux` function (`unknown` unless it returns a typed pair). */
export type AuxOf<R> = R extends readonly [unknown, infer X] ? AuxValue<X> : unknown;

/** Options of `grad` and `valueAndGrad`. */
export interface GradOptions {
  /** Which positional argument(s) to differentiate (default 0). */
  readonly argnums?: number | readonly number[];
  /** `f` returns `[value, aux]`; aux is passed through undifferentiated. */
  readonly hasAux?: boolean;
}

interface GradParts {
  value: Tensor;
  aux: unknown;
  grads: unknown;
}

function gradParts(f: (...args: never[]) => unknown, opts: GradOptions, args: unknown[], name: string): GradParts {
  const argnums = opts.argnums ?? 0;
  const nums = typeof argnums === "number" ? [argnums] : [...argnums];
  for (const a of nums) {
    if (!Number.isInteger(a) || a < 0 || a >= args.length) {
      throw new RangeError(`${name}: argnums ${JSON.stringify(argnums)} out of range for ${args.length} argument(s)`);
    }
  }
  const selected = nums.map((a) => args[a]);
  const p = flattenArgs(selected, name);
  p.leaves.forEach((x, i) => {
    if (!isFloat(x.dtype)) {
      throw new DTypeError(
        `${name}: cannot differentiate with respect to an ${x.dtype} input (leaf ${i} of argument(s) ${JSON.stringify(argnums)}); only float inputs have gradients`,
      );
    }
  });
  let aux: unknown;
  const tr = traceFlat(
    (xs) => {
      const sel = rebuild(p.def, xs) as unknown[];
      const full = [...args];
      nums.forEach((a, i) => (full[a] = sel[i]));
      const out = (f as (...a: unknown[]) => unknown)(...full);
      let value: unknown = out;
      if (opts.hasAux) {
        if (!Array.isArray(out) || out.length !== 2) throw new TypeError(`${name} with hasAux: f must return [value, aux]`);
        value = out[0];
        aux = out[1];
      }
      const v = leafTensor(value, `${name}: f's output`);
      if (v.size !== 1 || v.ndim !== 0) {
        throw new ShapeError(`${name}: f must return a scalar, got shape ${fmtShape(v.shape)} (use vjp or jacrev for non-scalar outputs)`);
      }
      if (!isFloat(v.dtype)) throw new DTypeError(`${name}: f must return a float scalar, got ${v.dtype}`);
      return [v, aux];
    },
    p.leaves.map((x) => ({ shape: x.shape, dtype: x.dtype })),
    name,
  );
  // outputs: [value, ...aux leaves]; aux leaves were traced too, re-applied with the primals below
  const lin = vjpGraph(tr.graph, p.leaves);
  const value = lin.outs[0]!;
  const g = lin.pullback([onesLike(value), ...lin.outs.slice(1).map(() => null)]);
  const grads = rebuild(
    p.def,
    g.map((x, i) => x ?? zerosLike(p.leaves[i]!)),
  ) as unknown[];
  const auxOut = opts.hasAux ? rebuildAux(tr.outDef, lin.outs) : undefined;
  return { value, aux: auxOut, grads: typeof argnums === "number" ? grads[0] : grads };
}

function rebuildAux(outDef: TreeDef, outs: Tensor[]): unknown {
  const all = rebuild(outDef, outs) as unknown[];
  return all[1];
}

/**
 * The gradient of a scalar function: a function returning gradients that mirror the
 * differentiated arguments' pytrees.
 * @example
 * ```ts
 * import { grad, sum, square, tensor } from "tenfold";
 * const g = grad((x) => sum(square(x)));
 * console.log(g(tensor([1, 2, 3])).arraySync()); // [2, 4, 6]
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function grad<F extends (...args: any[]) => unknown, const O extends GradOptions = Record<never, never>>(
  f: F,
  opts?: O,
): (...args: Parameters<F>) => HasAux<O> extends true ? [GradsOf<Parameters<F>, ArgnumsOf<O>>, AuxOf<ReturnType<F>>] : GradsOf<Parameters<F>, ArgnumsOf<O>> {
  const o: GradOptions = opts ?? {};
  return ((...args: unknown[]) => {
    const r = gradParts(f, o, args, "grad");
    return o.hasAux ? [r.grads, r.aux] : r.grads;
  }) as never;
}

/**
 * The value and gradient together: `[value, grads]` (with `hasAux`: `[[value, aux], grads]`).
 * @example
 * ```ts
 * import { valueAndGrad, sum, square, tensor } from "tenfold";
 * const [v, g] = valueAndGrad((x) => sum(square(x)))(tensor([3, 4]));
 * console.log(v.arraySync(), g.arraySync()); // 25 [6, 8]
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function valueAndGrad<F extends (...args: any[]) => unknown, const O extends GradOptions = Record<never, never>>(
  f: F,
  opts?: O,
): (
  ...args: Parameters<F>
) => HasAux<O> extends true ? [[Tensor, AuxOf<ReturnType<F>>], GradsOf<Parameters<F>, ArgnumsOf<O>>] : [Tensor, GradsOf<Parameters<F>, ArgnumsOf<O>>] {
  const o: GradOptions = opts ?? {};
  return ((...args: unknown[]) => {
    const r = gradParts(f, o, args, "valueAndGrad");
    return o.hasAux ? [[r.value, r.aux], r.grads] : [r.value, r.grads];
  }) as never;
}

provide("transposeLinear", transposeLinear);
