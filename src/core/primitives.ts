/**
 * The closed set of primitives. Every op in `ops/` and `nn/` is composed from these; derivatives,
 * batching rules, evaluation and code generation exist only for them, each in a table typed
 * `{ [P in Primitive]: Rule<P> }` so that a missing rule is a compile error.
 *
 * Primitives take operands of identical shapes where elementwise (the ops layer inserts the
 * `broadcast` views), so rules never reason about implicit broadcasting.
 */
import type { DType } from "./dtype.js";
import type { Shape } from "./shape.js";
import type { Graph } from "./graph.js";
import type { ConvParams } from "./conv-general.js";
import type { PoolParams } from "./pool.js";

/** Unary elementwise primitives. */
export const UNARY = ["neg", "exp", "log", "expm1", "log1p", "sin", "cos", "tanh", "sqrt", "floor", "round", "erf"] as const;
/** Binary elementwise primitives (same-shape operands). */
export const BINARY = ["add", "mul", "div", "pow", "max", "min", "eq", "ne", "lt", "le"] as const;
/** Reductions over a list of axes (no keepdims at this level). */
export const REDUCE = ["sum", "rmax", "rmin", "prod"] as const;

export type UnaryPrim = (typeof UNARY)[number];
export type BinaryPrim = (typeof BINARY)[number];
export type ReducePrim = (typeof REDUCE)[number];

/** A traced function called by a higher-order primitive (scan, whileLoop, cond, customVjp, checkpoint). */
export interface CallInfo {
  /** Unique id: the hash-consing key of the call. */
  readonly id: number;
  readonly graph: Graph;
}

/** Parameters of the custom-VJP primitives. */
export interface CustomVjpInfo {
  readonly id: number;
  /** The primal function's graph (inputs: the flattened args). */
  readonly graph: Graph;
  /** fwd(...args) => [outs, residuals], flattened: residual count follows the outputs. */
  readonly fwd: (args: readonly import("./tensor.js").Tensor[]) => { outs: import("./tensor.js").Tensor[]; res: import("./tensor.js").Tensor[] };
  /** bwd(residuals, cotangents) => cotangents of the args (flattened, null for zero). */
  readonly bwd: (res: readonly import("./tensor.js").Tensor[], cts: readonly import("./tensor.js").Tensor[]) => (import("./tensor.js").Tensor | null)[];
  readonly numOut: number;
  readonly name: string;
}

/** Parameters of the custom-JVP primitive (see src/transforms/custom-jvp.ts). */
export interface CustomJvpInfo {
  readonly id: number;
  /** The primal function's closed graph: inputs [...captured consts, ...flattened args]. */
  readonly graph: Graph;
  /** How many leading graph inputs are captured consts (they get no tangent rule). */
  readonly numConsts: number;
  readonly name: string;
  /** The JVP rule on flattened args (consts excluded): returns [...primal outs, ...tangent outs]. */
  readonly rule: (primals: readonly import("./tensor.js").Tensor[], tangents: readonly import("./tensor.js").Tensor[]) => import("./tensor.js").Tensor[];
}

