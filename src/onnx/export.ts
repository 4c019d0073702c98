/**
 * ONNX export: a traced tenfold graph (from `jit(f)` or a plain function) becomes an ONNX model
 * (opset 17 or later) that onnxruntime and other ONNX engines run. Each primitive maps to one or a
 * few ONNX operators; `scan` becomes a `Loop` whose body is the scan body, `customVjp` and
 * `checkpoint` calls are inlined (their forward graphs), captured tensors become initializers.
 * `max(x, 0)` is kept as `Relu`. Primitives with no inference meaning in ONNX (the random bit
 * generator, the linear maps only gradients build) throw an `OnnxExportError` naming them.
 */
import { Graph } from "../core/graph.js";
import type { DType, TypedArray } from "../core/dtype.js";
import type { Node } from "../core/node.js";
import { isPrimIn, isTuple, topoSort } from "../core/node.js";
import type { CallPrim } from "../core/primitives.js";
import { REDUCTION_PRIMS } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import { makeGraph } from "../transforms/jit.js";
import { flattenArgs } from "../transforms/trace.js";
import type { AttrValue, GraphMsg, NodeMsg, OnnxDType, TensorMsg, ValueInfoMsg } from "./proto.js";
import { ONNX_DTYPE, encodeModel } from "./proto.js";
import { emitCond, emitWhile } from "./control.js";
import { emitGather } from "./gather.js";

/** Thrown when a function cannot be expressed as an ONNX model (names the primitive at fault). */
export class OnnxExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OnnxExportError";
  }
}

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** Default-domain opset version, 17 (the default) or later. */
  readonly opset?: number;
  /** Names of the graph inputs, one per tensor leaf of the arguments (default `input_0`, ...). */
  readonly inputNames?: readonly string[];
  /** Names of the graph outputs, one per tensor leaf of the result (default `output_0`, ...). */
  readonly outputNames?: readonly string[];
  /** The graph's name (default `"tenfold"`). */
  readonly graphName?: string;
}

const UNARY: Partial<Record<string, string>> = {
  neg: "Neg",
  exp: "Exp",
  log: "Log",
  sin: "Sin",
  cos: "Cos",
  tanh: "Tanh",
  sqrt: "Sqrt",
  floor: "Floor",
  round: "Round",
  erf: "Erf",
  stopGradient: "Identity",
  barrier: "Identity",
};
const BINARY: Partial<Record<string, string>> = {
  add: "Add",
  mul: "Mul",
  div: "Div",
  pow: "Pow",
  max: "Max",
  min: "Min",
  eq: "Equal",
  lt: "Less",
  le: "LessOrEqual",
};
const REDUCE: Partial<Record<string, string>> = { sum: "ReduceSum", rmax: "ReduceMax", rmin: "ReduceMin", prod: "ReduceProd" };

function onnxDType(d: DType, where: string): OnnxDType {
  if (d === "float16") throw new OnnxExportError(`exportOnnx: float16 tensors are not supported yet (${where}); cast to float32 first`);
  return ONNX_DTYPE[d];
}

function rawOf(d: DType, data: ArrayLike<number>): Uint8Array {
  if (d === "float32") return new Uint8Array(Float32Array.from(data).buffer);
  if (d === "int32") return new Uint8Array(Int32Array.from(data).buffer);
  return Uint8Array.from(data, (v) => (v ? 1 : 0));
}

function int64Raw(vs: readonly number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(vs.map((v) => BigInt(v))).buffer);
}

