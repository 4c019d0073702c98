/**
 * Turns a fused region of the graph into kernel IR: walks from a kernel's root through the nodes
 * it inlines, carrying the index at which each node is needed. Movement ops become index
 * arithmetic (`View`), materialized nodes become loads, and the kernel's anchor (its reduction or
 * matmul) becomes `acc`.
 */
import type { Node } from "../core/node.js";
import type { Primitive } from "../core/primitives.js";
import { VIEW_PRIMS as CORE_VIEW_PRIMS } from "../core/primitives.js";
import { stridesOf } from "../core/shape.js";
import type { Cond, Idx, Instr } from "./ir.js";
import { iadd, idiv, idxKey, imod, imul, lit, narrowed, substIdx } from "./ir.js";

/** An index into a node: one Idx per dimension, and the row-major flat index when known. */
export interface View {
  readonly multi: readonly Idx[];
  readonly flat?: Idx;
}

/** The row-major flat index of a view of `shape`. */
export function flatOf(v: View, shape: readonly number[]): Idx {
  if (v.flat) return v.flat;
  const st = stridesOf(shape);
  let f: Idx = lit(0);
  v.multi.forEach((m, d) => {
    if (shape[d] !== 1) f = iadd(f, imul(m, st[d]!));
  });
  return f;
}

/** The multi-index of `shape` at flat index `flat`. */
export function unravel(flat: Idx, shape: readonly number[]): View {
  const st = stridesOf(shape);
  const multi = shape.map((n, d) => (n === 1 ? lit(0) : imod(idiv(flat, st[d]!), n)));
  return { multi, flat };
}

/** The view of a movement node's operand, given the view of the node (pad returns conds too). */
export function operandView(n: Node, v: View): { view: View; conds?: Cond[] } {
  const src = n.inputs[0]!;
  switch (n.prim) {
    case "reshape":
      return { view: { ...unravel(flatOf({ multi: v.multi }, n.shape), src.shape), flat: flatOf(v, n.shape) } };
    case "permute": {
      const perm = n.params.perm;
      const multi = new Array<Idx>(perm.length);
      perm.forEach((p, d) => (multi[p] = v.multi[d]!));
      return { view: { multi } };
    }
    case "broadcast":
      return { view: { multi: v.multi.map((m, d) => (src.shape[d] === 1 ? lit(0) : m)) } };
    case "slice": {
      const p = n.params;
      return { view: { multi: v.multi.map((m, d) => iadd(imul(m, p.steps[d]!), lit(p.starts[d]!))) } };
    }
    case "flip": {
      const axes = n.params.axes;
      return { view: { multi: v.multi.map((m, d) => (axes.includes(d) ? iadd(lit(n.shape[d]! - 1), imul(m, -1)) : m)) } };
    }
    case "pad": {
      const w = n.params.widths;
      const conds: Cond[] = [];
      const multi = v.multi.map((m, d) => {
        const [lo, hi] = w[d]!;
        if (lo !== 0 || hi !== 0) conds.push({ idx: m, lo, hi: lo + src.shape[d]! });
        return iadd(m, lit(-lo));
      });
      return { view: { multi }, conds };
    }
    default:
      return { view: v };
  }
}

/** Movement primitives that are pure index arithmetic (derived from the primitive metadata). */
export const VIEW_PRIMS: ReadonlySet<Primitive> = CORE_VIEW_PRIMS;

/** Emits the SSA body of one kernel region. */
export class BodyBuilder {
  readonly instrs: Instr[] = [];
  readonly ops: string[] = [];
  readonly #memo = new Map<string, number>();
  readonly #cse = new Map<string, number>();

  constructor(
    /** Whether a node is read from a buffer (materialized). */
    readonly isLoad: (n: Node) => boolean,
    /** The kernel-input position of a materialized node. */
    readonly inputOf: (n: Node) => number,
    /** The anchor node (its value is `acc`), if any. */
    readonly anchor?: Node,
  ) {}