/** Parameters of every primitive. */
export interface ParamsMap {
  /** A scalar literal (shape []): folded and fused freely. */
  const: { readonly value: number; readonly dtype: DType };
  /** Realized data (owns a Storage). */
  buffer: { readonly dtype: DType; readonly shape: Shape };
  /** A placeholder of a traced graph. */
  input: { readonly id: number; readonly dtype: DType; readonly shape: Shape };
  /** Index along `axis` of a new tensor of `shape`. */
  iota: { readonly shape: Shape; readonly axis: number; readonly dtype: DType };
  neg: Record<string, never>;
  exp: Record<string, never>;
  log: Record<string, never>;
  expm1: Record<string, never>;
  log1p: Record<string, never>;
  sin: Record<string, never>;
  cos: Record<string, never>;
  tanh: Record<string, never>;
  sqrt: Record<string, never>;
  floor: Record<string, never>;
  round: Record<string, never>;
  erf: Record<string, never>;
  add: Record<string, never>;
  mul: Record<string, never>;
  div: Record<string, never>;
  pow: Record<string, never>;
  max: Record<string, never>;
  min: Record<string, never>;
  eq: Record<string, never>;
  ne: Record<string, never>;
  lt: Record<string, never>;
  le: Record<string, never>;
  /** where(cond, a, b) */
  where: Record<string, never>;
  cast: { readonly dtype: DType };
  /** Threefry-2x32 block cipher (20 rounds) on (k0, k1, x0, x1); `lane` picks the output word (2: their xor, JAX's 32-bit random bits). */
  threefry: { readonly lane: 0 | 1 | 2 };
  /** Logical (unsigned) shift right of int32 bits. */
  shrl: { readonly bits: number };
  sum: { readonly axes: readonly number[] };
  rmax: { readonly axes: readonly number[] };
  rmin: { readonly axes: readonly number[] };
  prod: { readonly axes: readonly number[] };
  argmax: { readonly axis: number };
  cumsum: { readonly axis: number; readonly reverse: boolean };
  reshape: { readonly shape: Shape };
  permute: { readonly perm: readonly number[] };
  /** Expand size-1 dims (same rank). */
  broadcast: { readonly shape: Shape };
  /** Constant padding; `widths[i] = [lo, hi]`, both >= 0. */
  pad: { readonly widths: readonly (readonly [number, number])[]; readonly value: number };
  /** Strided slice: starts inclusive, ends exclusive, steps >= 1. */
  slice: { readonly starts: readonly number[]; readonly ends: readonly number[]; readonly steps: readonly number[] };
  flip: { readonly axes: readonly number[] };
  /** gather(x, idx): out = x.shape[:axis] + idx.shape[batchDims:] + x.shape[axis+1:], batch dims shared. */
  gather: { readonly axis: number; readonly batchDims: number };
  /** scatterAdd(updates, idx) into zeros of `shape`: the transpose of gather. */
  scatterAdd: { readonly axis: number; readonly batchDims: number; readonly shape: Shape };
  /** Batched matmul [...b, m, k] x [...b, k, n] with identical batch dims. */
  matmul: Record<string, never>;
  /** Convolution x [N, C, ...sp] * w [O, C/groups, ...k] -> [N, O, ...out] (see ConvParams). */
  conv: ConvParams;
  /** Max pooling over the last `window.length` axes (XLA reduce_window max; see core/pool.ts). */
  maxPool: PoolParams;
  /** maxPoolGather(t, x): t at each window's selected position of x (select_and_gather_add). */
  maxPoolGather: PoolParams;
  /** maxPoolScatter(g, x): g added at each window's selected position of x (select_and_scatter_add). */
  maxPoolScatter: PoolParams;
  /** scan: inputs are [...consts, ...carry, ...xs]; outputs: the final carries, then the stacked ys. */
  scan: {
    readonly body: CallInfo;
    readonly numConsts: number;
    readonly numCarry: number;
    readonly length: number;
    readonly reverse: boolean;
  };
  /**
   * whileLoop: inputs are [...consts, ...carry]; `cond` and `body` both take all of them (cond
   * returns a bool scalar, body the next carry); the trip count is decided at run time. Outputs:
   * the final carry.
   */
  whileLoop: { readonly cond: CallInfo; readonly body: CallInfo; readonly numConsts: number };
  /**
   * cond (lax.switch): inputs are [index, ...operands]; every branch takes the operands and
   * returns the same avals; only `branches[clamp(index)]` runs. Outputs: the branches' outputs.
   */
  cond: { readonly branches: readonly CallInfo[] };
  /** customVjp call; outputs: the primal function's. */
  customVjp: { readonly info: CustomVjpInfo };
  /** The linear tangent map of a customVjp call: inputs [...residuals, ...argTangents]; outputs: one tangent per primal output. */
  customVjpLinear: {
    readonly info: CustomVjpInfo;
    readonly numRes: number;
    readonly argShapes: readonly { shape: Shape; dtype: DType }[];
  };
  /** customJvp call (a function with a hand-written JVP rule); outputs: the primal function's. */
  customJvp: { readonly info: CustomJvpInfo };
  /** checkpoint: inlined with a rematerialization barrier at scheduling time; outputs: the body's. */
  checkpoint: { readonly body: CallInfo };
  /**
   * Output `index` of a multi-output call node (the call primitives above are tuple nodes: one
   * node computes all their outputs, read only through `proj`, as XLA's get-tuple-element).
   */
  proj: { readonly index: number };
  /** Identity whose derivative is zero. */
  stopGradient: Record<string, never>;
  /** Identity that blocks common-subexpression merging (used to rematerialize). */
  barrier: { readonly id: number };
}

