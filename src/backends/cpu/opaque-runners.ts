/**
 * CPU runners of the opaque kernels (scan, whileLoop, cond, a conv kept whole for the Winograd
 * kernel, argmax, gather and max pooling, and primitives evaluated by the reference interpreter). Split from program.ts, which passes its `compileGraph` in. A call
 * kernel (one per call node) writes each output into the slot of its `proj` node (`k.outputs`).
 */
import type { TypedArray } from "../../core/dtype.js";
import { allocArray } from "../../core/dtype.js";
import { Graph } from "../../core/graph.js";
import { inputNode } from "../../core/node.js";
import { Tensor } from "../../core/tensor.js";
import { convDecomposed } from "../../ops/conv-general.js";
import type { Node } from "../../core/node.js";
import type { Params, Primitive } from "../../core/primitives.js";
import { sizeOf } from "../../core/shape.js";
import { branchIndex } from "../../core/semantics-eval.js";
import type { OpaqueKernel, Program } from "../../scheduler/ir.js";
import { EVAL } from "../reference/interpret.js";
import type { Runner } from "./matmul-runners.js";
import { winogradConv } from "./winograd.js";
import { argmaxRunner, gatherRunner } from "./index-runners.js";
import { poolRunner } from "./pool-runners.js";

/** A compiled program: maps input arrays to output arrays. */
export interface Executable {
  readonly program: Program;
  /**
   * Computes the outputs. `reuse[i]`: input i's array may hold an output of its size (a donated
   * input no one else sees); the program writes one there only where that is safe (see program.ts).
   */
  run(inputs: readonly TypedArray[], reuse?: readonly boolean[]): TypedArray[];
  /**
   * Drops the references kept to the last call's input arrays (kept so that a call with the same
   * arrays skips copying them into wasm memory again), so they can be collected with their tensors.
   */
  forget?(): void;
}

type Compile = (g: Graph) => Executable;

type EvalFn = (n: Node, ins: readonly TypedArray[]) => TypedArray;

function scanRunner(k: OpaqueKernel, n: Node<"scan">, compile: Compile): Runner {
  const p: Params<"scan"> = n.params;
  let body: Executable | undefined;
  const xNodes = n.inputs.slice(p.numConsts + p.numCarry);
  const yNodes = p.body.graph.outputs.slice(p.numCarry);
  return (bufs) => {
    body ??= compile(p.body.graph);
    const ins = k.inputs.map((s, i) => bufs[s]!.subarray(0, sizeOf(n.inputs[i]!.shape)) as TypedArray);
    const consts = ins.slice(0, p.numConsts);
    let carry = ins.slice(p.numConsts, p.numConsts + p.numCarry);
    const xs = ins.slice(p.numConsts + p.numCarry);
    const ys = yNodes.map((y, j) => {
      const s = k.outputs?.[p.numCarry + j];
      return s !== undefined ? bufs[s]! : allocArray(y.dtype, p.length * sizeOf(y.shape));
    });
    const xPer = xNodes.map((x) => sizeOf(x.shape.slice(1)));
    const yPer = yNodes.map((y) => sizeOf(y.shape));
    for (let s = 0; s < p.length; s++) {
      const t = p.reverse ? p.length - 1 - s : s;
      const xt = xs.map((x, j) => x.subarray(t * xPer[j]!, (t + 1) * xPer[j]!) as TypedArray);
      const outs = body.run([...consts, ...carry, ...xt]);
      carry = outs.slice(0, p.numCarry);
      for (let j = 0; j < ys.length; j++) ys[j]!.set(outs[p.numCarry + j]!, t * yPer[j]!);
    }
    carry.forEach((c, j) => {
      const s = k.outputs?.[j];
      if (s !== undefined) bufs[s]!.set(c);
    });
  };
}

/** Writes a multi-output call's results into its output slots. */
function writeOuts(k: OpaqueKernel, bufs: TypedArray[], outs: readonly TypedArray[]): void {
  outs.forEach((o, j) => {
    const s = k.outputs?.[j];
    if (s !== undefined) bufs[s]!.set(o);
  });
}

