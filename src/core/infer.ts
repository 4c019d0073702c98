/**
 * Shape and dtype inference: one rule per primitive. Runs when a node is built. The ops layer
 * checks user input first (with the user-facing op name); these checks guard the primitive
 * contract itself.
 */
import { DTypeError, ShapeError, fmtShape } from "./errors.js";
import type { DType } from "./dtype.js";
import type { Shape } from "./shape.js";
import { shapeEq } from "./shape.js";
import type { Node } from "./node.js";
import type { Params, Primitive } from "./primitives.js";
import { convShape } from "./conv-general.js";
import { poolPairShape, poolShape } from "./pool.js";

/** Result of inference. */
export interface Abstract {
  readonly shape: Shape;
  readonly dtype: DType;
  /**
   * Set for a multi-output (tuple) node, a call primitive: the shape and dtype of each output. The
   * tuple node itself reports shape `[]` and dtype `float32` and is read only through `proj`.
   */
  readonly avals?: readonly Aval[];
}

/** The shape and dtype of one value. */
export interface Aval {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** The abstract value of a tuple node with outputs `avals`. */
function tuple(avals: readonly Aval[]): Abstract {
  return { shape: [], dtype: "float32", avals: avals.map((o) => ({ shape: o.shape, dtype: o.dtype })) };
}

type InferRule<P extends Primitive> = (params: Params<P>, inputs: readonly Node[]) => Abstract;

function same(op: string, inputs: readonly Node[]): Shape {
  const s = inputs[0]!.shape;
  for (const n of inputs) {
    if (!shapeEq(n.shape, s)) throw new ShapeError(`${op}: operand shapes differ: ${inputs.map((i) => fmtShape(i.shape)).join(" vs ")}`);
  }
  return s;
}
function sameDType(op: string, inputs: readonly Node[]): DType {
  const d = inputs[0]!.dtype;
  for (const n of inputs) if (n.dtype !== d) throw new DTypeError(`${op}: operand dtypes differ: ${inputs.map((i) => i.dtype).join(" vs ")}`);
  return d;
}
function floatUnary(op: string): InferRule<Primitive> {
  return (_p, [x]) => {
    if (x!.dtype === "int32" || x!.dtype === "bool") throw new DTypeError(`${op}: expected a float tensor, got ${x!.dtype}`);
    return { shape: x!.shape, dtype: x!.dtype };
  };
}
const numUnary: InferRule<Primitive> = (_p, [x]) => ({ shape: x!.shape, dtype: x!.dtype });
function binary(op: string, pred: boolean): InferRule<Primitive> {
  return (_p, ins) => ({ shape: same(op, ins), dtype: pred ? (sameDType(op, ins), "bool") : sameDType(op, ins) });
}
function reduce(op: string): InferRule<"sum" | "rmax" | "rmin" | "prod"> {
  return (p, [x]) => {
    for (const a of p.axes) if (a < 0 || a >= x!.shape.length) throw new ShapeError(`${op}: axis ${a} out of range for shape ${fmtShape(x!.shape)}`);
    return { shape: x!.shape.filter((_, i) => !p.axes.includes(i)), dtype: x!.dtype };
  };
}

/** The shape/dtype rule of every primitive. */
export const INFER: { readonly [P in Primitive]: InferRule<P> } = {
  const: (p) => ({ shape: [], dtype: p.dtype }),
  buffer: (p) => ({ shape: p.shape, dtype: p.dtype }),
  input: (p) => ({ shape: p.shape, dtype: p.dtype }),
  iota: (p) => ({ shape: p.shape, dtype: p.dtype }),
  neg: numUnary,
  exp: floatUnary("exp"),
  log: floatUnary("log"),
  expm1: floatUnary("expm1"),
  log1p: floatUnary("log1p"),
  sin: floatUnary("sin"),
  cos: floatUnary("cos"),
  tanh: floatUnary("tanh"),
  sqrt: floatUnary("sqrt"),
  floor: numUnary,
  round: numUnary,
  erf: floatUnary("erf"),
  add: binary("add", false),
  mul: binary("mul", false),
  div: binary("div", false),
  pow: binary("pow", false),
  max: binary("max", false),
  min: binary("min", false),
  eq: binary("eq", true),
  ne: binary("ne", true),
  lt: binary("lt", true),
  le: binary("le", true),
  where: (_p, [c, a, b]) => {
    if (c!.dtype !== "bool") throw new DTypeError(`where: condition must be bool, got ${c!.dtype}`);
    return { shape: same("where", [c!, a!, b!]), dtype: sameDType("where", [a!, b!]) };
  },
  cast: (p, [x]) => ({ shape: x!.shape, dtype: p.dtype }),
  threefry: (_p, ins) => {
    for (const n of ins) if (n.dtype !== "int32") throw new DTypeError(`threefry: operands must be int32, got ${n.dtype}`);
    return { shape: same("threefry", ins), dtype: "int32" };
  },
  shrl: (_p, [x]) => {
    if (x!.dtype !== "int32") throw new DTypeError(`shrl: expected int32, got ${x!.dtype}`);
    return { shape: x!.shape, dtype: "int32" };
  },
  sum: reduce("sum"),
  rmax: reduce("max"),
  rmin: reduce("min"),
  prod: reduce("prod"),
  argmax: (p, [x]) => ({ shape: x!.shape.filter((_, i) => i !== p.axis), dtype: "int32" }),
  cumsum: (_p, [x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  reshape: (p, [x]) => {
    const a = x!.shape.reduce((s, d) => s * d, 1);
    const b = p.shape.reduce((s, d) => s * d, 1);
    if (a !== b) throw new ShapeError(`reshape: cannot reshape ${fmtShape(x!.shape)} (size ${a}) to ${fmtShape(p.shape)} (size ${b})`);
    return { shape: p.shape, dtype: x!.dtype };
  },
  permute: (p, [x]) => ({ shape: p.perm.map((a) => x!.shape[a]!), dtype: x!.dtype }),
  broadcast: (p, [x]) => {
    if (p.shape.length !== x!.shape.length || x!.shape.some((d, i) => d !== 1 && d !== p.shape[i])) {
      throw new ShapeError(`broadcast: cannot expand ${fmtShape(x!.shape)} to ${fmtShape(p.shape)}`);
    }
    return { shape: p.shape, dtype: x!.dtype };
  },
  pad: (p, [x]) => ({ shape: x!.shape.map((d, i) => d + p.widths[i]![0] + p.widths[i]![1]), dtype: x!.dtype }),
  slice: (p, [x]) => ({
    shape: x!.shape.map((_, i) => Math.max(0, Math.ceil((p.ends[i]! - p.starts[i]!) / p.steps[i]!))),
    dtype: x!.dtype,
  }),
  flip: (_p, [x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  gather: (p, [x, idx]) => {
    if (idx!.dtype !== "int32") throw new DTypeError(`gather: indices must be int32, got ${idx!.dtype}`);
    const b = p.batchDims;
    return { shape: [...x!.shape.slice(0, p.axis), ...idx!.shape.slice(b), ...x!.shape.slice(p.axis + 1)], dtype: x!.dtype };
  },
  scatterAdd: (p, [upd]) => ({ shape: p.shape, dtype: upd!.dtype }),
  matmul: (_p, [a, b]) => {
    const ra = a!.shape.length;
    const rb = b!.shape.length;
    if (ra < 2 || ra !== rb || !shapeEq(a!.shape.slice(0, -2), b!.shape.slice(0, -2)) || a!.shape[ra - 1] !== b!.shape[rb - 2]) {
      throw new ShapeError(`matmul: incompatible operands ${fmtShape(a!.shape)} and ${fmtShape(b!.shape)}`);
    }
    return { shape: [...a!.shape.slice(0, -1), b!.shape[rb - 1]!], dtype: sameDType("matmul", [a!, b!]) };
  },
  maxPool: (p, [x]) => ({ shape: poolShape(p, x!.shape), dtype: x!.dtype }),
  maxPoolGather: (p, [t, x]) => ({ shape: poolPairShape("maxPoolGather", p, t!, x!, "input"), dtype: t!.dtype }),
  maxPoolScatter: (p, [g, x]) => {
    poolPairShape("maxPoolScatter", p, g!, x!, "output");
    return { shape: x!.shape, dtype: g!.dtype };
  },
  conv: (p, [x, w]) => ({ shape: convShape(p, x!.shape, w!.shape), dtype: sameDType("conv", [x!, w!]) }),
  scan: (p) => tuple(p.body.graph.outputs.map((o, i) => (i < p.numCarry ? o : { shape: [p.length, ...o.shape], dtype: o.dtype }))),
  whileLoop: (p) => tuple(p.body.graph.outputs),
  cond: (p) => tuple(p.branches[0]!.graph.outputs),
  customVjp: (p) => tuple(p.info.graph.outputs),
  customVjpLinear: (p) => tuple(p.info.graph.outputs),
  customJvp: (p) => tuple(p.info.graph.outputs),
  checkpoint: (p) => tuple(p.body.graph.outputs),
  proj: (p, [t]) => {
    const avals = t!.avals;
    if (!avals) throw new Error(`internal: proj reads ${t!.prim} node #${t!.id}, which is not a multi-output call`);
    const o = avals[p.index];
    if (!Number.isInteger(p.index) || !o)
      throw new Error(`internal: proj index ${p.index} is out of range for ${t!.prim} node #${t!.id} with ${avals.length} outputs`);
    return { shape: o.shape, dtype: o.dtype };
  },
  stopGradient: (_p, [x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  barrier: (_p, [x]) => ({ shape: x!.shape, dtype: x!.dtype }),
};
