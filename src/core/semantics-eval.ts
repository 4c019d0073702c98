/**
 * The reference evaluation of every primitive (the reference interpreter): evaluates a graph node
 * by node over typed arrays, with loops that are slow but obviously correct (float sums accumulate
 * in float64); elementwise primitives go through the scalar definitions of core/semantics.ts. It
 * is the test oracle for every backend and scheduler pass, the reference backend's engine, and
 * the evaluator of constant folding (which therefore imports no backend).
 */
import type { TypedArray } from "./dtype.js";
import { allocArray } from "./dtype.js";
import type { Node } from "./node.js";
import { isTuple, topoSort } from "./node.js";
import type { CallPrim, Primitive } from "./primitives.js";
import { sizeOf, stridesOf } from "./shape.js";
import type { Shape } from "./shape.js";
import { ConcretizationError } from "./tensor.js";
import type { ElementwisePrim } from "./primitives.js";
import { scalarFn } from "./semantics.js";
import { convEval } from "./conv-general.js";
import { maxPoolEval, maxPoolGatherEval, maxPoolScatterEval } from "./pool.js";

type Env = Map<number, TypedArray>;
/** The evaluation rule of a single-output primitive. */
export type EvalRule<P extends Primitive> = (n: Node<P>, ins: readonly TypedArray[]) => TypedArray;
/** The evaluation rule of a call (multi-output) primitive: every output at once. */
export type CallEvalRule<P extends CallPrim> = (n: Node<P>, ins: readonly TypedArray[]) => TypedArray[];
/** The evaluation of `proj`: output `index` of the evaluated call. */
export type ProjEvalRule = (n: Node<"proj">, tuple: readonly TypedArray[]) => TypedArray;
/** The EVAL table's entry for primitive P. */
export type EvalEntry<P extends Primitive> = P extends CallPrim ? CallEvalRule<P> : P extends "proj" ? ProjEvalRule : EvalRule<P>;

/** Elementwise primitives evaluate through the one scalar definition (core/semantics.ts). */
function elementwise<P extends ElementwisePrim>(): EvalRule<P> {
  return (n, ins) => {
    const first = n.prim === "where" ? n.inputs[1]! : n.inputs[0]!;
    const f = scalarFn(n.prim, first.dtype, n.dtype, n.params);
    const len = ins[0]!.length;
    const [a, b, c, d] = [ins[0]!, ins[1] ?? ins[0]!, ins[2] ?? ins[0]!, ins[3] ?? ins[0]!];
    const out = allocArray(n.dtype, len);
    for (let i = 0; i < len; i++) out[i] = f(a[i]!, b[i]!, c[i]!, d[i]!);
    return out;
  };
}

/** Maps each flat index of `shape` to the flat index with `axes` removed (reduction target). */
function reduceIndex(shape: Shape, axes: readonly number[]): Int32Array {
  const n = sizeOf(shape);
  const keep = shape.map((_, i) => !axes.includes(i));
  const outShape = shape.filter((_, i) => keep[i]);
  const outStrides = stridesOf(outShape);
  const map = new Int32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let o = 0;
    let k = 0;
    for (let d = 0; d < shape.length; d++) if (keep[d]) o += idx[d]! * outStrides[k++]!;
    map[i] = o;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return map;
}

function reducer(init: number, f: (acc: number, x: number) => number, intF?: (a: number, b: number) => number): EvalRule<"sum" | "rmax" | "rmin" | "prod"> {
  return (n, [x]) => {
    const src = n.inputs[0]!;
    const acc = new Float64Array(sizeOf(n.shape)).fill(init);
    const map = reduceIndex(src.shape, n.params.axes);
    const g = src.dtype === "int32" && intF ? intF : f;
    for (let i = 0; i < x!.length; i++) acc[map[i]!] = g(acc[map[i]!]!, x![i]!);
    const out = allocArray(n.dtype, acc.length);
    for (let i = 0; i < acc.length; i++) out[i] = acc[i]!;
    return out;
  };
}