  #emit(i: Instr): number {
    const key = JSON.stringify(i);
    const hit = this.#cse.get(key);
    if (hit !== undefined) return hit;
    this.instrs.push(i);
    this.#cse.set(key, this.instrs.length - 1);
    return this.instrs.length - 1;
  }

  /** The value of `n` at `v`. */
  expr(n: Node, v: View): number {
    // The flat index is part of the key: equal multi-indices (after mod simplification) can
    // carry different flat indices (e.g. the two branches of a concat of a reshaped operand).
    const key = `${n.id}@${v.multi.map(idxKey).join(",")}${v.flat ? `|${idxKey(v.flat)}` : ""}`;
    const hit = this.#memo.get(key);
    if (hit !== undefined) return hit;
    const r = this.#compute(n, v);
    if (n !== this.anchor && !this.isLoad(n) && n.prim !== "const" && n.prim !== "iota" && !VIEW_PRIMS.has(n.prim)) this.ops.push(n.prim);
    this.#memo.set(key, r);
    return r;
  }

  #compute(n: Node, v: View): number {
    if (n === this.anchor) return this.#emit({ op: "acc", dtype: n.dtype });
    if (this.isLoad(n)) return this.#emit({ op: "load", input: this.inputOf(n), index: flatOf(v, n.shape), dtype: n.dtype });
    const ins = (): number[] => n.inputs.map((i) => this.expr(i, v));
    switch (n.prim) {
      case "const":
        return this.#emit({ op: "const", value: n.params.value, dtype: n.dtype });
      case "iota":
        return this.#emit({ op: "index", index: v.multi[n.params.axis]!, dtype: n.dtype });
      case "cast": {
        const [x] = ins();
        return this.#emit({ op: "cast", x: x!, dtype: n.dtype, from: n.inputs[0]!.dtype });
      }
      case "shrl": {
        const [x] = ins();
        return this.#emit({ op: "shrl", x: x!, bits: n.params.bits, dtype: n.dtype });
      }
      case "where": {
        const [c, a, b] = ins();
        return this.#emit({ op: "where", c: c!, a: a!, b: b!, dtype: n.dtype });
      }
      case "neg":
      case "exp":
      case "log":
      case "expm1":
      case "log1p":
      case "sin":
      case "cos":
      case "tanh":
      case "sqrt":
      case "floor":
      case "round":
      case "erf": {
        const [x] = ins();
        return this.#emit({ op: "unary", fn: n.prim, x: x!, dtype: n.dtype });
      }
      case "add":
      case "mul":
      case "div":
      case "pow":
      case "max":
      case "min":
      case "eq":
      case "ne":
      case "lt":
      case "le": {
        const [a, b] = ins();
        return this.#emit({ op: "binary", fn: n.prim, a: a!, b: b!, dtype: n.dtype, argDtype: n.inputs[0]!.dtype });
      }
      default: {
        if (!VIEW_PRIMS.has(n.prim)) throw new Error(`scheduler: cannot inline ${n.prim} into a kernel`);
        const { view, conds } = operandView(n, v);
        if (!conds || conds.length === 0 || n.prim !== "pad") return this.expr(n.inputs[0]!, view); // only pad has conds
        // The operand is read only where the conds hold: narrow the variables they bound.
        const env = narrowed(conds);
        const x = this.expr(
          n.inputs[0]!,
          env.size ? { multi: view.multi.map((m) => substIdx(m, env)), ...(view.flat ? { flat: substIdx(view.flat, env) } : {}) } : view,
        );
        const fill = this.#emit({ op: "const", value: n.params.value, dtype: n.dtype });
        return this.#emit({ op: "guard", conds, x, otherwise: fill, dtype: n.dtype });
      }
    }
  }
}

/**
 * The strided form of a chain of views over a materialized node, or undefined when the chain
 * needs more than affine index arithmetic (pad, merging non-contiguous dims).
 */
export function stridedView(n: Node, isLoad: (x: Node) => boolean): { base: Node; offset: number; strides: number[] } | undefined {
  const names = n.shape.map((_, d) => `s${d}`);
  let view: View = { multi: n.shape.map((s, d) => (s === 1 ? lit(0) : { k: "var" as const, name: names[d]!, size: s })) };
  let cur = n;
  while (!isLoad(cur)) {
    if (!VIEW_PRIMS.has(cur.prim)) return undefined;
    const r = operandView(cur, view);
    if (r.conds && r.conds.length) return undefined;
    view = r.view;
    cur = cur.inputs[0]!;
  }
  const flat = flatOf(view, cur.shape);
  const walk = (x: Idx, s: number, coef: Map<string, number>, off: { v: number }): boolean => {
    switch (x.k) {
      case "var":
        coef.set(x.name, (coef.get(x.name) ?? 0) + s);
        return true;
      case "lit":
        off.v += x.v * s;
        return true;
      case "add":
        return walk(x.a, s, coef, off) && walk(x.b, s, coef, off);
      case "mul":
        return walk(x.a, s * x.c, coef, off);
      default:
        return false;
    }
  };
  const coef = new Map<string, number>();
  const off = { v: 0 };
  if (!walk(flat, 1, coef, off)) return undefined;
  return { base: cur, offset: off.v, strides: names.map((nm) => coef.get(nm) ?? 0) };
}
