/**
 * The `customJvp` primitive's machinery: building a call (`callCustomJvp`), its JVP rule (the
 * user's rule, traced once per call with fresh tangent placeholders, checked to be linear in the
 * tangents, then inlined), its transpose rule (for calls applied to linear values inside another
 * rule: the body is transposed) and its batching rule (vmap of both the body and the rule).
 * Reverse mode needs nothing more: `vjp` linearizes with the JVP rule and transposes the rule's
 * tangent computation, as JAX does for `jax.custom_jvp`.
 */
import { isFloat } from "../core/dtype.js";
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Node } from "../core/node.js";
import { freshId, inputNode, makeCall, projections } from "../core/node.js";
import type { CustomJvpInfo, Primitive } from "../core/primitives.js";
import { META, isCallPrim } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import { zerosLike } from "../ops/creation.js";
import { closeOver } from "./closure.js";
import type { CallJvpRule } from "./jvp-rules.js";
import { transform } from "./recurse.js";
import { applyGraph, dependents, substitute, traceFlat } from "./trace.js";
import type { CallTransposeRule } from "./transpose-rules.js";
import { vmapFlat } from "./vmap-flat.js";

const T = (n: Node): Tensor => new Tensor(n);
const aval = (t: Tensor | Node): { shape: readonly number[]; dtype: Node["dtype"] } => ({ shape: t.shape, dtype: t.dtype });
const zeroOf = (t: Tensor): Tensor => zerosLike(t, { dtype: isFloat(t.dtype) ? t.dtype : "float32" });

/**
 * Builds a customJvp call of the flat function `f` with the flat rule `rule(primals, tangents)`
 * (returning `[...primalOuts, ...tangentOuts]`) on `args`; returns the call's outputs.
 */
export function callCustomJvp(name: string, f: (xs: Tensor[]) => Tensor[], rule: CustomJvpInfo["rule"], args: readonly Tensor[]): Tensor[] {
  const tr = traceFlat(f, args.map(aval), `customJvp(${name})`);
  const { graph, consts } = closeOver(tr.graph);
  const info: CustomJvpInfo = { id: freshId(), graph, numConsts: consts.length, name, rule };
  const inputs = [...consts, ...args.map((t) => t.node)];
  return makeCall("customJvp", { info }, inputs).map(T);
}

/** Why the node `n` is not linear in its operands marked `lin` (undefined when it is). */
function nonLinearity(n: Node, lin: readonly boolean[]): string | undefined {
  const p: Primitive = n.prim;
  if (META[p].linear || isCallPrim(p) || p === "cast" || p === "barrier") return undefined;
  if ((p === "mul" || p === "matmul") && !(lin[0] && lin[1])) return undefined;
  if (p === "mul" || p === "matmul") return `${p} of two tangent-dependent values`;
  if (p === "div") return lin[1] ? "division by a tangent-dependent value" : undefined;
  if (p === "where") return lin[0] ? "a condition computed from the tangents" : undefined;
  if (n.prim === "pad") return n.params.value === 0 ? undefined : "pad with a nonzero value";
  if (p === "gather" || p === "scatterAdd") return lin[1] ? "indices computed from the tangents" : undefined;
  if (p === "maxPoolGather" || p === "maxPoolScatter") return lin[1] ? "pooling windows selected from the tangents" : undefined;
  return `primitive "${p}" applied to a tangent-dependent value`;
}

interface Traced {
  outs: Node[];
  touts: Node[];
  graphInputs: Node[];
}

