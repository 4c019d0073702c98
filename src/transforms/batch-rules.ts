/**
 * Batching rules: one per primitive. Batched operands arrive with their batch axis at 0 (or are
 * unbatched: dim null); every rule returns its result batched at axis 0.
 */
import { condBatchRules } from "./cond-rules.js";
import type { Node } from "../core/node.js";
import { freshId, makeCall } from "../core/node.js";
import type { CallPrim, CustomVjpInfo, Primitive } from "../core/primitives.js";
import { Graph } from "../core/graph.js";
import { Tensor } from "../core/tensor.js";
import { bind } from "../ops/base.js";
import { permuteDims, reshape } from "../ops/shape.js";
import { callInfo, closeOver } from "./closure.js";
import { applyGraph, traceFlat } from "./trace.js";
import { transform } from "./recurse.js";
import { batchCustomJvp } from "./custom-jvp-rules.js";
import { materialize, vmapFlat } from "./vmap-flat.js";
import { convBatch } from "../ops/conv-general.js";

/** A batching rule: operands (batched at 0 or unbatched), their dims, the node, the batch size. */
export type BatchRule<P extends Primitive> = (args: readonly Tensor[], dims: readonly (0 | null)[], node: Node<P>, B: number) => Tensor;

/** Batched outputs of a call: one value per output and where its batch axis is (null = unbatched). */
export interface BatchedCall {
  readonly outs: Tensor[];
  readonly dims: (0 | null)[];
}

/** The batching rule of a call (multi-output) primitive, applied once per call node. */
export type CallBatchRule<P extends CallPrim> = (args: readonly Tensor[], dims: readonly (0 | null)[], node: Node<P>, B: number) => BatchedCall;

/** The batching rule of `proj`: output `index` of the batched call, with its batch dim. */
export type ProjBatchRule = (call: BatchedCall, node: Node<"proj">) => { readonly out: Tensor; readonly dim: 0 | null };

/** The batching table's entry for primitive P. */
export type BatchEntry<P extends Primitive> = P extends CallPrim ? CallBatchRule<P> : P extends "proj" ? ProjBatchRule : BatchRule<P>;

/** A batched call whose outputs are all batched at axis 0. */
const allBatched = (outs: Tensor[]): BatchedCall => ({ outs, dims: outs.map((): 0 => 0) });

const all = (args: readonly Tensor[], dims: readonly (0 | null)[], B: number): Tensor[] => args.map((a, i) => materialize(a, dims[i]!, B));

const elementwise: BatchRule<Primitive> = (args, dims, node, B) => bind(node.prim, node.params, all(args, dims, B));
const shiftAxes =
  <P extends "sum" | "rmax" | "rmin" | "prod">(): BatchRule<P> =>
  (args, dims, node, B) =>
    bind(node.prim, { axes: node.params.axes.map((a) => a + 1) } as Node<P>["params"], all(args, dims, B));

const unreachable =
  (prim: string): BatchRule<Primitive> =>
  () => {
    throw new Error(`internal: leaf primitive "${prim}" has no batched operands`);
  };

function batchedBody(graph: Graph, dims: readonly (0 | null)[], B: number): { graph: Graph; consts: Node[] } {
  const avals = graph.inputs.map((n, i) => ({ shape: dims[i] === 0 ? [B, ...n.shape] : n.shape, dtype: n.dtype }));
  const tr = traceFlat(
    (xs) => {
      const r = transform("batchGraph")(graph, xs, dims, B);
      return r.outs.map((o, i) => materialize(o, r.dims[i]!, B));
    },
    avals,
    "vmap",
  );
  return closeOver(tr.graph);
}

