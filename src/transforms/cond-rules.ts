/**
 * JVP, transpose and batching rules of the data-dependent control-flow primitives `whileLoop` and
 * `cond` (JAX's `while_loop` and `switch`). Each rule works on the body graphs with the same
 * machinery used for whole programs, and is applied once per call node (a multi-output node): it
 * sees the tangents, cotangents or batch dims of every output at once.
 *
 * - whileLoop jvp: a while over (carry, tangent carry) whose body is the body's jvp; the predicate
 *   sees only primals. Its transpose throws: the trip count is unknown until run time (use the
 *   `maxIterations` form, a scan, for reverse mode), as in JAX.
 * - whileLoop vmap: an unbatched predicate stays a plain loop; a batched one loops while any lane
 *   is true and freezes finished lanes with `where`.
 * - cond jvp: a cond of the branches' jvps; transpose: a cond of the transposed branches (the
 *   branches recompute their primal values from the cond's operands); vmap: an unbatched index
 *   stays a cond, a batched one runs every branch and selects with `where`, as in JAX.
 */
import { isFloat } from "../core/dtype.js";
import { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { inputNode, makeCall, projections } from "../core/node.js";
import type { CallInfo } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import { zerosLike } from "../ops/creation.js";
import { clip, equal, where } from "../ops/elementwise.js";
import { any } from "../ops/reduce.js";
import { reshape } from "../ops/shape.js";
import type { CallBatchRule } from "./batch-rules.js";
import { callInfo, closeOver } from "./closure.js";
import type { CallJvpRule } from "./jvp-rules.js";
import { transform } from "./recurse.js";
import { applyGraph, dependents, traceFlat } from "./trace.js";
import type { Aval } from "./trace.js";
import type { CallTransposeRule } from "./transpose-rules.js";
import { materialize } from "./vmap-flat.js";

const T = (n: Node): Tensor => new Tensor(n);
const aval = (n: Node | Tensor): Aval => ({ shape: n.shape, dtype: n.dtype });
const zeroOf = (n: Node | Tensor): Tensor => zerosLike(n instanceof Tensor ? n : T(n), { dtype: isFloat(n.dtype) ? n.dtype : "float32" });

/** A traced flat function with its captured values lifted into leading inputs. */
interface Closed {
  readonly graph: Graph;
  readonly consts: Node[];
}

function closed(f: (xs: Tensor[]) => Tensor[], avals: readonly Aval[]): Closed {
  return closeOver(traceFlat(f, avals, "transform").graph);
}

/**
 * Gives several closed graphs one input list: [...consts of part 0, ...consts of part 1, ...,
 * ...shared inputs]; each graph gets placeholders for the other parts' consts.
 */
export function mergeCalls(parts: readonly Closed[]): { calls: CallInfo[]; consts: Node[] } {
  const consts = parts.flatMap((p) => p.consts);
  const calls = parts.map((p, k) => {
    const nL = p.consts.length;
    const ins: Node[] = [];
    parts.forEach((q, j) => {
      if (j === k) ins.push(...p.graph.inputs.slice(0, nL));
      else ins.push(...q.consts.map((c) => inputNode(c.shape, c.dtype)));
    });
    return callInfo(new Graph([...ins, ...p.graph.inputs.slice(nL)], p.graph.outputs));
  });
  return { calls, consts };
}

function condNodes(branches: CallInfo[], inputs: readonly Node[]): Tensor[] {
  return makeCall("cond", { branches }, inputs).map(T);
}

function whileNodes(cond: CallInfo, body: CallInfo, numConsts: number, inputs: readonly Node[]): Tensor[] {
  return makeCall("whileLoop", { cond, body, numConsts }, inputs).map(T);
}

/** The outputs of a call node with no tangents. */
const untouched = (node: Node): { outs: Tensor[]; touts: null[] } => {
  const outs = projections(node).map(T);
  return { outs, touts: outs.map(() => null) };
};

// ---- cond --------------------------------------------------------------------------------------

const condJvp: CallJvpRule<"cond"> = (primals, tangents, node) => {
  const p = node.params;
  const ops = primals.slice(1);
  const live = ops.map((x, i) => (tangents[i + 1] && isFloat(x.dtype) ? i : -1)).filter((i) => i >= 0);
  if (live.length === 0) return untouched(node);
  const touts = ((): (Tensor | null)[] => {
    const outs = p.branches[0]!.graph.outputs;
    const fl = outs.map((o) => isFloat(o.dtype));
    const parts = p.branches.map((b) =>
      closed(
        (a) => {
          const tan = ops.map((_, i) => (live.includes(i) ? a[ops.length + live.indexOf(i)]! : null));
          const r = transform("jvpGraph")(b.graph, a.slice(0, ops.length), tan);
          return r.touts.filter((_, i) => fl[i]).map((t, i) => t ?? zeroOf(r.outs.filter((_, j) => fl[j])[i]!));
        },
        [...ops.map(aval), ...live.map((i) => aval(ops[i]!))],
      ),
    );
    const { calls, consts } = mergeCalls(parts);
    const inputs = [primals[0]!.node, ...consts, ...ops.map((t) => t.node), ...live.map((i) => tangents[i + 1]!.node)];
    const ts = condNodes(calls, inputs);
    let k = 0;
    return fl.map((f) => (f ? ts[k++]! : null));
  })();
  return { outs: projections(node).map(T), touts };
};

/** Transpose of a cond: a cond of the transposed branches, for the cotangents of every output. */
const condTranspose: CallTransposeRule<"cond"> = (cts, node, lin) => {
  const p = node.params;
  const ops = node.inputs.slice(1);
  const linOps = lin.slice(1);
  const nonlin = ops.filter((_, i) => !linOps[i]);
  const linIns = ops.filter((_, i) => linOps[i]);
  const liveCts = cts.flatMap((c, i) => (c ? [i] : []));
  const parts = p.branches.map((b) =>
    closed(
      (a) => {
        const nl = a.slice(0, nonlin.length);
        const cs = a.slice(nonlin.length);
        const phs = linIns.map((n) => inputNode(n.shape, n.dtype));
        let q = 0;
        let r = 0;
        const outs = applyGraph(
          b.graph,
          ops.map((_, i) => (linOps[i] ? T(phs[q++]!) : nl[r++]!)),
        );
        const outCts = outs.map((_, i) => (liveCts.includes(i) ? cs[liveCts.indexOf(i)]! : null));
        return transform("transposeLinear")(outs, outCts, phs).map((t, i) => t ?? zeroOf(phs[i]!));
      },
      [...nonlin.map(aval), ...liveCts.map((i) => aval(cts[i]!))],
    ),
  );
  const { calls, consts } = mergeCalls(parts);
  const outs = condNodes(calls, [node.inputs[0]!, ...consts, ...nonlin, ...liveCts.map((i) => cts[i]!.node)]);
  let k = 0;
  return node.inputs.map((_, i) => (lin[i] ? outs[k++]! : null));
};

const condBatch: CallBatchRule<"cond"> = (args, dims, node, B) => {
  const p = node.params;
  const outs = ((): Tensor[] => {
    const ops = args.slice(1);
    const opDims = dims.slice(1);
    if (dims[0] === null) {
      // unbatched index: still one cond, over batched branches
      const parts = p.branches.map((b) =>
        closed(
          (xs) => {
            const r = transform("batchGraph")(b.graph, xs, opDims, B);
            return r.outs.map((o, i) => materialize(o, r.dims[i]!, B));
          },
          ops.map((x) => aval(x)),
        ),
      );
      const { calls, consts } = mergeCalls(parts);
      return condNodes(calls, [args[0]!.node, ...consts, ...ops.map((t) => t.node)]);
    }
    // batched index: every branch runs, the lanes select with where (JAX's cond under vmap)
    const idx = clip(args[0]!, { min: 0, max: p.branches.length - 1 });
    const res = p.branches.map((b) => {
      const r = transform("batchGraph")(b.graph, ops, opDims, B);
      return r.outs.map((o, i) => materialize(o, r.dims[i]!, B));
    });
    return res[0]!.map((_, j) => {
      let r = res[res.length - 1]![j]!;
      for (let k = res.length - 2; k >= 0; k--) {
        const pick = reshape(equal(idx, k), [B, ...r.shape.slice(1).map(() => 1)]);
        r = where(pick, res[k]![j]!, r);
      }
      return r;
    });
  })();
  return { outs, dims: outs.map((): 0 => 0) };
};

// ---- whileLoop ---------------------------------------------------------------------------------

const whileJvp: CallJvpRule<"whileLoop"> = (primals, tangents, node) => {
  const p = node.params;
  const nK = p.numConsts;
  const consts = primals.slice(0, nK);
  const carry = primals.slice(nK);
  const liveK = consts.map((c, i) => (tangents[i] && isFloat(c.dtype) ? i : -1)).filter((i) => i >= 0);
  const liveH = carry.map((c, i) => (isFloat(c.dtype) ? i : -1)).filter((i) => i >= 0);
  const anyLive = liveK.length > 0 || liveH.some((i) => tangents[nK + i]);
  if (!anyLive) return untouched(node);
  const touts = ((): (Tensor | null)[] => {
    // layout: [...consts, ...tangent consts (live), ...carry, ...tangent carry (float carries)]
    const avals = [...consts.map(aval), ...liveK.map((i) => aval(consts[i]!)), ...carry.map(aval), ...liveH.map((i) => aval(carry[i]!))];
    const split = (a: Tensor[]): { k: Tensor[]; tk: Tensor[]; c: Tensor[]; tc: Tensor[] } => {
      let o = 0;
      return { k: a.slice(o, (o += nK)), tk: a.slice(o, (o += liveK.length)), c: a.slice(o, (o += carry.length)), tc: a.slice(o) };
    };
    const condPart = closed((a) => {
      const s = split(a);
      return applyGraph(p.cond.graph, [...s.k, ...s.c]);
    }, avals);
    const bodyPart = closed((a) => {
      const s = split(a);
      const tan = [
        ...consts.map((_, i) => (liveK.includes(i) ? s.tk[liveK.indexOf(i)]! : null)),
        ...carry.map((_, i) => (liveH.includes(i) ? s.tc[liveH.indexOf(i)]! : null)),
      ];
      const r = transform("jvpGraph")(p.body.graph, [...s.k, ...s.c], tan);
      return [...r.outs, ...liveH.map((i) => r.touts[i] ?? zeroOf(r.outs[i]!))];
    }, avals);
    const { calls, consts: lifted } = mergeCalls([condPart, bodyPart]);
    const inputs = [
      ...lifted,
      ...consts.map((t) => t.node),
      ...liveK.map((i) => tangents[i]!.node),
      ...carry.map((t) => t.node),
      ...liveH.map((i) => (tangents[nK + i] ?? zeroOf(carry[i]!)).node),
    ];
    const outs = whileNodes(calls[0]!, calls[1]!, lifted.length + nK + liveK.length, inputs);
    return carry.map((_, i) => (liveH.includes(i) ? outs[carry.length + liveH.indexOf(i)]! : null));
  })();
  return { outs: projections(node).map(T), touts };
};

const whileTranspose: CallTransposeRule<"whileLoop"> = () => {
  throw new Error(
    "whileLoop: reverse-mode differentiation (grad, vjp) of a whileLoop whose trip count is decided at run time is not supported " +
      "(as in JAX); pass { maxIterations } to whileLoop for its bounded form (a scan), which is reverse-differentiable, or use jvp/jacfwd",
  );
};

/**
 * The batch dims of a graph's outputs for given input dims: batched exactly where an output
 * depends on a batched input (batchGraph's own rule), found without tracing.
 */
function outDims(graph: Graph, inDims: readonly (0 | null)[]): (0 | null)[] {
  const dep = dependents(graph.outputs, new Set(graph.inputs.filter((_, i) => inDims[i] === 0).map((n) => n.id)));
  return graph.outputs.map((o) => (dep.has(o.id) ? 0 : null));
}

const whileBatch: CallBatchRule<"whileLoop"> = (args, dims, node, B) => {
  const p = node.params;
  const nK = p.numConsts;
  const outs = ((): Tensor[] => {
    const dK = dims.slice(0, nK);
    let dC = dims.slice(nK);
    // the carries batched at the fixpoint of the body
    for (;;) {
      const o = outDims(p.body.graph, [...dK, ...dC]);
      const next = dC.map((d, i) => d ?? o[i] ?? null);
      if (next.every((d, i) => d === dC[i])) break;
      dC = next;
    }
    const predBatched = outDims(p.cond.graph, [...dK, ...dC])[0] === 0;
    if (predBatched) dC = dC.map((): 0 => 0);
    const inDims = [...dK, ...dC];
    const batchAs = (ts: readonly Tensor[], want: readonly (0 | null)[], got: readonly (0 | null)[]): Tensor[] =>
      ts.map((t, i) => (want[i] === 0 ? materialize(t, got[i] ?? null, B) : t));
    const carryOf = (xs: Tensor[]): Tensor[] => xs.slice(nK);
    let condPart: Closed;
    let bodyPart: Closed;
    if (!predBatched) {
      condPart = closed(
        (xs) => transform("batchGraph")(p.cond.graph, xs, inDims, B).outs,
        p.cond.graph.inputs.map((n, i) => ({ shape: inDims[i] === 0 ? [B, ...n.shape] : n.shape, dtype: n.dtype })),
      );
      bodyPart = closed(
        (xs) => {
          const r = transform("batchGraph")(p.body.graph, xs, inDims, B);
          return batchAs(r.outs, dC, r.dims);
        },
        p.body.graph.inputs.map((n, i) => ({ shape: inDims[i] === 0 ? [B, ...n.shape] : n.shape, dtype: n.dtype })),
      );
    } else {
      const predOf = (xs: Tensor[]): Tensor => {
        const r = transform("batchGraph")(p.cond.graph, xs, inDims, B);
        return materialize(r.outs[0]!, r.dims[0]!, B);
      };
      const avals = p.body.graph.inputs.map((n, i) => ({ shape: inDims[i] === 0 ? [B, ...n.shape] : n.shape, dtype: n.dtype }));
      condPart = closed((xs) => [any(predOf(xs))], avals);
      bodyPart = closed((xs) => {
        const pred = predOf(xs);
        const r = transform("batchGraph")(p.body.graph, xs, inDims, B);
        const next = batchAs(r.outs, dC, r.dims);
        const cur = carryOf(xs);
        return next.map((n, i) => where(reshape(pred, [B, ...n.shape.slice(1).map(() => 1)]), n, cur[i]!));
      }, avals);
    }
    const { calls, consts: lifted } = mergeCalls([condPart, bodyPart]);
    const inputs = [...lifted, ...args.slice(0, nK).map((t) => t.node), ...batchAs(args.slice(nK), dC, dims.slice(nK)).map((t) => t.node)];
    const raw = whileNodes(calls[0]!, calls[1]!, lifted.length + nK, inputs);
    return raw.map((t, i) => materialize(t, dC[i]!, B));
  })();
  return { outs, dims: outs.map((): 0 => 0) };
};

/** Rules of whileLoop and cond, merged into the transforms' tables. */
export const condJvpRules = { whileLoop: whileJvp, cond: condJvp };
export const condTransposeRules = { whileLoop: whileTranspose, cond: condTranspose };
export const condBatchRules = { whileLoop: whileBatch, cond: condBatch };