function iotaData(shape: readonly number[], axis: number): number[] {
  const size = shape.reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Array<number>(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(i / inner) % shape[axis]!;
  return out;
}

/** A literal 0, possibly broadcast. */
function isZero(n: Node): boolean {
  if (n.prim === "broadcast" || n.prim === "reshape") return isZero(n.inputs[0]!);
  return n.prim === "const" && n.params.value === 0;
}

/** Shared state of one export: unique names and the data of captured buffers. */
interface Session {
  count: number;
  readonly buffers: ReadonlyMap<number, TypedArray>;
  readonly opset: number;
}

/** Emits the nodes of one ONNX graph (the main graph or a Loop body). */
class Emitter {
  readonly nodes: NodeMsg[] = [];
  readonly inits: TensorMsg[] = [];
  readonly #names = new Map<number, string>();
  /** The output names of each call node emitted in this scope (its proj nodes read them). */
  readonly #tuples = new Map<number, string[]>();

  constructor(
    readonly session: Session,
    readonly parent?: Emitter,
  ) {}

  fresh(base: string): string {
    return `${base}_${this.session.count++}`;
  }

  bind(n: Node, name: string): void {
    this.#names.set(n.id, name);
  }

  lookup(n: Node): string | undefined {
    return this.#names.get(n.id) ?? this.parent?.lookup(n);
  }

  /** The output names of an emitted call node (in this scope or an enclosing one). */
  lookupTuple(n: Node): string[] | undefined {
    return this.#tuples.get(n.id) ?? this.parent?.lookupTuple(n);
  }

  op(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs, outputs: outs, name: this.fresh(`n_${op}`), attrs });
    return outs;
  }

  op1(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>): string {
    return this.op(op, inputs, attrs)[0]!;
  }

  /** A constant: an initializer in the main graph, a Constant node inside a Loop body. */
  constant(dtype: OnnxDType, dims: readonly number[], raw: Uint8Array, base = "c"): string {
    const name = this.fresh(base);
    const t: TensorMsg = { name, dtype, dims, raw };
    if (this.parent)
      this.nodes.push({ op: "Constant", inputs: [], outputs: [name], name: this.fresh("n_Constant"), attrs: { value: { kind: "tensor", v: t } } });
    else this.inits.push(t);
    return name;
  }

  ints(vs: readonly number[], scalar = false): string {
    return this.constant(ONNX_DTYPE.int64, scalar ? [] : [vs.length], int64Raw(vs), "i64");
  }

  scalar(value: number, d: DType): string {
    return this.constant(onnxDType(d, "a literal"), [], rawOf(d, [value]));
  }

  /** Emits every node `outputs` need; returns their names. */
  emitAll(outputs: readonly Node[]): string[] {
    const known = (m: Node): boolean => this.lookup(m) !== undefined || this.lookupTuple(m) !== undefined;
    for (const n of topoSort([...outputs], (m) => known(m) || this.session.buffers.has(m.id))) {
      if (known(n)) continue;
      if (isTuple(n)) this.#tuples.set(n.id, this.emitCall(n));
      else this.bind(n, this.emit(n));
    }
    return outputs.map((o) => this.lookup(o)!);
  }

  /** Emits a traced graph inline with its inputs bound to `args`. */
  inline(g: Graph, args: readonly string[]): string[] {
    // The graph's placeholders are bound here (their ids are unique to that trace).
    g.inputs.forEach((p, i) => this.bind(p, args[i]!));
    return this.emitAll(g.outputs);
  }

  emit(n: Node): string {
    const x = (i: number): string => this.lookup(n.inputs[i]!)!;
    const captured = this.session.buffers.get(n.id);
    if (captured) return this.constant(onnxDType(n.dtype, "a captured tensor"), n.shape, rawOf(n.dtype, captured), "w");
    const u = UNARY[n.prim];
    if (u) return this.op1(u, [x(0)]);
    const b = BINARY[n.prim];
    if (b) {
      if (n.prim === "max") {
        const zero = n.inputs.findIndex(isZero);
        if (zero >= 0 && n.dtype === "float32") return this.op1("Relu", [x(1 - zero)]);
      }
      return this.op1(b, [x(0), x(1)]);
    }
    const r = REDUCE[n.prim];
    if (r && isPrimIn(n, REDUCTION_PRIMS)) {
      const { axes } = n.params;
      if (!axes.length) return this.op1("Identity", [x(0)]);
      if (n.prim === "sum" || this.session.opset >= 18) return this.op1(r, [x(0), this.ints(axes)], { keepdims: { kind: "int", v: 0 } });
      return this.op1(r, [x(0)], { axes: { kind: "ints", v: axes }, keepdims: { kind: "int", v: 0 } });
    }
    switch (n.prim) {
      case "const": {
        const p = n.params;
        return this.scalar(p.value, p.dtype);
      }
      case "iota": {
        const p = n.params;
        return this.constant(onnxDType(p.dtype, "iota"), p.shape, rawOf(p.dtype, iotaData(p.shape, p.axis)), "iota");
      }
      case "input":
        throw new OnnxExportError("exportOnnx: the function reads a placeholder that is not one of its arguments");
      case "expm1":
        return this.op1("Sub", [this.op1("Exp", [x(0)]), this.scalar(1, n.dtype)]);
      case "log1p":
        return this.op1("Log", [this.op1("Add", [x(0), this.scalar(1, n.dtype)])]);
      case "ne":
        return this.op1("Not", [this.op1("Equal", [x(0), x(1)])]);
      case "where":
        return this.op1("Where", [x(0), x(1), x(2)]);
      case "cast":
        return this.op1("Cast", [x(0)], { to: { kind: "int", v: onnxDType(n.dtype, "cast") } });
      case "argmax": {
        const { axis } = n.params;
        const am = this.op1("ArgMax", [x(0)], { axis: { kind: "int", v: axis }, keepdims: { kind: "int", v: 0 } });
        return this.op1("Cast", [am], { to: { kind: "int", v: ONNX_DTYPE.int32 } });
      }
      case "cumsum": {
        const p = n.params;
        return this.op1("CumSum", [x(0), this.ints([p.axis], true)], { reverse: { kind: "int", v: p.reverse ? 1 : 0 } });
      }
      case "reshape":
        return this.op1("Reshape", [x(0), this.ints(n.shape)], { allowzero: { kind: "int", v: 1 } });
      case "permute":
        return this.op1("Transpose", [x(0)], { perm: { kind: "ints", v: n.params.perm } });
      case "broadcast":
        return this.op1("Expand", [x(0), this.ints(n.shape)]);
      case "pad": {
        const p = n.params;
        if (p.widths.every(([lo, hi]) => lo === 0 && hi === 0)) return this.op1("Identity", [x(0)]);
        const pads = [...p.widths.map((w) => w[0]), ...p.widths.map((w) => w[1])];
        return this.op1("Pad", [x(0), this.ints(pads), this.scalar(p.value, n.dtype)], { mode: { kind: "string", v: "constant" } });
      }
      case "slice": {
        const p = n.params;
        const axes = p.starts.map((_, i) => i);
        return this.op1("Slice", [x(0), this.ints(p.starts), this.ints(p.ends), this.ints(axes), this.ints(p.steps)]);
      }
      case "flip": {
        const { axes } = n.params;
        if (!axes.length) return this.op1("Identity", [x(0)]);
        return this.op1("Slice", [
          x(0),
          this.ints(axes.map(() => -1)),
          this.ints(axes.map(() => Number.MIN_SAFE_INTEGER)),
          this.ints(axes),
          this.ints(axes.map(() => -1)),
        ]);
      }
      case "gather":
        return emitGather(this, n);
      case "scatterAdd":
        return this.scatterAdd(n);
      case "matmul":
        return this.op1("MatMul", [x(0), x(1)]);
      case "conv": {
        const p = n.params;
        if (p.lhsDilation.some((d) => d !== 1) || p.padding.some(([lo, hi]) => lo < 0 || hi < 0)) {
          throw new OnnxExportError(`exportOnnx: primitive "conv" with input dilation or cropping padding (built only by gradients) is not supported`);
        }
        return this.op1("Conv", [x(0), x(1)], {
          strides: { kind: "ints", v: p.strides },
          pads: { kind: "ints", v: [...p.padding.map((q) => q[0]), ...p.padding.map((q) => q[1])] },
          dilations: { kind: "ints", v: p.rhsDilation },
          group: { kind: "int", v: p.groups },
        });
      }
      case "maxPool": {
        // ONNX MaxPool pools [N, C, ...spatial]: other leading axes are folded into N around it
        const p = n.params;
        const sp = n.inputs[0]!.shape.slice(-p.window.length);
        const lead = n.inputs[0]!.shape.slice(0, -p.window.length);
        const nc = lead.length === 2 ? lead : [lead.reduce((a, d) => a * d, 1), 1];
        const xin = lead.length === 2 ? x(0) : this.op1("Reshape", [x(0), this.ints([...nc, ...sp])]);
        const y = this.op1("MaxPool", [xin], {
          kernel_shape: { kind: "ints", v: p.window },
          strides: { kind: "ints", v: p.strides },
          pads: { kind: "ints", v: [...p.padding.map((q) => q[0]), ...p.padding.map((q) => q[1])] },
        });
        return lead.length === 2 ? y : this.op1("Reshape", [y, this.ints(n.shape)]);
      }
      case "maxPoolGather":
      case "maxPoolScatter":
        throw new OnnxExportError(`exportOnnx: primitive "${n.prim}" (max pooling's tangent and gradient, built only by differentiation) is not supported`);
      case "proj":
        return this.lookupTuple(n.inputs[0]!)![n.params.index]!;
      case "threefry":
      case "shrl":
        throw new OnnxExportError(`exportOnnx: primitive "${n.prim}" (random bit generation) has no ONNX equivalent; pass random values in as inputs`);
      default:
        throw new OnnxExportError(`exportOnnx: primitive "${n.prim}" is not supported`);
    }
  }

  /**
   * A call node, emitted once: `scan` as one Loop, `whileLoop` as one Loop, `cond` as one If chain,
   * customVjp/customJvp/checkpoint as their forward graph inlined; returns the name of each output.
   */
  emitCall(n: Node<CallPrim>): string[] {
    const ins = n.inputs.map((i) => this.lookup(i)!);
    switch (n.prim) {
      case "scan":
        return this.loop(n.params, n.inputs, ins);
      case "whileLoop":
        return emitWhile(this, n);
      case "cond":
        return emitCond(this, n);
      case "customVjp":
      case "customJvp":
        return this.inline(n.params.info.graph, ins);
      case "checkpoint":
        return this.inline(n.params.body.graph, ins);
      case "customVjpLinear":
        throw new OnnxExportError(`exportOnnx: primitive "customVjpLinear" (the tangent map of a customVjp, built only by gradients) is not supported`);
      default: {
        const rest: never = n;
        return rest;
      }
    }
  }

  scatterAdd(n: Node<"scatterAdd">): string {
    const { axis, batchDims, shape } = n.params;
    if (batchDims !== 0) throw new OnnxExportError(`exportOnnx: primitive "scatterAdd" with batch dims (built by gradients of takeAlongAxis) is not supported`);
    const [un, idxn] = [n.inputs[0]!, n.inputs[1]!];
    const ri = idxn.shape.length;
    const ru = un.shape.length;
    // updates [S[:axis], I, S[axis+1:]] -> [I, S[:axis], S[axis+1:]]
    const permU = [
      ...Array.from({ length: ri }, (_, i) => axis + i),
      ...Array(axis).keys(),
      ...Array.from({ length: ru - axis - ri }, (_, i) => axis + ri + i),
    ];
    const upd = axis === 0 ? this.lookup(un)! : this.op1("Transpose", [this.lookup(un)!], { perm: { kind: "ints", v: permU } });
    const dims = [shape[axis]!, ...shape.slice(0, axis), ...shape.slice(axis + 1)];
    const zero: TensorMsg = { name: "value", dtype: onnxDType(n.dtype, "scatterAdd"), dims: [1], raw: rawOf(n.dtype, [0]) };
    const data = this.op1("ConstantOfShape", [this.ints(dims)], { value: { kind: "tensor", v: zero } });
    const idx64 = this.op1("Unsqueeze", [this.op1("Cast", [this.lookup(idxn)!], { to: { kind: "int", v: ONNX_DTYPE.int64 } }), this.ints([-1])]);
    const s = this.op1("ScatterND", [data, idx64, upd], { reduction: { kind: "string", v: "add" } });
    if (axis === 0) return s;
    const back = [...Array.from({ length: axis }, (_, i) => i + 1), 0, ...Array.from({ length: shape.length - axis - 1 }, (_, i) => axis + 1 + i)];
    return this.op1("Transpose", [s], { perm: { kind: "ints", v: back } });
  }

  /** The ONNX dtype of a tenfold dtype (a clear error for unsupported ones). */
  dtypeOf(d: DType, where: string): OnnxDType {
    return onnxDType(d, where);
  }

  /** A child emitter (a Loop body or If branch), or a scope of its own in this graph. */
  child(): Emitter {
    return new Emitter(this.session, this);
  }

  loop(
    p: { body: { graph: Graph }; numConsts: number; numCarry: number; length: number; reverse: boolean },
    inputs: readonly Node[],
    ins: readonly string[],
  ): string[] {
    const g = p.body.graph;
    const body = new Emitter(this.session, this);
    const iter = body.fresh("iter");
    const condIn = body.fresh("cond_in");
    const bodyInputs: ValueInfoMsg[] = [
      { name: iter, dtype: ONNX_DTYPE.int64, dims: [] },
      { name: condIn, dtype: ONNX_DTYPE.bool, dims: [] },
    ];
    g.inputs.forEach((ph, i) => {
      if (i < p.numConsts) body.bind(ph, ins[i]!);
      else if (i < p.numConsts + p.numCarry) {
        const name = body.fresh("carry_in");
        body.bind(ph, name);
        bodyInputs.push({ name, dtype: onnxDType(ph.dtype, "scan carry"), dims: ph.shape });
      }
    });
    const numXs = inputs.length - p.numConsts - p.numCarry;
    if (numXs > 0) {
      const at = p.reverse ? body.op1("Sub", [body.ints([p.length - 1], true), iter]) : iter;
      for (let j = 0; j < numXs; j++) {
        const k = p.numConsts + p.numCarry + j;
        body.bind(g.inputs[k]!, body.op1("Gather", [ins[k]!, at], { axis: { kind: "int", v: 0 } }));
      }
    }
    const results = body.emitAll(g.outputs);
    const bodyOutputs: ValueInfoMsg[] = [{ name: body.op1("Identity", [condIn]), dtype: ONNX_DTYPE.bool, dims: [] }];
    g.outputs.forEach((o, i) => bodyOutputs.push({ name: body.op1("Identity", [results[i]!]), dtype: onnxDType(o.dtype, "scan output"), dims: o.shape }));
    const bodyGraph: GraphMsg = { name: this.fresh("loop_body"), nodes: body.nodes, initializers: [], inputs: bodyInputs, outputs: bodyOutputs };
    const loopIns = [
      this.ints([p.length], true),
      this.constant(ONNX_DTYPE.bool, [], Uint8Array.of(1), "true"),
      ...ins.slice(p.numConsts, p.numConsts + p.numCarry),
    ];
    const outs = this.op("Loop", loopIns, { body: { kind: "graph", v: bodyGraph } }, g.outputs.length);
    if (!p.reverse) return outs;
    // a reverse scan stacks ys in the order of xs: the Loop stacked them in iteration order
    return outs.map((o, i) =>
      i < p.numCarry ? o : this.op1("Slice", [o, this.ints([-1]), this.ints([Number.MIN_SAFE_INTEGER]), this.ints([0]), this.ints([-1])]),
    );
  }
}

