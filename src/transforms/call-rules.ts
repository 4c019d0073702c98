/**
 * JVP and transpose rules of the higher-order primitives (scan, customVjp, checkpoint). Each works
 * on the body graph with the same machinery used for whole programs, and is applied once per call
 * node (a multi-output node): it sees the tangents or cotangents of every output at once.
 */
import { isFloat } from "../core/dtype.js";
import { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { inputNode, makeCall, projections } from "../core/node.js";
import type { CallInfo } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import { zerosLike } from "../ops/creation.js";
import { add } from "../ops/elementwise.js";
import { callInfo, closeOver } from "./closure.js";
import type { CallJvpRule } from "./jvp-rules.js";
import type { CallTransposeRule } from "./transpose-rules.js";
import { applyGraph, traceFlat } from "./trace.js";
import { transform } from "./recurse.js";
import { customJvpRule, customJvpTranspose } from "./custom-jvp-rules.js";

const T = (n: Node): Tensor => new Tensor(n);
const zeroOf = (n: Node | Tensor): Tensor => zerosLike(n instanceof Tensor ? n : T(n), { dtype: isFloat(n.dtype) ? n.dtype : "float32" });

function scanNodes(body: CallInfo, numConsts: number, numCarry: number, length: number, reverse: boolean, inputs: readonly Node[]): Tensor[] {
  return makeCall("scan", { body, numConsts, numCarry, length, reverse }, inputs).map(T);
}

/** Traces a flat function into a closed call (captured values become leading operands). */
function closedCall(f: (xs: Tensor[]) => Tensor[], avals: readonly { shape: readonly number[]; dtype: Node["dtype"] }[]): { body: CallInfo; consts: Node[] } {
  const tr = traceFlat(f, avals, "transform");
  const { graph, consts } = closeOver(tr.graph);
  return { body: callInfo(graph), consts };
}

const aval = (n: Node | Tensor): { shape: readonly number[]; dtype: Node["dtype"] } => ({ shape: n.shape, dtype: n.dtype });

// ---- scan --------------------------------------------------------------------------------------

/**
 * JVP of a scan: a primal scan that also emits the carry entering each step (its outputs replace
 * the call's), and a tangent scan linear in the tangents (so reverse mode can transpose it).
 */
const scanJvp: CallJvpRule<"scan"> = (primals, tangents, node) => {
  const p = node.params;
  const g = p.body.graph;
  const nK = p.numConsts;
  const nC = p.numCarry;
  const consts = primals.slice(0, nK);
  const init = primals.slice(nK, nK + nC);
  const xs = primals.slice(nK + nC);
  const nY = g.outputs.length - nC;
  const fl = (t: Tensor): boolean => isFloat(t.dtype);
  // 1. primal scan that also emits the carry entering each step (residuals)
  const carryIn = g.inputs.slice(nK, nK + nC);
  const b1: CallInfo = callInfo(new Graph(g.inputs, [...g.outputs, ...carryIn]));
  const s1 = scanNodes(b1, nK, nC, p.length, p.reverse, node.inputs);
  const outs = s1.slice(0, nC + nY);
  const res = s1.slice(nC + nY);
  // 2. tangent scan, linear in (tangent consts, tangent carry, tangent xs)
  const tK = consts.map((c, i) => (fl(c) ? (tangents[i] ?? zeroOf(c)) : null));
  const tH = init.map((c, i) => (fl(c) ? (tangents[nK + i] ?? zeroOf(c)) : null));
  const tX = xs.map((x, i) => (fl(x) ? (tangents[nK + nC + i] ?? zeroOf(x)) : null));
  const liveK = tK.filter((t): t is Tensor => t !== null);
  const liveH = tH.filter((t): t is Tensor => t !== null);
  const liveX = tX.filter((t): t is Tensor => t !== null);
  const perStep = (t: Tensor): { shape: readonly number[]; dtype: Node["dtype"] } => ({ shape: t.shape.slice(1), dtype: t.dtype });
  const avals = [...consts.map(aval), ...liveK.map(aval), ...liveH.map(aval), ...xs.map(perStep), ...res.map(perStep), ...liveX.map(perStep)];
  const { body, consts: lifted } = closedCall((a) => {
    let k = 0;
    const cs = a.slice(k, (k += nK));
    const tks = a.slice(k, (k += liveK.length));
    const ths = a.slice(k, (k += liveH.length));
    const xts = a.slice(k, (k += xs.length));
    const rts = a.slice(k, (k += nC));
    const txs = a.slice(k, (k += liveX.length));
    let ik = 0;
    let ih = 0;
    let ix = 0;
    const tan = [...tK.map((t) => (t ? tks[ik++]! : null)), ...tH.map((t) => (t ? ths[ih++]! : null)), ...tX.map((t) => (t ? txs[ix++]! : null))];
    const r = transform("jvpGraph")(g, [...cs, ...rts, ...xts], tan);
    const tc = r.touts
      .slice(0, nC)
      .filter((_, i) => tH[i] !== null)
      .map((t, i) => t ?? zeroOf(liveH[i]!));
    const ty = r.touts.slice(nC).map((t, i) => t ?? zeroOf(r.outs[nC + i]!));
    return [...tc, ...ty];
  }, avals);
  const nK2 = lifted.length + nK + liveK.length;
  const s2 = scanNodes(body, nK2, liveH.length, p.length, p.reverse, [
    ...lifted,
    ...consts.map((t) => t.node),
    ...liveK.map((t) => t.node),
    ...liveH.map((t) => t.node),
    ...xs.map((t) => t.node),
    ...res.map((t) => t.node),
    ...liveX.map((t) => t.node),
  ]);
  let j = 0;
  const touts: Tensor[] = [];
  for (let i = 0; i < nC; i++) touts.push(tH[i] ? s2[j++]! : zeroOf(outs[i]!));
  for (let i = 0; i < nY; i++) touts.push(s2[j++]!);
  return { outs, touts };
};

/**
 * Transpose of a linear scan given the cotangents of its outputs (one entry per output, null =
 * zero): one scan running the other way computes them all.
 */
const scanTranspose: CallTransposeRule<"scan"> = (outCts, node, lin) => {
  const p = node.params;
  const g = p.body.graph;
  const nK = p.numConsts;
  const nC = p.numCarry;
  const ins = node.inputs;
  const isLinK = lin.slice(0, nK);
  const isLinX = lin.slice(nK + nC);
  // carries that do not depend on the linear inputs (e.g. zero tangents) are treated as linear
  // zeros: their cotangent is computed and dropped
  const Kn = ins.slice(0, nK).filter((_, i) => !isLinK[i]);
  const Kl = ins.slice(0, nK).filter((_, i) => isLinK[i]);
  const Xn = ins.slice(nK + nC).filter((_, i) => !isLinX[i]);
  const Xl = ins.slice(nK + nC).filter((_, i) => isLinX[i]);
  const H = ins.slice(nK, nK + nC);
  // cotangent inputs: the carries' (initial carry of the reverse loop) and the ys' (scanned over)
  const ctH0 = H.map((h, i) => outCts[i] ?? zeroOf(h));
  const yIdx = g.outputs
    .slice(nC)
    .map((_, j) => j)
    .filter((j) => outCts[nC + j]);
  const ctYs = yIdx.map((j) => outCts[nC + j]!);
  const perStep = (n: Node | Tensor): { shape: readonly number[]; dtype: Node["dtype"] } => ({ shape: n.shape.slice(1), dtype: n.dtype });
  const avals = [...Kn.map(aval), ...H.map(aval), ...Kl.map(aval), ...Xn.map(perStep), ...ctYs.map(perStep)];
  const { body, consts: lifted } = closedCall((a) => {
    let k = 0;
    const kn = a.slice(k, (k += Kn.length));
    const cth = a.slice(k, (k += nC));
    const acc = a.slice(k, (k += Kl.length));
    const xn = a.slice(k, (k += Xn.length));
    const cty = a.slice(k, (k += ctYs.length));
    // linear placeholders for Kl, H, Xl_t
    const klPh = Kl.map((n) => inputNode(n.shape, n.dtype));
    const hPh = H.map((n) => inputNode(n.shape, n.dtype));
    const xlPh = Xl.map((n) => inputNode(n.shape.slice(1), n.dtype));
    let a1 = 0;
    let a2 = 0;
    let b1 = 0;
    let b2 = 0;
    const args = [...isLinK.map((l) => (l ? T(klPh[a1++]!) : kn[a2++]!)), ...hPh.map(T), ...isLinX.map((l) => (l ? T(xlPh[b1++]!) : xn[b2++]!))];
    const outs = applyGraph(g, args);
    const cts: (Tensor | null)[] = [...cth, ...outs.slice(nC).map((_, j) => (yIdx.includes(j) ? cty[yIdx.indexOf(j)]! : null))];
    const r = transform("transposeLinear")(outs, cts, [...klPh, ...hPh, ...xlPh]);
    const rk = r.slice(0, Kl.length).map((t, i) => (t ? add(acc[i]!, t) : acc[i]!));
    const rh = r.slice(Kl.length, Kl.length + nC).map((t, i) => t ?? zeroOf(H[i]!));
    const rx = r.slice(Kl.length + nC).map((t, i) => t ?? zeroOf(xlPh[i]!));
    return [...rh, ...rk, ...rx];
  }, avals);
  const s = scanNodes(body, lifted.length + Kn.length, nC + Kl.length, p.length, !p.reverse, [
    ...lifted,
    ...Kn,
    ...ctH0.map((t) => t.node),
    ...Kl.map((n) => zeroOf(n).node),
    ...Xn,
    ...ctYs.map((t) => t.node),
  ]);
  const ctHinit = s.slice(0, nC);
  const ctKl = s.slice(nC, nC + Kl.length);
  const ctXl = s.slice(nC + Kl.length);
  let a = 0;
  let b = 0;
  return [...isLinK.map((l) => (l ? ctKl[a++]! : null)), ...ctHinit.map((t, i) => (lin[nK + i] ? t : null)), ...isLinX.map((l) => (l ? ctXl[b++]! : null))];
};

// ---- customVjp ---------------------------------------------------------------------------------

/** JVP of a customVjp call: the call's outputs, and the tangents as one customVjpLinear call on the residuals. */
const customVjpRule: CallJvpRule<"customVjp"> = (primals, tangents, node) => {
  const info = node.params.info;
  const outs = projections(node).map(T);
  if (tangents.every((t) => t === null)) return { outs, touts: outs.map(() => null) };
  const { res } = info.fwd(primals);
  const argT = primals.map((x, i) => (tangents[i] ?? zeroOf(x)).node);
  const touts = makeCall("customVjpLinear", { info, numRes: res.length, argShapes: primals.map((x) => ({ shape: x.shape, dtype: x.dtype })) }, [
    ...res.map((r) => r.node),
    ...argT,
  ]).map(T);
  return { outs, touts };
};

const customVjpLinearJvp: CallJvpRule<"customVjpLinear"> = (primals, tangents, node) => {
  const nR = node.params.numRes;
  if (tangents.slice(0, nR).some((t) => t !== null)) {
    throw new Error(
      `forward-mode differentiation through the customVjp function "${node.params.info.name}" is not supported (its VJP is hand-written); use reverse mode`,
    );
  }
  const outs = projections(node).map(T);
  const argT = tangents.slice(nR);
  if (argT.every((t) => t === null)) return { outs, touts: outs.map(() => null) };
  const touts = makeCall("customVjpLinear", node.params, [
    ...primals.slice(0, nR).map((t) => t.node),
    ...argT.map((t, i) => (t ?? zeroOf(primals[nR + i]!)).node),
  ]);
  return { outs, touts: touts.map(T) };
};

/** Transpose of the linear map of a customVjp call: the user's bwd, once for the cotangents of every output. */
const customVjpLinearT: CallTransposeRule<"customVjpLinear"> = (cts, node) => {
  const { info, numRes } = node.params;
  const res = node.inputs.slice(0, numRes).map(T);
  const g = info.bwd(
    res,
    info.graph.outputs.map((o, i) => cts[i] ?? zeroOf(o)),
  );
  return [...res.map(() => null), ...g];
};

// ---- checkpoint --------------------------------------------------------------------------------

/** JVP of a checkpoint: the call's outputs, and one checkpoint of the body's JVP for the tangents. */
const checkpointJvp: CallJvpRule<"checkpoint"> = (primals, tangents, node) => {
  const outs = projections(node).map(T);
  if (tangents.every((t) => t === null)) return { outs, touts: outs.map(() => null) };
  const body = node.params.body;
  const live = tangents.map((t, i) => (t ? i : -1)).filter((i) => i >= 0);
  const n = primals.length;
  const jb = closedCall(
    (a) => {
      const tan = primals.map((_, i) => (live.includes(i) ? a[n + live.indexOf(i)]! : null));
      const r = transform("jvpGraph")(body.graph, a.slice(0, n), tan);
      return r.touts.map((t, i) => t ?? zeroOf(r.outs[i]!));
    },
    [...primals.map(aval), ...live.map((i) => aval(primals[i]!))],
  );
  const inputs = [...jb.consts, ...primals.map((t) => t.node), ...live.map((i) => tangents[i]!.node)];
  return { outs, touts: makeCall("checkpoint", { body: jb.body }, inputs).map(T) };
};

/** Transpose of a checkpoint: one checkpoint of the body's transpose, for the cotangents of every output. */
const checkpointT: CallTransposeRule<"checkpoint"> = (cts, node, lin) => {
  const g = node.params.body.graph;
  const ins = node.inputs;
  const nonlin = ins.filter((_, i) => !lin[i]);
  const linIns = ins.filter((_, i) => lin[i]);
  const liveCts = cts.flatMap((c, i) => (c ? [i] : []));
  const { body, consts } = closedCall(
    (a) => {
      const nl = a.slice(0, nonlin.length);
      const cs = a.slice(nonlin.length);
      const phs = linIns.map((n) => inputNode(n.shape, n.dtype));
      let p = 0;
      let q = 0;
      const args = ins.map((_, i) => (lin[i] ? T(phs[p++]!) : nl[q++]!));
      const outs = applyGraph(g, args);
      const outCts = outs.map((_, i) => (liveCts.includes(i) ? cs[liveCts.indexOf(i)]! : null));
      return transform("transposeLinear")(outs, outCts, phs).map((t, i) => t ?? zeroOf(phs[i]!));
    },
    [...nonlin.map(aval), ...liveCts.map((i) => aval(cts[i]!))],
  );
  const outs = makeCall("checkpoint", { body }, [...consts, ...nonlin, ...liveCts.map((i) => cts[i]!.node)]).map(T);
  let k = 0;
  return ins.map((_, i) => (lin[i] ? outs[k++]! : null));
};

/** JVP rules of the call primitives. */
export const callJvpRules = {
  scan: scanJvp,
  customVjp: customVjpRule,
  customVjpLinear: customVjpLinearJvp,
  customJvp: customJvpRule,
  checkpoint: checkpointJvp,
};

/** Transpose rules of the call primitives. */
export const callTransposeRules = {
  scan: scanTranspose,
  customVjpLinear: customVjpLinearT,
  customJvp: customJvpTranspose,
  checkpoint: checkpointT,
};