/** The name of a primitive. */
export type Primitive = keyof ParamsMap;

/** The params of primitive P. */
export type Params<P extends Primitive> = ParamsMap[P];

/** Every primitive name: the source that laws and rule tables are generated from. */
export const PRIMITIVES: readonly Primitive[] = [
  "const",
  "buffer",
  "input",
  "iota",
  ...UNARY,
  ...BINARY,
  "where",
  "cast",
  "threefry",
  "shrl",
  ...REDUCE,
  "argmax",
  "cumsum",
  "reshape",
  "permute",
  "broadcast",
  "pad",
  "slice",
  "flip",
  "gather",
  "scatterAdd",
  "matmul",
  "conv",
  "maxPool",
  "maxPoolGather",
  "maxPoolScatter",
  "scan",
  "whileLoop",
  "cond",
  "customVjp",
  "customVjpLinear",
  "customJvp",
  "checkpoint",
  "proj",
  "stopGradient",
  "barrier",
];

/** Algebraic metadata used by laws and the simplifier. */
export interface PrimMeta {
  readonly kind: "leaf" | "unary" | "binary" | "ternary" | "reduce" | "movement" | "index" | "contract" | "call" | "proj" | "random";
  /** f(a, b) = f(b, a) */
  readonly commutative?: boolean;
  /** f(f(a, b), c) = f(a, f(b, c)) (exactly, up to rounding for floats) */
  readonly associative?: boolean;
  /** f(a, identity) = a */
  readonly identity?: number;
  /** linear in every operand (transpose rule exists for all operands) */
  readonly linear?: boolean;
  /** differentiable at all (float outputs with nonzero derivative somewhere) */
  readonly differentiable: boolean;
  /** output dtype is bool */
  readonly predicate?: boolean;
  /** f(f(x)) = x */
  readonly involution?: boolean;
}

/** Metadata of every primitive, literal-typed: the primitive subsets below are derived from it. */
const META_LIT = {
  const: { kind: "leaf", differentiable: false },
  buffer: { kind: "leaf", differentiable: false },
  input: { kind: "leaf", differentiable: false },
  iota: { kind: "leaf", differentiable: false },
  neg: { kind: "unary", differentiable: true, linear: true, involution: true },
  exp: { kind: "unary", differentiable: true },
  log: { kind: "unary", differentiable: true },
  expm1: { kind: "unary", differentiable: true },
  log1p: { kind: "unary", differentiable: true },
  sin: { kind: "unary", differentiable: true },
  cos: { kind: "unary", differentiable: true },
  tanh: { kind: "unary", differentiable: true },
  sqrt: { kind: "unary", differentiable: true },
  erf: { kind: "unary", differentiable: true },
  floor: { kind: "unary", differentiable: false },
  round: { kind: "unary", differentiable: false },
  add: { kind: "binary", differentiable: true, commutative: true, associative: true, identity: 0, linear: true },
  mul: { kind: "binary", differentiable: true, commutative: true, associative: true, identity: 1 },
  div: { kind: "binary", differentiable: true },
  pow: { kind: "binary", differentiable: true },
  max: { kind: "binary", differentiable: true, commutative: true, associative: true, identity: -Infinity },
  min: { kind: "binary", differentiable: true, commutative: true, associative: true, identity: Infinity },
  eq: { kind: "binary", differentiable: false, commutative: true, predicate: true },
  ne: { kind: "binary", differentiable: false, commutative: true, predicate: true },
  lt: { kind: "binary", differentiable: false, predicate: true },
  le: { kind: "binary", differentiable: false, predicate: true },
  where: { kind: "ternary", differentiable: true },
  cast: { kind: "unary", differentiable: true },
  threefry: { kind: "random", differentiable: false },
  shrl: { kind: "unary", differentiable: false },
  sum: { kind: "reduce", differentiable: true, linear: true, identity: 0 },
  rmax: { kind: "reduce", differentiable: true, identity: -Infinity },
  rmin: { kind: "reduce", differentiable: true, identity: Infinity },
  prod: { kind: "reduce", differentiable: true, identity: 1 },
  argmax: { kind: "index", differentiable: false },
  cumsum: { kind: "index", differentiable: true, linear: true },
  reshape: { kind: "movement", differentiable: true, linear: true },
  permute: { kind: "movement", differentiable: true, linear: true },
  broadcast: { kind: "movement", differentiable: true, linear: true },
  pad: { kind: "movement", differentiable: true },
  slice: { kind: "movement", differentiable: true, linear: true },
  flip: { kind: "movement", differentiable: true, linear: true, involution: true },
  gather: { kind: "index", differentiable: true },
  scatterAdd: { kind: "index", differentiable: true },
  matmul: { kind: "contract", differentiable: true },
  conv: { kind: "contract", differentiable: true },
  maxPool: { kind: "contract", differentiable: true },
  maxPoolGather: { kind: "contract", differentiable: true },
  maxPoolScatter: { kind: "contract", differentiable: true },
  scan: { kind: "call", differentiable: true },
  whileLoop: { kind: "call", differentiable: true },
  cond: { kind: "call", differentiable: true },
  customVjp: { kind: "call", differentiable: true },
  customVjpLinear: { kind: "call", differentiable: true, linear: true },
  customJvp: { kind: "call", differentiable: true },
  checkpoint: { kind: "call", differentiable: true },
  proj: { kind: "proj", differentiable: true, linear: true },
  stopGradient: { kind: "movement", differentiable: false },
  barrier: { kind: "movement", differentiable: true, linear: true },
} as const satisfies { readonly [P in Primitive]: PrimMeta };
/** Metadata of every primitive. */
export const META: { readonly [P in Primitive]: PrimMeta } = META_LIT;