/** Traces `info.rule` with fresh placeholders and checks its tangent outputs are linear in the tangents. */
function traceRule(info: CustomJvpInfo, primals: readonly Tensor[]): Traced {
  const args = primals.slice(info.numConsts);
  const nOut = info.graph.outputs.length;
  const tr = traceFlat(
    (xs) => {
      const r = info.rule(xs.slice(0, args.length), xs.slice(args.length));
      if (r.length !== 2 * nOut) throw new ShapeError(`customJvp(${info.name}): the rule returned ${r.length / 2} outputs, but f returns ${nOut}`);
      return r;
    },
    [...args.map(aval), ...args.map((a) => ({ shape: a.shape, dtype: isFloat(a.dtype) ? a.dtype : ("float32" as const) }))],
    `customJvp(${info.name}) rule`,
  );
  const g = tr.graph;
  const outs = g.outputs.slice(0, nOut);
  const touts = g.outputs.slice(nOut);
  outs.forEach((o, i) => {
    const want = info.graph.outputs[i]!;
    const t = touts[i]!;
    if (o.shape.join() !== want.shape.join() || t.shape.join() !== want.shape.join()) {
      throw new ShapeError(
        `customJvp(${info.name}): the rule's output ${i} (primal ${fmtShape(o.shape)}, tangent ${fmtShape(t.shape)}) must have f's shape ${fmtShape(want.shape)}`,
      );
    }
  });
  const tIns = g.inputs.slice(args.length);
  const dep = dependents([...outs, ...touts], new Set(tIns.map((n) => n.id)));
  for (const o of outs) {
    if (dep.has(o.id)) throw new Error(`customJvp(${info.name}): the rule's primal output depends on the tangents; it must be a function of the primals only`);
  }
  const seen = new Set<number>();
  const walk = (n: Node): void => {
    if (seen.has(n.id) || !dep.has(n.id)) return;
    seen.add(n.id);
    const why =
      n.prim === "input"
        ? undefined
        : nonLinearity(
            n,
            n.inputs.map((i) => dep.has(i.id)),
          );
    if (why !== undefined) {
      throw new Error(
        `customJvp(${info.name}): the JVP rule's tangent output must be linear in the tangents (as JAX requires, so that reverse mode can transpose it), but it contains ${why}`,
      );
    }
    n.inputs.forEach(walk);
  };
  touts.forEach(walk);
  return { outs, touts, graphInputs: [...g.inputs] };
}

/** JVP of a customJvp call: the rule's tangent outputs, with its primal outputs replaced by the call's. */
export const customJvpRule: CallJvpRule<"customJvp"> = (primals, tangents, node) => {
  const info = node.params.info;
  const nK = info.numConsts;
  tangents.slice(0, nK).forEach((t) => {
    if (t !== null) {
      throw new Error(`customJvp(${info.name}): f closes over a value that is being differentiated; pass it to f as an argument instead`);
    }
  });
  const outs = projections(node);
  if (tangents.slice(nK).every((t) => t === null)) return { outs: outs.map(T), touts: outs.map(() => null) };
  const tr = traceRule(info, primals);
  const env = new Map<number, Node>();
  const args = primals.slice(nK);
  args.forEach((a, i) => env.set(tr.graphInputs[i]!.id, a.node));
  args.forEach((a, i) => env.set(tr.graphInputs[args.length + i]!.id, (tangents[nK + i] ?? zeroOf(a)).node));
  // the rule's primal outputs are the call's outputs (so the rule's tangents reuse them)
  tr.outs.forEach((o, i) => {
    if (!env.has(o.id)) env.set(o.id, outs[i]!);
  });
  return { outs: outs.map(T), touts: substitute(tr.touts, env).map(T) };
};

/** Transpose of a customJvp call applied to linear operands: the body, transposed. */
export const customJvpTranspose: CallTransposeRule<"customJvp"> = (cts, node, lin) => {
  const g = node.params.info.graph;
  const phs = node.inputs.filter((_, i) => lin[i]).map((n) => inputNode(n.shape, n.dtype));
  let k = 0;
  const outs = applyGraph(
    g,
    node.inputs.map((n, i) => T(lin[i] ? phs[k++]! : n)),
  );
  const r = transform("transposeLinear")(outs, cts, phs);
  k = 0;
  return node.inputs.map((_, i) => (lin[i] ? (r[k++] ?? null) : null));
};

/** Batching rule: a new customJvp call whose body and rule are the vmapped ones (`args` all batched at 0); its outputs. */
export function batchCustomJvp(args: readonly Tensor[], node: Node<"customJvp">, B: number): Tensor[] {
  const info = node.params.info;
  const nK = info.numConsts;
  const n = args.length;
  // the old call's consts are operands of the new one; their tangents are not the rule's business
  const rule: CustomJvpInfo["rule"] = (ps, ts) => vmapFlat((z) => info.rule(z.slice(nK, n), z.slice(n + nK)), [...ps, ...ts], B);
  return callCustomJvp(info.name, (xs) => vmapFlat((ys) => applyGraph(info.graph, ys), xs, B), rule, args);
}