/** whileLoop: runs the compiled cond program, reads its scalar, runs the compiled body program. */
function whileRunner(k: OpaqueKernel, n: Node<"whileLoop">, compile: Compile): Runner {
  const p: Params<"whileLoop"> = n.params;
  let cond: Executable | undefined;
  let body: Executable | undefined;
  return (bufs) => {
    cond ??= compile(p.cond.graph);
    body ??= compile(p.body.graph);
    const ins = k.inputs.map((s, i) => bufs[s]!.subarray(0, sizeOf(n.inputs[i]!.shape)) as TypedArray);
    const consts = ins.slice(0, p.numConsts);
    let carry = ins.slice(p.numConsts);
    while (cond.run([...consts, ...carry])[0]![0]) carry = body.run([...consts, ...carry]);
    writeOuts(k, bufs, carry);
  };
}

/** cond: reads the index and runs only the selected branch's compiled program. */
function condRunner(k: OpaqueKernel, n: Node<"cond">, compile: Compile): Runner {
  const p: Params<"cond"> = n.params;
  const exes: (Executable | undefined)[] = p.branches.map(() => undefined);
  return (bufs) => {
    const ins = k.inputs.map((s, i) => bufs[s]!.subarray(0, sizeOf(n.inputs[i]!.shape)) as TypedArray);
    const b = branchIndex(ins[0]![0]!, p.branches.length);
    const exe = (exes[b] ??= compile(p.branches[b]!.graph));
    writeOuts(k, bufs, exe.run(ins.slice(1)));
  };
}

/**
 * A conv the planner kept whole for this backend (see cpuNative): the Winograd kernel, or, when
 * it reads an infinity or a NaN, the direct form (the conv's lowering, compiled on first use).
 */
function convRunner(k: OpaqueKernel, n: Node<"conv">, compile: Compile): Runner {
  const [xs, ws] = [n.inputs[0]!.shape, n.inputs[1]!.shape];
  let direct: Executable | undefined;
  return (bufs) => {
    const x = bufs[k.inputs[0]!]!.subarray(0, sizeOf(xs)) as Float32Array;
    const w = bufs[k.inputs[1]!]!.subarray(0, sizeOf(ws)) as Float32Array;
    const out = bufs[k.output] as Float32Array;
    if (winogradConv(n.params, xs, ws, x, w, out)) return;
    if (!direct) {
      const [xi, wi] = [inputNode(xs, "float32"), inputNode(ws, "float32")];
      direct = compile(new Graph([xi, wi], [convDecomposed(new Tensor(xi), new Tensor(wi), n.params).node]));
    }
    out.set(direct.run([x, w])[0]!);
  };
}

/**
 * The runner of an opaque kernel: scan, whileLoop and cond run their compiled bodies (compiled on
 * first use by `compile`, i.e. `compileGraph`, passed in to keep this module below program.ts); a
 * kept conv runs the Winograd kernel, argmax and gather typed loops (index-runners.ts), max pooling
 * those of pool-runners.ts (float32); any other
 * opaque primitive runs the reference interpreter's rule.
 */
export function opaqueRunner(k: OpaqueKernel, compile: Compile): Runner {
  if (k.node.prim === "scan") return scanRunner(k, k.node, compile);
  if (k.node.prim === "whileLoop") return whileRunner(k, k.node, compile);
  if (k.node.prim === "cond") return condRunner(k, k.node, compile);
  if (k.node.prim === "conv") return convRunner(k, k.node as Node<"conv">, compile);
  if (k.node.prim === "argmax") return argmaxRunner(k, k.node as Node<"argmax">);
  if (k.node.prim === "gather") return gatherRunner(k, k.node as Node<"gather">);
  const pooled = poolRunner(k, k.node);
  if (pooled) return pooled;
  const rule = EVAL[k.prim as Primitive] as EvalFn;
  const sizes = k.node.inputs.map((i) => sizeOf(i.shape));
  return (bufs) => {
    const ins = k.inputs.map((s, i) => bufs[s]!.subarray(0, sizes[i]) as TypedArray);
    bufs[k.output]!.set(rule(k.node, ins));
  };
}