/** The primitives whose metadata kind is one of K (a type derived from META). */
export type PrimOfKind<K extends PrimMeta["kind"]> = { [P in Primitive]: (typeof META_LIT)[P]["kind"] extends K ? P : never }[Primitive];

/**
 * Elementwise primitives: one output element from the operand elements at the same index. Their
 * scalar meaning is defined once, in core/semantics.ts, and every backend's emitter table is typed
 * over this set.
 */
export type ElementwisePrim = PrimOfKind<"unary" | "binary" | "ternary" | "random">;
/** View primitives: pure index remapping (or identity), fused as index arithmetic. */
export type ViewPrim = PrimOfKind<"movement">;
/** Full reductions over axes with an identity (`sum`, `rmax`, `rmin`, `prod`). */
export type ReductionPrim = PrimOfKind<"reduce">;

const primsOfKind = <K extends PrimMeta["kind"]>(...kinds: K[]): ReadonlySet<PrimOfKind<K>> =>
  new Set(PRIMITIVES.filter((p) => (kinds as string[]).includes(META[p].kind)) as PrimOfKind<K>[]);

/** The elementwise primitives, derived from META. */
export const ELEMENTWISE_PRIMS: ReadonlySet<ElementwisePrim> = primsOfKind("unary", "binary", "ternary", "random");
/** The view primitives, derived from META. */
export const VIEW_PRIMS: ReadonlySet<ViewPrim> = primsOfKind("movement");
/** The reduction primitives, derived from META. */
export const REDUCTION_PRIMS: ReadonlySet<ReductionPrim> = primsOfKind("reduce");
/**
 * Call primitives (scan, whileLoop, cond, customVjp, customVjpLinear, customJvp, checkpoint): each
 * is a multi-output (tuple) node whose outputs are read through `proj` nodes.
 */
export type CallPrim = PrimOfKind<"call">;
/** The call (multi-output) primitives, derived from META. */
export const CALL_PRIMS: ReadonlySet<CallPrim> = primsOfKind("call");

/** Whether `p` is a call (multi-output) primitive (from META). */
export function isCallPrim(p: Primitive): p is CallPrim {
  return (CALL_PRIMS as ReadonlySet<Primitive>).has(p);
}

/** Whether `p` is an elementwise primitive (from META). */
export function isElementwisePrim(p: Primitive): p is ElementwisePrim {
  return (ELEMENTWISE_PRIMS as ReadonlySet<Primitive>).has(p);
}
/** Whether `p` is a view primitive (from META). */
export function isViewPrim(p: Primitive): p is ViewPrim {
  return (VIEW_PRIMS as ReadonlySet<Primitive>).has(p);
}
