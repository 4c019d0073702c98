/**
 * WGSL expression generation: an emitter of `let` statements with per-scope memoization, and
 * `load(node, index)`, which produces the value of any node at a multi-index. Materialized nodes
 * read their storage binding; views (reshape, permute, broadcast, pad, slice, flip) fold into the
 * index arithmetic; constants, iota, elementwise ops and gather chosen for fusion are computed
 * inline. Values are f32, i32 or bool (bool is stored as u32).
 */
import type { DType } from "../../core/dtype.js";
import type { Node } from "../../core/node.js";
import { sizeOf, stridesOf } from "../../core/shape.js";
import type { Shape } from "../../core/shape.js";
import { elemExpr, litOf } from "./scalar.js";

/** WGSL value type of a dtype. */
export type Ty = "f32" | "i32" | "bool";

/** The WGSL value type of a dtype (float16 is computed and stored as f32). */
export function tyOf(d: DType): Ty {
  return d === "int32" ? "i32" : d === "bool" ? "bool" : "f32";
}
/** The WGSL storage element type of a dtype (float16 is f16 where the device has shader-f16). */
export function storeTyOf(d: DType, f16 = false): "f32" | "f16" | "i32" | "u32" {
  return d === "int32" ? "i32" : d === "bool" ? "u32" : d === "float16" && f16 ? "f16" : "f32";
}

/** Shared state of one kernel: its input bindings, helper functions and fresh names. */
export class Emitter {
  /** Materialized nodes read by the kernel, in binding order (`in0`, `in1`, ...). */
  readonly bindings: Node[] = [];
  /** Names of helper functions the kernel needs (see scalar.ts). */
  readonly helpers = new Set<string>();
  #next = 0;
  constructor(readonly materialized: (n: Node) => boolean) {}

  fresh(prefix = "v"): string {
    return `${prefix}${this.#next++}`;
  }

  /** The binding name of a materialized node. */
  binding(n: Node): string {
    let i = this.bindings.indexOf(n);
    if (i < 0) i = this.bindings.push(n) - 1;
    return `in${i}`;
  }

  /** Storage declarations: inputs `in{i}` then `out` at the last binding. */
  declarations(out: DType): string {
    const lines = this.bindings.map((n, i) => `@group(0) @binding(${i}) var<storage, read> in${i}: array<${storeTyOf(n.dtype)}>;`);
    lines.push(`@group(0) @binding(${this.bindings.length}) var<storage, read_write> out: array<${storeTyOf(out)}>;`);
    return lines.join("\n");
  }
}

/** A scope of statements (a function body or a loop body) with memoized loads. */
export class Block {
  readonly lines: string[] = [];
  readonly #cache = new Map<string, string>();
  constructor(
    readonly em: Emitter,
    readonly indent: string,
    readonly parent?: Block,
  ) {}

  /** A nested scope (loop body): sees this scope's memoized values. */
  child(): Block {
    return new Block(this.em, this.indent + "  ", this);
  }
  /** Emits a raw statement. */
  stmt(s: string): void {
    this.lines.push(this.indent + s);
  }
  /** Emits `let v = expr;` and returns `v` (simple names and literals are returned as is). */
  let(expr: string): string {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(expr) || /^-?[0-9]+$/.test(expr)) return expr;
    const v = this.em.fresh();
    this.stmt(`let ${v} = ${expr};`);
    return v;
  }
  lookup(key: string): string | undefined {
    return this.#cache.get(key) ?? this.parent?.lookup(key);
  }
  remember(key: string, v: string): void {
    this.#cache.set(key, v);
  }
  text(): string {
    return this.lines.join("\n");
  }
}

/** Row-major flat index of a multi-index (i32 expression). */
export function ravel(idx: readonly string[], shape: Shape): string {
  const st = stridesOf(shape);
  const terms: string[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1 || idx[d] === "0") continue;
    terms.push(st[d] === 1 ? idx[d]! : `${idx[d]} * ${st[d]}`);
  }
  return terms.length ? terms.join(" + ") : "0";
}

/** The multi-index of a flat index into `shape` (one `let` per dimension). */
export function unravel(b: Block, flat: string, shape: Shape): string[] {
  if (sizeOf(shape) === 0) return shape.map(() => "0"); // unreachable code: avoid `% 0`
  const st = stridesOf(shape);
  const f = b.let(flat);
  return shape.map((n, d) => {
    if (n === 1) return "0";
    const q = st[d] === 1 ? f : `(${f} / ${st[d]})`;
    return b.let(d === 0 ? q : `${q} % ${n}`);
  });
}

function clampIndex(b: Block, v: string, n: number): string {
  // normIndex of the reference: negative indices count from the end, then clamp into range.
  return b.let(`clamp(select(${v}, ${v} + ${n}, ${v} < 0), 0, ${Math.max(0, n - 1)})`);
}