function isJitted(f: unknown): f is { graph(...args: unknown[]): Graph } {
  return typeof f === "function" && typeof (f as { graph?: unknown }).graph === "function";
}

/** A value computed outside the traced function (a captured tensor, realized for export). */
function isCaptured(n: Node): boolean {
  return !n.traced && n.prim !== "const" && n.prim !== "iota";
}

/** Collects the captured values a graph (and the graphs of its calls) reads. */
function capturedOf(g: Graph, out: Map<number, Node>, seen: Set<number>): void {
  for (const n of topoSort([...g.outputs], isCaptured)) {
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    if (isCaptured(n)) {
      out.set(n.id, n);
      continue;
    }
    const p = n.params;
    const inners = [
      "body" in p ? p.body.graph : undefined,
      "info" in p ? p.info.graph : undefined,
      "cond" in p ? p.cond.graph : undefined,
      ...("branches" in p ? p.branches.map((b) => b.graph) : []),
    ];
    for (const inner of inners) if (inner instanceof Graph) capturedOf(inner, out, seen);
  }
}

/**
 * Exports a function as an ONNX model (opset 17+), traced at the shapes and dtypes of
 * `exampleArgs`. Pass a `jit`-compiled function or a plain one; tensors it captures (trained
 * weights) become initializers. Returns the serialized `ModelProto`: write it to a `.onnx` file and
 * load it in onnxruntime or any ONNX engine. Tensor leaves of the arguments become the inputs
 * `input_0, input_1, ...` in flattening order, result leaves the outputs `output_0, ...`.
 * @example
 * ```ts
 * import { exportOnnx, jit, matmul, tanh, tensor } from "tenfold";
 * const w = tensor([[1, 2], [3, 4]]);
 * const f = jit((x: ReturnType<typeof tensor>) => tanh(matmul(x, w)));
 * const bytes = await exportOnnx(f, [tensor([[0.1, 0.2]])]);
 * console.log(bytes.length > 0); // true
 * ```
 */