const scanRule: CallBatchRule<"scan"> = (args, dims, node, B) => {
  const p = node.params;
  const nK = p.numConsts;
  const nC = p.numCarry;
  const consts = args.slice(0, nK);
  const carry = all(args.slice(nK, nK + nC), dims.slice(nK, nK + nC), B);
  // xs: [T, ...] batched at 0 -> [T, B, ...]
  const xs = args.slice(nK + nC).map((x, i) => (dims[nK + nC + i] === 0 ? permuteDims(x, [1, 0, ...x.shape.slice(2).map((_, k) => k + 2)]) : x));
  const bodyDims: (0 | null)[] = [...dims.slice(0, nK), ...carry.map((): 0 => 0), ...dims.slice(nK + nC)];
  const { graph, consts: lifted } = batchedBody(p.body.graph, bodyDims, B);
  const body = callInfo(graph);
  const inputs = [...lifted, ...consts.map((t) => t.node), ...carry.map((t) => t.node), ...xs.map((t) => t.node)];
  const outs = makeCall("scan", { ...p, body, numConsts: lifted.length + nK }, inputs).map((n, i) => {
    const o = new Tensor(n);
    if (i < nC) return o;
    return permuteDims(o, [1, 0, ...o.shape.slice(2).map((_, k) => k + 2)]);
  });
  return allBatched(outs);
};

function batchedInfo(info: CustomVjpInfo, B: number): CustomVjpInfo {
  const { graph: g0 } = batchedBody(
    info.graph,
    info.graph.inputs.map(() => 0),
    B,
  );
  // keep the input count: batchedBody may lift consts; re-trace through a wrapper graph then
  const graph =
    g0.inputs.length === info.graph.inputs.length
      ? g0
      : (() => {
          const tr = traceFlat(
            (xs) => vmapFlat((ys) => applyGraph(info.graph, ys), xs, B),
            info.graph.inputs.map((n) => ({ shape: [B, ...n.shape], dtype: n.dtype })),
            "vmap",
          );
          return new Graph(tr.graph.inputs, tr.graph.outputs);
        })();
  const out: CustomVjpInfo = {
    id: freshId(),
    graph,
    numOut: info.numOut,
    name: info.name,
    fwd: (leaves) => {
      let nOut = 0;
      const r = vmapFlat(
        (xs) => {
          const { outs, res } = info.fwd(xs);
          nOut = outs.length;
          return [...outs, ...res];
        },
        leaves,
        B,
      );
      return { outs: r.slice(0, nOut), res: r.slice(nOut) };
    },
    bwd: (res, cts) => {
      const nR = res.length;
      const mask: boolean[] = [];
      const r = vmapFlat(
        (xs) => {
          const g = info.bwd(xs.slice(0, nR), xs.slice(nR));
          g.forEach((t, i) => (mask[i] = t !== null));
          return g.filter((t): t is Tensor => t !== null);
        },
        [...res, ...cts],
        B,
      );
      let k = 0;
      return mask.map((m) => (m ? r[k++]! : null));
    },
  };
  return out;
}