/** Reads a materialized node's element at a flat index, as its value type. */
function readBinding(b: Block, n: Node, flat: string): string {
  const name = b.em.binding(n);
  return n.dtype === "bool" ? `(${name}[${flat}] != 0u)` : `${name}[${flat}]`;
}

/** The input multi-index of a view node for an output multi-index (undefined if not a view). */
function viewIndex(b: Block, n: Node, idx: readonly string[]): string[] | undefined {
  const src = n.inputs[0]!;
  switch (n.prim) {
    case "stopGradient":
    case "barrier":
      return [...idx];
    case "reshape":
      return sizeOf(src.shape) <= 1 ? src.shape.map(() => "0") : unravel(b, ravel(idx, n.shape), src.shape);
    case "permute": {
      const perm = (n as Node<"permute">).params.perm;
      const out = new Array<string>(perm.length);
      perm.forEach((p, d) => (out[p] = idx[d]!));
      return out;
    }
    case "broadcast":
      return src.shape.map((s, d) => (s === 1 ? "0" : idx[d]!));
    case "slice": {
      const { starts, steps } = (n as Node<"slice">).params;
      return idx.map((i, d) => (starts[d] === 0 && steps[d] === 1 ? i : b.let(`${starts[d]} + ${i} * ${steps[d]}`)));
    }
    case "flip": {
      const axes = (n as Node<"flip">).params.axes;
      return idx.map((i, d) => (axes.includes(d) && n.shape[d]! > 1 ? b.let(`${n.shape[d]! - 1} - ${i}`) : i));
    }
    default:
      return undefined;
  }
}

/**
 * The value of node `n` at multi-index `idx` (WGSL expressions, one per dimension of n.shape).
 * With `root`, a materialized `n` is computed rather than read (it is the kernel's output).
 */
export function load(b: Block, n: Node, idx: readonly string[], root = false): string {
  if (n.prim === "const") return litOf((n as Node<"const">).params.value, n.dtype, b.em);
  const key = `${n.id}|${idx.join(",")}|${root ? 1 : 0}`;
  const hit = b.lookup(key);
  if (hit) return hit;
  const v = b.let(compute(b, n, idx, root));
  b.remember(key, v);
  return v;
}

function compute(b: Block, n: Node, idx: readonly string[], root: boolean): string {
  if (!root && b.em.materialized(n)) return readBinding(b, n, b.let(ravel(idx, n.shape)));
  const vi = viewIndex(b, n, idx);
  if (vi) return load(b, n.inputs[0]!, vi);
  switch (n.prim) {
    case "iota": {
      const i = idx[(n as Node<"iota">).params.axis]!;
      return n.dtype === "int32" ? i : n.dtype === "bool" ? `(${i} != 0)` : `f32(${i})`;
    }
    case "pad": {
      const p = (n as Node<"pad">).params;
      const src = n.inputs[0]!;
      const conds: string[] = [];
      const inner = idx.map((i, d) => {
        const [lo] = p.widths[d]!;
        if (p.widths[d]![0] === 0 && p.widths[d]![1] === 0) return i;
        conds.push(`(${i} >= ${lo} && ${i} < ${lo + src.shape[d]!})`);
        // Clamped so the read stays in bounds; select() discards it outside the data.
        return b.let(`clamp(${i} - ${lo}, 0, ${Math.max(0, src.shape[d]! - 1)})`);
      });
      const val = load(b, src, inner);
      if (!conds.length) return val;
      return `select(${litOf(p.value, n.dtype, b.em)}, ${val}, ${conds.join(" && ")})`;
    }
    case "gather": {
      const { axis, batchDims: bd } = (n as Node<"gather">).params;
      const [x, ind] = n.inputs as [Node, Node];
      const ni = ind.shape.length - bd;
      const ii = [...idx.slice(0, bd), ...idx.slice(axis, axis + ni)];
      const k = clampIndex(b, load(b, ind, ii), x.shape[axis]!);
      const xi = [...idx.slice(0, axis), k, ...idx.slice(axis + ni)];
      return load(b, x, xi);
    }
    default: {
      const args = n.inputs.map((i) => load(b, i, idx));
      return elemExpr(b.em, n, args);
    }
  }
}

/** Whether a primitive can be computed inline by `load` (elementwise, iota, gather, views). */
export function isInlinable(n: Node): boolean {
  switch (n.prim) {
    case "sum":
    case "rmax":
    case "rmin":
    case "prod":
    case "argmax":
    case "cumsum":
    case "matmul":
    case "scatterAdd":
    case "scan":
    case "customVjp":
    case "customVjpLinear":
    case "checkpoint":
    case "buffer":
    case "input":
      return false;
    default:
      return true;
  }
}

/** Whether a node is a pure view (folds into index arithmetic, computes nothing). */
export function isView(n: Node): boolean {
  return ["reshape", "permute", "broadcast", "slice", "flip", "pad", "stopGradient", "barrier"].includes(n.prim);
}
