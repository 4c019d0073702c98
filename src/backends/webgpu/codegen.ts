/**
 * WGSL expression building blocks: an emitter of `let` statements with per-scope memoization,
 * index (un)ravelling, and `load(node, index)` for the opaque-kernel templates (kernels.ts), which
 * reads an operand's binding or computes the kernel's own gather/Threefry node. Values are f32,
 * i32 or bool (bool is stored as u32; float16 is computed as f32, stored as f16 where supported).
 */
import type { DType } from "../../core/dtype.js";
import type { Node } from "../../core/node.js";
import { sizeOf, stridesOf } from "../../core/shape.js";
import type { Shape } from "../../core/shape.js";
import { elemExpr } from "./scalar.js";

/** WGSL value type of a dtype. */
export type Ty = "f32" | "i32" | "bool";

/** The WGSL value type of a dtype (float16 is computed as f32). */
export function tyOf(d: DType): Ty {
  return d === "int32" ? "i32" : d === "bool" ? "bool" : "f32";
}
/** The WGSL storage element type of a dtype (float16 is f16 where the device has shader-f16). */
export function storeTyOf(d: DType, f16 = false): "f32" | "f16" | "i32" | "u32" {
  return d === "int32" ? "i32" : d === "bool" ? "u32" : d === "float16" && f16 ? "f16" : "f32";
}

/** Shared state of one kernel: its input bindings, helper functions and fresh names. */
export class Emitter {
  /** Operand nodes read by the kernel, in binding order (`in0`, `in1`, ...). */
  readonly bindings: Node[] = [];
  /** Names of helper functions the kernel needs (see scalar.ts). */
  readonly helpers = new Set<string>();
  #next = 0;
  /** @param f16 float16 buffers hold f16 (the device has shader-f16). */
  constructor(readonly f16 = false) {}

  fresh(prefix = "v"): string {
    return `${prefix}${this.#next++}`;
  }

  /** The binding name of an operand node. */
  binding(n: Node): string {
    let i = this.bindings.indexOf(n);
    if (i < 0) i = this.bindings.push(n) - 1;
    return `in${i}`;
  }

  /** Storage declarations: inputs `in{i}` then `out` at the last binding. */
  declarations(out: DType): string {
    const lines = this.bindings.map((n, i) => `@group(0) @binding(${i}) var<storage, read> in${i}: array<${storeTyOf(n.dtype, this.f16)}>;`);
    lines.push(`@group(0) @binding(${this.bindings.length}) var<storage, read_write> out: array<${storeTyOf(out, this.f16)}>;`);
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

/** Reads an operand's element at a flat index, as its value type. */
function readBinding(b: Block, n: Node, flat: string): string {
  const name = b.em.binding(n);
  if (n.dtype === "bool") return `(${name}[${flat}] != 0u)`;
  return n.dtype === "float16" && b.em.f16 ? `f32(${name}[${flat}])` : `${name}[${flat}]`;
}

/**
 * The value of node `n` at multi-index `idx` (WGSL expressions, one per dimension of n.shape):
 * an operand (materialized, contiguous) is read from its binding; with `root`, the kernel's own
 * node (gather, Threefry) is computed from its operands.
 */
export function load(b: Block, n: Node, idx: readonly string[], root = false): string {
  const key = `${n.id}|${idx.join(",")}|${root ? 1 : 0}`;
  const hit = b.lookup(key);
  if (hit) return hit;
  const v = b.let(root ? compute(b, n, idx) : readBinding(b, n, b.let(ravel(idx, n.shape))));
  b.remember(key, v);
  return v;
}

function compute(b: Block, n: Node, idx: readonly string[]): string {
  if (n.prim === "gather") {
    const { axis, batchDims: bd } = n.params;
    const [x, ind] = n.inputs as [Node, Node];
    const ni = ind.shape.length - bd;
    const ii = [...idx.slice(0, bd), ...idx.slice(axis, axis + ni)];
    const k = clampIndex(b, load(b, ind, ii), x.shape[axis]!);
    const xi = [...idx.slice(0, axis), k, ...idx.slice(axis + ni)];
    return load(b, x, xi);
  }
  return elemExpr(
    b.em,
    n,
    n.inputs.map((i) => load(b, i, idx)),
  );
}