/** The batching rule of every primitive. */
export const BATCH: { readonly [P in Primitive]: BatchEntry<P> } = {
  const: unreachable("const"),
  buffer: unreachable("buffer"),
  input: unreachable("input"),
  iota: unreachable("iota"),
  neg: elementwise,
  exp: elementwise,
  log: elementwise,
  expm1: elementwise,
  log1p: elementwise,
  sin: elementwise,
  cos: elementwise,
  tanh: elementwise,
  sqrt: elementwise,
  floor: elementwise,
  round: elementwise,
  erf: elementwise,
  add: elementwise,
  mul: elementwise,
  div: elementwise,
  pow: elementwise,
  max: elementwise,
  min: elementwise,
  eq: elementwise,
  ne: elementwise,
  lt: elementwise,
  le: elementwise,
  where: elementwise,
  cast: elementwise,
  threefry: elementwise,
  shrl: elementwise,
  sum: shiftAxes<"sum">(),
  rmax: shiftAxes<"rmax">(),
  rmin: shiftAxes<"rmin">(),
  prod: shiftAxes<"prod">(),
  argmax: ([x], _d, n) => bind("argmax", { axis: n.params.axis + 1 }, [x!]),
  cumsum: ([x], _d, n) => bind("cumsum", { axis: n.params.axis + 1, reverse: n.params.reverse }, [x!]),
  reshape: ([x], _d, n, B) => bind("reshape", { shape: [B, ...n.params.shape] }, [x!]),
  permute: ([x], _d, n) => bind("permute", { perm: [0, ...n.params.perm.map((p) => p + 1)] }, [x!]),
  broadcast: ([x], _d, n, B) => bind("broadcast", { shape: [B, ...n.params.shape] }, [x!]),
  pad: ([x], _d, n) => bind("pad", { widths: [[0, 0], ...n.params.widths], value: n.params.value }, [x!]),
  slice: ([x], _d, n, B) => bind("slice", { starts: [0, ...n.params.starts], ends: [B, ...n.params.ends], steps: [1, ...n.params.steps] }, [x!]),
  flip: ([x], _d, n) => bind("flip", { axes: n.params.axes.map((a) => a + 1) }, [x!]),
  gather: (args, dims, n, B) => bind("gather", { axis: n.params.axis + 1, batchDims: n.params.batchDims + 1 }, all(args, dims, B)),
  scatterAdd: (args, dims, n, B) =>
    bind("scatterAdd", { axis: n.params.axis + 1, batchDims: n.params.batchDims + 1, shape: [B, ...n.params.shape] }, all(args, dims, B)),
  matmul: (args, dims, _n, B) => {
    const [a, b] = args;
    // [B, ..., m, k] x unbatched 2-D [k, n]: fold the batch into rows
    if (dims[1] === null && b!.ndim === 2) {
      const m = a!.shape[a!.ndim - 2]!;
      const k = a!.shape[a!.ndim - 1]!;
      const lead = a!.shape.slice(0, -2);
      const r = bind("matmul", {}, [reshape(a!, [lead.reduce((x, y) => x * y, 1) * m, k]), b!]);
      return reshape(r, [...lead, m, b!.shape[1]!]);
    }
    return bind("matmul", {}, all(args, dims, B));
  },
  conv: (args, dims, node, B) => convBatch(args, dims, node, B),
  // the pooled axes are the last ones: a leading batch axis is one more unpooled axis
  maxPool: ([x], _d, n) => bind("maxPool", n.params, [x!]),
  maxPoolGather: (args, dims, n, B) => bind("maxPoolGather", n.params, all(args, dims, B)),
  maxPoolScatter: (args, dims, n, B) => bind("maxPoolScatter", n.params, all(args, dims, B)),
  scan: scanRule,
  whileLoop: (a, d, n, B) => condBatchRules.whileLoop(a, d, n, B),
  cond: (a, d, n, B) => condBatchRules.cond(a, d, n, B),
  customVjp: (args, dims, node, B) => {
    const info = batchedInfo(node.params.info, B);
    const outs = makeCall(
      "customVjp",
      { info },
      all(args, dims, B).map((t) => t.node),
    );
    return allBatched(outs.map((n) => new Tensor(n)));
  },
  customVjpLinear: () => {
    throw new Error("vmap of forward-mode derivatives through a customVjp function is not supported");
  },
  customJvp: (args, dims, node, B) => allBatched(batchCustomJvp(all(args, dims, B), node, B)),
  checkpoint: (args, dims, node, B) => {
    const { graph, consts } = batchedBody(
      node.params.body.graph,
      node.params.body.graph.inputs.map(() => 0),
      B,
    );
    const body = callInfo(graph);
    const ins = [...consts, ...all(args, dims, B).map((t) => t.node)];
    return allBatched(makeCall("checkpoint", { body }, ins).map((n) => new Tensor(n)));
  },
  proj: (call, node) => ({ out: call.outs[node.params.index]!, dim: call.dims[node.params.index]! }),
  stopGradient: elementwise,
  barrier: elementwise,
};