export async function exportOnnx(f: (...args: never[]) => unknown, exampleArgs: readonly unknown[], options: OnnxExportOptions = {}): Promise<Uint8Array> {
  const opset = options.opset ?? 17;
  if (!Number.isInteger(opset) || opset < 17) throw new RangeError(`exportOnnx: opset must be an integer >= 17, got ${String(opset)}`);
  if (!Array.isArray(exampleArgs)) throw new TypeError("exportOnnx: exampleArgs must be an array of the function's arguments");
  const call = f as unknown as (...args: unknown[]) => unknown;
  const graph = isJitted(f) ? f.graph(...exampleArgs) : makeGraph(call)(...exampleArgs);
  flattenArgs(exampleArgs, "exportOnnx");
  if (options.inputNames && options.inputNames.length !== graph.inputs.length) {
    throw new RangeError(`exportOnnx: inputNames has ${options.inputNames.length} names for ${graph.inputs.length} input tensors`);
  }
  if (options.outputNames && options.outputNames.length !== graph.outputs.length) {
    throw new RangeError(`exportOnnx: outputNames has ${options.outputNames.length} names for ${graph.outputs.length} output tensors`);
  }
  const found = new Map<number, Node>();
  capturedOf(graph, found, new Set());
  const buffers = new Map<number, TypedArray>();
  for (const [id, n] of found) buffers.set(id, await new Tensor(n).data());
  const session: Session = { count: 0, buffers, opset };
  const main = new Emitter(session);
  const inputs: ValueInfoMsg[] = graph.inputs.map((ph, i) => {
    const name = options.inputNames?.[i] ?? `input_${i}`;
    main.bind(ph, name);
    return { name, dtype: onnxDType(ph.dtype, `input ${i}`), dims: ph.shape };
  });
  const results = main.emitAll(graph.outputs);
  const outputs: ValueInfoMsg[] = graph.outputs.map((o, i) => {
    const name = options.outputNames?.[i] ?? `output_${i}`;
    main.nodes.push({ op: "Identity", inputs: [results[i]!], outputs: [name], name: main.fresh("n_out") });
    return { name, dtype: onnxDType(o.dtype, `output ${i}`), dims: o.shape };
  });
  const model: GraphMsg = { name: options.graphName ?? "tenfold", nodes: main.nodes, initializers: main.inits, inputs, outputs };
  return encodeModel(model, opset, "0.1.0");
}