/** Calls `visit(outFlat, inMulti)` for every element of `shape` in row-major order. */
function forEachIndex(shape: Shape, visit: (flat: number, idx: number[]) => void): void {
  const n = sizeOf(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    visit(i, idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

function normIndex(i: number, n: number): number {
  const j = i < 0 ? i + n : i;
  return j < 0 ? 0 : j >= n ? n - 1 : j;
}

/**
 * For gather (and its transpose scatterAdd): maps a multi-index of the gathered result
 * (`x.shape[:axis] + idx.shape[batchDims:] + x.shape[axis+1:]`) to the flat offset in `x` it reads.
 */
function gatherMap(xs: Shape, is: Shape, axis: number, b: number, ind: TypedArray): (idx: number[]) => number {
  const xStrides = stridesOf(xs);
  const iStrides = stridesOf(is);
  const ni = is.length - b;
  return (idx) => {
    let ii = 0;
    for (let d = 0; d < b; d++) ii += idx[d]! * iStrides[d]!;
    for (let d = 0; d < ni; d++) ii += idx[axis + d]! * iStrides[b + d]!;
    const k = normIndex(ind[ii]!, xs[axis]!);
    let j = 0;
    for (let d = 0; d < axis; d++) j += idx[d]! * xStrides[d]!;
    j += k * xStrides[axis]!;
    for (let d = axis + 1; d < xs.length; d++) j += idx[d - 1 + ni]! * xStrides[d]!;
    return j;
  };
}

/** Evaluates a sub-graph (scan bodies, calls) with its inputs bound to arrays. */
export function evalGraph(inputs: readonly Node[], outputs: readonly Node[], args: readonly TypedArray[]): TypedArray[] {
  const env: Env = new Map();
  inputs.forEach((n, i) => env.set(n.id, args[i]!));
  return interpret(outputs, env);
}

function scanResults(n: Node<"scan">, ins: readonly TypedArray[]): TypedArray[] {
  const p = n.params;
  const g = p.body.graph;
  const consts = ins.slice(0, p.numConsts);
  let carry = ins.slice(p.numConsts, p.numConsts + p.numCarry);
  const xs = ins.slice(p.numConsts + p.numCarry);
  const xNodes = n.inputs.slice(p.numConsts + p.numCarry);
  const yNodes = g.outputs.slice(p.numCarry);
  const ys = yNodes.map((y) => allocArray(y.dtype, p.length * sizeOf(y.shape)));
  for (let s = 0; s < p.length; s++) {
    const t = p.reverse ? p.length - 1 - s : s;
    const xt = xs.map((x, j) => {
      const per = sizeOf(xNodes[j]!.shape.slice(1));
      return x.slice(t * per, (t + 1) * per) as TypedArray;
    });
    const outs = evalGraph(g.inputs, g.outputs, [...consts, ...carry, ...xt]);
    carry = outs.slice(0, p.numCarry);
    outs.slice(p.numCarry).forEach((y, j) => ys[j]!.set(y, t * y.length));
  }
  return [...carry, ...ys];
}

/** The clamped branch index of a cond (lax.switch semantics). */
export function branchIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** whileLoop: runs `body` while `cond` is true (the trip count decided here, at run time). */
function whileResults(n: Node<"whileLoop">, ins: readonly TypedArray[]): TypedArray[] {
  const p = n.params;
  const consts = ins.slice(0, p.numConsts);
  let carry = ins.slice(p.numConsts);
  const c = p.cond.graph;
  const b = p.body.graph;
  while (evalGraph(c.inputs, c.outputs, [...consts, ...carry])[0]![0]) carry = evalGraph(b.inputs, b.outputs, [...consts, ...carry]);
  return carry;
}

/** cond: evaluates only the selected branch. */
function condResults(n: Node<"cond">, ins: readonly TypedArray[]): TypedArray[] {
  const p = n.params;
  const g = p.branches[branchIndex(ins[0]![0]!, p.branches.length)]!.graph;
  return evalGraph(g.inputs, g.outputs, ins.slice(1));
}

/** The evaluation rule of every primitive. */
export const EVAL: { readonly [P in Primitive]: EvalEntry<P> } = {
  const: (n) => allocArray(n.dtype, 1).fill(n.params.value),
  buffer: (n) => {
    const h = n.storage?.host;
    if (!h) throw new Error("reference backend: buffer has no host data (read it from its device first)");
    return h;
  },
  input: () => {
    throw new ConcretizationError(
      "cannot compute a traced value: the data of a tensor inside grad/jit/vmap is abstract. " +
        "Move data-dependent JS logic (if, item(), data()) out of the transformed function, or use where().",
    );
  },
  iota: (n) => {
    const out = allocArray(n.dtype, sizeOf(n.shape));
    forEachIndex(n.shape, (i, idx) => (out[i] = idx[n.params.axis]!));
    return out;
  },
  neg: elementwise(),
  exp: elementwise(),
  log: elementwise(),
  expm1: elementwise(),
  log1p: elementwise(),
  sin: elementwise(),
  cos: elementwise(),
  tanh: elementwise(),
  sqrt: elementwise(),
  floor: elementwise(),
  round: elementwise(),
  erf: elementwise(),
  add: elementwise(),
  mul: elementwise(),
  div: elementwise(),
  pow: elementwise(),
  max: elementwise(),
  min: elementwise(),
  eq: elementwise(),
  ne: elementwise(),
  lt: elementwise(),
  le: elementwise(),
  where: elementwise(),
  cast: elementwise(),
  threefry: elementwise(),
  shrl: elementwise(),
  sum: reducer(
    0,
    (a, x) => a + x,
    (a, x) => (a + x) | 0,
  ),
  rmax: reducer(-Infinity, (a, x) => (Number.isNaN(a) || Number.isNaN(x) ? NaN : Math.max(a, x))),
  rmin: reducer(Infinity, (a, x) => (Number.isNaN(a) || Number.isNaN(x) ? NaN : Math.min(a, x))),
  prod: reducer(
    1,
    (a, x) => a * x,
    (a, x) => Math.imul(a, x),
  ),
  argmax: (n, [x]) => {
    const src = n.inputs[0]!;
    const ax = n.params.axis;
    const len = src.shape[ax]!;
    const stride = stridesOf(src.shape)[ax]!;
    const out = new Int32Array(sizeOf(n.shape));
    const outer = sizeOf(src.shape.slice(0, ax));
    const inner = stride;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = -Infinity;
        let bi = 0;
        for (let k = 0; k < len; k++) {
          const v = x![o * len * inner + k * inner + i]!;
          if (Number.isNaN(v)) {
            bi = k;
            break;
          }
          if (v > best || k === 0) {
            best = v;
            bi = k;
          }
        }
        out[o * inner + i] = bi;
      }
    }
    return out;
  },
  cumsum: (n, [x]) => {
    const ax = n.params.axis;
    const len = n.shape[ax]!;
    const inner = stridesOf(n.shape)[ax]!;
    const outer = sizeOf(n.shape.slice(0, ax));
    const out = allocArray(n.dtype, x!.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = 0;
        for (let s = 0; s < len; s++) {
          const k = n.params.reverse ? len - 1 - s : s;
          const j = o * len * inner + k * inner + i;
          acc += x![j]!;
          out[j] = n.dtype === "int32" ? acc | 0 : acc;
        }
      }
    }
    return out;
  },
  reshape: (n, [x]) => x!.slice() as TypedArray,
  permute: (n, [x]) => {
    const inStrides = stridesOf(n.inputs[0]!.shape);
    const out = allocArray(n.dtype, x!.length);
    const perm = n.params.perm;
    forEachIndex(n.shape, (i, idx) => {
      let j = 0;
      for (let d = 0; d < idx.length; d++) j += idx[d]! * inStrides[perm[d]!]!;
      out[i] = x![j]!;
    });
    return out;
  },
  broadcast: (n, [x]) => {
    const src = n.inputs[0]!.shape;
    const inStrides = stridesOf(src).map((s, d) => (src[d] === 1 ? 0 : s));
    const out = allocArray(n.dtype, sizeOf(n.shape));
    forEachIndex(n.shape, (i, idx) => {
      let j = 0;
      for (let d = 0; d < idx.length; d++) j += idx[d]! * inStrides[d]!;
      out[i] = x![j]!;
    });
    return out;
  },
  pad: (n, [x]) => {
    const src = n.inputs[0]!.shape;
    const inStrides = stridesOf(src);
    const out = allocArray(n.dtype, sizeOf(n.shape)).fill(n.params.value);
    forEachIndex(src, (i, idx) => {
      let j = 0;
      const os = stridesOf(n.shape);
      for (let d = 0; d < idx.length; d++) j += (idx[d]! + n.params.widths[d]![0]) * os[d]!;
      out[j] = x![i]!;
    });
    void inStrides;
    return out;
  },
  slice: (n, [x]) => {
    const inStrides = stridesOf(n.inputs[0]!.shape);
    const { starts, steps } = n.params;
    const out = allocArray(n.dtype, sizeOf(n.shape));
    forEachIndex(n.shape, (i, idx) => {
      let j = 0;
      for (let d = 0; d < idx.length; d++) j += (starts[d]! + idx[d]! * steps[d]!) * inStrides[d]!;
      out[i] = x![j]!;
    });
    return out;
  },
  flip: (n, [x]) => {
    const inStrides = stridesOf(n.shape);
    const out = allocArray(n.dtype, x!.length);
    forEachIndex(n.shape, (i, idx) => {
      let j = 0;
      for (let d = 0; d < idx.length; d++) {
        const k = n.params.axes.includes(d) ? n.shape[d]! - 1 - idx[d]! : idx[d]!;
        j += k * inStrides[d]!;
      }
      out[i] = x![j]!;
    });
    return out;
  },
  gather: (n, [x, ind]) => {
    const out = allocArray(n.dtype, sizeOf(n.shape));
    const source = gatherMap(n.inputs[0]!.shape, n.inputs[1]!.shape, n.params.axis, n.params.batchDims, ind!);
    forEachIndex(n.shape, (i, idx) => (out[i] = x![source(idx)]!));
    return out;
  },
  scatterAdd: (n, [upd, ind]) => {
    const acc = new Float64Array(sizeOf(n.params.shape));
    const target = gatherMap(n.params.shape, n.inputs[1]!.shape, n.params.axis, n.params.batchDims, ind!);
    forEachIndex(n.inputs[0]!.shape, (i, idx) => {
      const j = target(idx);
      acc[j] = acc[j]! + upd![i]!;
    });
    const out = allocArray(n.dtype, acc.length);
    for (let i = 0; i < acc.length; i++) out[i] = n.dtype === "int32" ? acc[i]! | 0 : acc[i]!;
    return out;
  },
  matmul: (n, [a, b]) => {
    const as = n.inputs[0]!.shape;
    const m = as[as.length - 2]!;
    const k = as[as.length - 1]!;
    const nn = n.shape[n.shape.length - 1]!;
    const batch = sizeOf(as.slice(0, -2));
    const out = allocArray(n.dtype, batch * m * nn);
    const isInt = n.dtype === "int32";
    for (let bi = 0; bi < batch; bi++) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < nn; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) {
            const x = a![bi * m * k + i * k + p]!;
            const y = b![bi * k * nn + p * nn + j]!;
            acc = isInt ? (acc + Math.imul(x, y)) | 0 : acc + x * y;
          }
          out[bi * m * nn + i * nn + j] = acc;
        }
      }
    }
    return out;
  },
  maxPool: (n, [x]) => maxPoolEval(n.params, n.inputs[0]!.shape, x!, n.dtype),
  maxPoolGather: (n, [t, x]) => maxPoolGatherEval(n.params, n.inputs[1]!.shape, t!, x!, n.inputs[1]!.dtype, n.dtype),
  maxPoolScatter: (n, [g, x]) => maxPoolScatterEval(n.params, n.inputs[1]!.shape, g!, x!, n.inputs[1]!.dtype, n.dtype),
  conv: (n, [x, w]) => convEval(n.params, n.inputs[0]!.shape, n.inputs[1]!.shape, x!, w!, n.dtype),
  scan: scanResults,
  whileLoop: whileResults,
  cond: condResults,
  customVjp: (n, ins) => evalGraph(n.params.info.graph.inputs, n.params.info.graph.outputs, ins),
  customVjpLinear: (n) => {
    throw new Error(
      `forward-mode differentiation (jvp/jacfwd) of customVjp function "${n.params.info.name}" is not supported: ` +
        "a custom VJP defines only the reverse mode. Use grad/vjp/jacrev.",
    );
  },
  customJvp: (n, ins) => evalGraph(n.params.info.graph.inputs, n.params.info.graph.outputs, ins),
  checkpoint: (n, ins) => evalGraph(n.params.body.graph.inputs, n.params.body.graph.outputs, ins),
  proj: (n, tuple) => tuple[n.params.index]!,
  stopGradient: (_n, [x]) => x!,
  barrier: (_n, [x]) => x!,
};

