/**
 * JVP and transpose rules of the higher-order primitives (scan, customVjp, checkpoint). Each works
 * on the body graph with the same machinery used for whole programs.
 */
import { isFloat } from "../core/dtype.js";
import { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { inputNode, makeNode } from "../core/node.js";
import type { CallInfo } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import { zerosLike } from "../ops/creation.js";
import { add } from "../ops/elementwise.js";
import { callInfo, closeOver } from "./closure.js";
import type { JvpRule } from "./jvp-rules.js";
import type { TransposeRule } from "./transpose-rules.js";
import { applyGraph, traceFlat } from "./trace.js";
import { transform } from "./recurse.js";
import { customJvpRule, customJvpTranspose } from "./custom-jvp-rules.js";

const T = (n: Node): Tensor => new Tensor(n);
const zeroOf = (n: Node | Tensor): Tensor => zerosLike(n instanceof Tensor ? n : T(n), { dtype: isFloat(n.dtype) ? n.dtype : "float32" });

function scanNodes(body: CallInfo, numConsts: number, numCarry: number, length: number, reverse: boolean, inputs: readonly Node[]): Tensor[] {
  return body.graph.outputs.map((_, i) => T(makeNode("scan", { body, numConsts, numCarry, length, reverse, index: i }, inputs)));
}

/** Traces a flat function into a closed call (captured values become leading operands). */
function closedCall(f: (xs: Tensor[]) => Tensor[], avals: readonly { shape: readonly number[]; dtype: Node["dtype"] }[]): { body: CallInfo; consts: Node[] } {
  const tr = traceFlat(f, avals, "transform");
  const { graph, consts } = closeOver(tr.graph);
  return { body: callInfo(graph), consts };
}

const aval = (n: Node | Tensor): { shape: readonly number[]; dtype: Node["dtype"] } => ({ shape: n.shape, dtype: n.dtype });

// ---- scan --------------------------------------------------------------------------------------

/** One JVP per scan (all its output nodes share it): keyed by body, operands and tangent mask. */
const scanJvpMemo = new WeakMap<CallInfo, Map<string, { outs: Tensor[]; touts: Tensor[] }>>();

function scanJvp(primals: readonly Tensor[], tangents: readonly (Tensor | null)[], node: Node<"scan">): { outs: Tensor[]; touts: Tensor[] } {
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
}

const scanJvpRule: JvpRule<"scan"> = (primals, tangents, node) => {
  let m = scanJvpMemo.get(node.params.body);
  if (!m) scanJvpMemo.set(node.params.body, (m = new Map()));
  const key = `${node.params.reverse}|${node.inputs.map((i) => i.id).join(",")}|${tangents.map((t) => t?.node.id ?? "-").join(",")}`;
  let r = m.get(key);
  if (!r) {
    r = scanJvp(primals, tangents, node);
    m.set(key, r);
  }
  return r.touts[node.params.index]!;
};

/**
 * Transpose of a linear scan given the cotangents of any of its outputs (one entry per output,
 * null = zero): one scan running the other way computes them all.
 */
export function scanTransposeGroup(node: Node<"scan">, outCts: readonly (Tensor | null)[], lin: readonly boolean[]): (Tensor | null)[] {
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
}

/** Transpose of a linear scan for the cotangent of one output. */
const scanTranspose: TransposeRule<"scan"> = (ct, node, lin) =>
  scanTransposeGroup(
    node,
    node.params.body.graph.outputs.map((_, i) => (i === node.params.index ? ct : null)),
    lin,
  );

// ---- customVjp ---------------------------------------------------------------------------------

const customVjpRule: JvpRule<"customVjp"> = (primals, tangents, node) => {
  const info = node.params.info;
  const { res } = info.fwd(primals);
  if (tangents.every((t) => t === null)) return null;
  const argT = primals.map((x, i) => (tangents[i] ?? zeroOf(x)).node);
  return T(
    makeNode("customVjpLinear", { info, index: node.params.index, numRes: res.length, argShapes: primals.map((x) => ({ shape: x.shape, dtype: x.dtype })) }, [
      ...res.map((r) => r.node),
      ...argT,
    ]),
  );
};

const customVjpLinearJvp: JvpRule<"customVjpLinear"> = (primals, tangents, node) => {
  const nR = node.params.numRes;
  if (tangents.slice(0, nR).some((t) => t !== null)) {
    throw new Error(
      `forward-mode differentiation through the customVjp function "${node.params.info.name}" is not supported (its VJP is hand-written); use reverse mode`,
    );
  }
  const argT = tangents.slice(nR);
  if (argT.every((t) => t === null)) return null;
  return T(makeNode("customVjpLinear", node.params, [...primals.slice(0, nR).map((t) => t.node), ...argT.map((t, i) => (t ?? zeroOf(primals[nR + i]!)).node)]));
};

const customVjpLinearT: TransposeRule<"customVjpLinear"> = (ct, node) => {
  const { info, index, numRes } = node.params;
  const res = node.inputs.slice(0, numRes).map(T);
  const cts = info.graph.outputs.map((o, i) => (i === index ? ct : zeroOf(o)));
  const g = info.bwd(res, cts);
  return [...res.map(() => null), ...g];
};

// ---- checkpoint --------------------------------------------------------------------------------

const ckptJvpMemo = new WeakMap<CallInfo, Map<string, { body: CallInfo; consts: Node[] }>>();

const checkpointJvp: JvpRule<"checkpoint"> = (primals, tangents, node) => {
  if (tangents.every((t) => t === null)) return null;
  const body = node.params.body;
  const mask = tangents.map((t) => (t ? "1" : "0")).join("");
  let m = ckptJvpMemo.get(body);
  if (!m) ckptJvpMemo.set(body, (m = new Map()));
  let jb = m.get(mask);
  const live = tangents.map((t, i) => (t ? i : -1)).filter((i) => i >= 0);
  if (!jb) {
    const n = primals.length;
    jb = closedCall(
      (a) => {
        const tan = primals.map((_, i) => (live.includes(i) ? a[n + live.indexOf(i)]! : null));
        const r = transform("jvpGraph")(body.graph, a.slice(0, n), tan);
        return r.touts.map((t, i) => t ?? zeroOf(r.outs[i]!));
      },
      [...primals.map(aval), ...live.map((i) => aval(primals[i]!))],
    );
    m.set(mask, jb);
  }
  const inputs = [...jb.consts, ...primals.map((t) => t.node), ...live.map((i) => tangents[i]!.node)];
  return T(makeNode("checkpoint", { body: jb.body, index: node.params.index }, inputs));
};

const checkpointT: TransposeRule<"checkpoint"> = (ct, node, lin) => {
  const g = node.params.body.graph;
  const ins = node.inputs;
  const nonlin = ins.filter((_, i) => !lin[i]);
  const linIns = ins.filter((_, i) => lin[i]);
  const { body, consts } = closedCall(
    (a) => {
      const nl = a.slice(0, nonlin.length);
      const c = a[nonlin.length]!;
      const phs = linIns.map((n) => inputNode(n.shape, n.dtype));
      let p = 0;
      let q = 0;
      const args = ins.map((_, i) => (lin[i] ? T(phs[p++]!) : nl[q++]!));
      const outs = applyGraph(g, args);
      const cts = outs.map((_, i) => (i === node.params.index ? c : null));
      return transform("transposeLinear")(outs, cts, phs).map((t, i) => t ?? zeroOf(phs[i]!));
    },
    [...nonlin.map(aval), aval(ct)],
  );
  const outs = body.graph.outputs.map((_, i) => T(makeNode("checkpoint", { body, index: i }, [...consts, ...nonlin, ct.node])));
  let k = 0;
  return ins.map((_, i) => (lin[i] ? outs[k++]! : null));
};

/** JVP rules of the call primitives. */
export const callJvpRules = {
  scan: scanJvpRule,
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
