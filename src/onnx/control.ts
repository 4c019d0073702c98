/**
 * ONNX export of the data-dependent control-flow primitives: `whileLoop` becomes a `Loop` with no
 * trip count (M empty) whose condition is the cond graph (evaluated once before the loop, then at
 * the end of each body), `cond` an `If` on `index <= 0` with more branches nested in the else
 * branch (lax.switch's clamping: index <= 0 picks branch 0, anything past the last picks the last).
 * Bodies and branches read the loop's consts and the cond's operands from the outer scope.
 */
import type { DType } from "../core/dtype.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import type { AttrValue, GraphMsg, NodeMsg, OnnxDType, ValueInfoMsg } from "./proto.js";
import { ONNX_DTYPE } from "./proto.js";

/** What these emitters need of export.ts's Emitter. */
export interface Scope {
  readonly nodes: NodeMsg[];
  fresh(base: string): string;
  lookup(n: Node): string | undefined;
  op(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, outputs?: number): string[];
  op1(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>): string;
  scalar(value: number, d: DType): string;
  inline(g: Graph, args: readonly string[]): string[];
  dtypeOf(d: DType, where: string): OnnxDType;
  child(): Scope;
}

interface Call {
  readonly id: number;
  readonly graph: Graph;
}

/** whileLoop: an ONNX Loop with no trip count whose condition is the cond graph; its outputs. */
export function emitWhile(e: Scope, n: Node<"whileLoop">): string[] {
  const p = n.params;
  const ins = n.inputs.map((i) => e.lookup(i)!);
  const nK = p.numConsts;
  // the first test, in a scope of its own (the cond graph is emitted again inside the body)
  const pre = e.child();
  const [first] = pre.inline(p.cond.graph, ins);
  e.nodes.push(...pre.nodes);
  const body = e.child();
  const bodyInputs: ValueInfoMsg[] = [
    { name: body.fresh("iter"), dtype: ONNX_DTYPE.int64, dims: [] },
    { name: body.fresh("cond_in"), dtype: ONNX_DTYPE.bool, dims: [] },
  ];
  const carryIn = p.body.graph.inputs.slice(nK).map((ph) => {
    const name = body.fresh("carry_in");
    bodyInputs.push({ name, dtype: e.dtypeOf(ph.dtype, "whileLoop carry"), dims: ph.shape });
    return name;
  });
  const next = body.inline(p.body.graph, [...ins.slice(0, nK), ...carryIn]);
  const [again] = body.inline(p.cond.graph, [...ins.slice(0, nK), ...next]);
  const bodyOutputs: ValueInfoMsg[] = [{ name: body.op1("Identity", [again!]), dtype: ONNX_DTYPE.bool, dims: [] }];
  p.body.graph.outputs.forEach((o, i) =>
    bodyOutputs.push({ name: body.op1("Identity", [next[i]!]), dtype: e.dtypeOf(o.dtype, "whileLoop carry"), dims: o.shape }),
  );
  const bodyGraph: GraphMsg = { name: e.fresh("while_body"), nodes: body.nodes, initializers: [], inputs: bodyInputs, outputs: bodyOutputs };
  return e.op("Loop", ["", first!, ...ins.slice(nK)], { body: { kind: "graph", v: bodyGraph } }, p.body.graph.outputs.length);
}

/** cond: nested ONNX If nodes (one for two branches); its outputs. */
export function emitCond(e: Scope, n: Node<"cond">): string[] {
  const p = n.params;
  const ins = n.inputs.map((i) => e.lookup(i)!);
  return p.branches.length === 1 ? e.inline(p.branches[0]!.graph, ins.slice(1)) : ifChain(e, p.branches, ins[0]!, ins.slice(1), 0);
}

/** If(index <= k) branch k else (branch k+1, or the chain from k+1). */
function ifChain(e: Scope, branches: readonly Call[], index: string, args: readonly string[], k: number): string[] {
  const outsOf = branches[k]!.graph.outputs;
  const sub = (fill: (s: Scope) => string[]): GraphMsg => {
    const s = e.child();
    const res = fill(s);
    const outputs = outsOf.map((o, i) => ({ name: s.op1("Identity", [res[i]!]), dtype: e.dtypeOf(o.dtype, "cond output"), dims: o.shape }));
    return { name: e.fresh("branch"), nodes: s.nodes, initializers: [], inputs: [], outputs };
  };
  const thenG = sub((s) => s.inline(branches[k]!.graph, args));
  const elseG = sub((s) => (k + 2 === branches.length ? s.inline(branches[k + 1]!.graph, args) : ifChain(s, branches, index, args, k + 1)));
  const pred = e.op1("LessOrEqual", [index, e.scalar(k, "int32")]);
  return e.op("If", [pred], { then_branch: { kind: "graph", v: thenG }, else_branch: { kind: "graph", v: elseG } }, outsOf.length);
}