/**
 * Evaluates `outputs`, with `env` holding already-known values (by node id). Intermediates are
 * dropped after their last use.
 */
export function interpret(outputs: readonly Node[], env: Env = new Map()): TypedArray[] {
  const order = topoSort(outputs, (n) => env.has(n.id));
  const uses = new Map<number, number>();
  for (const n of order) for (const i of n.inputs) uses.set(i.id, (uses.get(i.id) ?? 0) + 1);
  const keep = new Set(outputs.map((o) => o.id));
  // The values of call (multi-output) nodes: each call runs once, its proj nodes read from here.
  const tuples = new Map<number, TypedArray[]>();
  for (const n of order) {
    if (env.has(n.id)) continue;
    if (n.prim === "proj") env.set(n.id, EVAL.proj(n, tuples.get(n.inputs[0]!.id)!));
    else {
      const ins = n.inputs.map((i) => env.get(i.id)!);
      if (isTuple(n)) tuples.set(n.id, (EVAL[n.prim] as CallEvalRule<CallPrim>)(n, ins));
      else env.set(n.id, (EVAL[n.prim] as EvalRule<Primitive>)(n, ins));
    }
    for (const i of n.inputs) {
      const left = (uses.get(i.id) ?? 1) - 1;
      uses.set(i.id, left);
      if (left === 0 && !keep.has(i.id) && i.prim !== "buffer") {
        env.delete(i.id);
        tuples.delete(i.id);
      }
    }
  }
  return outputs.map((o) => env.get(o.id)!);
}
