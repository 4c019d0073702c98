/**
 * The kernel IR: the only thing backends see of a schedule. Backend-neutral (the CPU backend
 * emits JS from it, a WebGPU backend emits WGSL from the same values) and fully readonly.
 *
 * - `Idx`: integer index arithmetic over loop variables (add, multiply/divide/modulo by a
 *   constant), simplified on construction using the variables' ranges. Movement ops become Idx.
 * - `Instr`: a per-element SSA program (refs are positions in the list, the last is the result).
 * - `Kernel`: elementwise, reduce (body + epilogue), matmul (strided operands + epilogue) or
 *   opaque (a primitive run as a whole on materialized operands: gather, scatter, scan, ...).
 */
import type { DType } from "../core/dtype.js";
import type { BinaryPrim, Primitive, ReducePrim, UnaryPrim } from "../core/primitives.js";
import type { Node } from "../core/node.js";

/** Integer index expression. `var` ranges over [0, size). */
export type Idx =
  /** A loop variable; `lo` (default 0) narrows its range to [lo, size) where a guard holds. */
  | { readonly k: "var"; readonly name: string; readonly size: number; readonly lo?: number }
  | { readonly k: "lit"; readonly v: number }
  | { readonly k: "add"; readonly a: Idx; readonly b: Idx }
  | { readonly k: "mul"; readonly a: Idx; readonly c: number }
  | { readonly k: "div"; readonly a: Idx; readonly c: number }
  | { readonly k: "mod"; readonly a: Idx; readonly c: number };

/** `lo <= idx < hi`. */
export interface Cond {
  readonly idx: Idx;
  readonly lo: number;
  readonly hi: number;
}

/** One SSA instruction of a kernel body (operands are earlier positions). */
export type Instr =
  | { readonly op: "load"; readonly input: number; readonly index: Idx; readonly dtype: DType }
  | { readonly op: "const"; readonly value: number; readonly dtype: DType }
  | { readonly op: "index"; readonly index: Idx; readonly dtype: DType }
  | { readonly op: "acc"; readonly dtype: DType }
  | { readonly op: "unary"; readonly fn: UnaryPrim; readonly x: number; readonly dtype: DType }
  | { readonly op: "binary"; readonly fn: BinaryPrim; readonly a: number; readonly b: number; readonly dtype: DType; readonly argDtype: DType }
  | { readonly op: "where"; readonly c: number; readonly a: number; readonly b: number; readonly dtype: DType }
  | { readonly op: "cast"; readonly x: number; readonly dtype: DType; readonly from: DType }
  | { readonly op: "shrl"; readonly x: number; readonly bits: number; readonly dtype: DType }
  /** `conds all hold ? x : otherwise` (pad, concat); backends may evaluate x lazily. */
  | { readonly op: "guard"; readonly conds: readonly Cond[]; readonly x: number; readonly otherwise: number; readonly dtype: DType };

/** A strided operand of a matmul: element (batch..., row, col) at offset + Σ index·stride. */
export interface StridedOperand {
  readonly input: number;
  readonly offset: number;
  /** Strides for [...batch, row, col]. */
  readonly strides: readonly number[];
}

interface KernelBase {
  /** Buffer slots read by the kernel (positions are the `input` numbers of loads). */
  readonly inputs: readonly number[];
  /** Buffer slot written. */
  readonly output: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Graph primitives fused into this kernel (for `lower().kernels`). */
  readonly ops: readonly string[];
}

/** Loop variables `o0..o{r-1}` over `shape`; writes `body`'s result at each element. */
export interface ElementwiseKernel extends KernelBase {
  readonly kind: "elementwise";
  readonly body: readonly Instr[];
}

/** Loops `o*` over `shape` (outer) and `r*` over `reduceShape` (inner), combining with `fn`. */
export interface ReduceKernel extends KernelBase {
  readonly kind: "reduce";
  readonly fn: ReducePrim;
  readonly reduceShape: readonly number[];
  readonly accDtype: DType;
  readonly body: readonly Instr[];
  /** Applied to `acc` (the reduced value) at each output element. */
  readonly epilogue: readonly Instr[];
}

/** out[...b, i, j] = epilogue(Σ_p a[...b, i, p] · b[...b, p, j]). */
export interface MatmulKernel extends KernelBase {
  readonly kind: "matmul";
  readonly batch: readonly number[];
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly a: StridedOperand;
  readonly b: StridedOperand;
  readonly epilogue: readonly Instr[];
}

/** A primitive evaluated whole on materialized (contiguous) operands. */
export interface OpaqueKernel extends KernelBase {
  readonly kind: "opaque";
  readonly prim: Primitive;
  /** The original node (params, operand shapes); opaque kernels are backend-interpreted. */
  readonly node: Node;
  /** For multi-output calls (scan): all output slots, by output index. */
  readonly outputs?: readonly (number | undefined)[];
}

/** A kernel. */
export type Kernel = ElementwiseKernel | ReduceKernel | MatmulKernel | OpaqueKernel;

/** A buffer slot of a program. */
export type Slot =
  | { readonly kind: "input"; readonly index: number; readonly size: number; readonly dtype: DType }
  | { readonly kind: "const"; readonly node: Node; readonly size: number; readonly dtype: DType }
  | { readonly kind: "temp"; readonly size: number; readonly dtype: DType; /** pool buffer shared by slots with disjoint lifetimes */ pool: number }
  | { readonly kind: "output"; readonly size: number; readonly dtype: DType };

/** A scheduled program: kernels in order over buffer slots. */
export interface Program {
  readonly slots: readonly Slot[];
  readonly kernels: readonly Kernel[];
  /** Slot of each graph output. */
  readonly outputs: readonly number[];
  /** Number of pool buffers and their sizes (elements) and dtypes. */
  readonly pool: readonly { readonly size: number; readonly dtype: DType }[];
}

// ---- Idx construction with simplification ------------------------------------------------------

/** Inclusive bounds of an index expression. */
export function bounds(i: Idx): readonly [number, number] {
  switch (i.k) {
    case "var":
      return [i.lo ?? 0, i.size - 1];
    case "lit":
      return [i.v, i.v];
    case "add": {
      const [a, b] = [bounds(i.a), bounds(i.b)];
      return [a[0] + b[0], a[1] + b[1]];
    }
    case "mul": {
      const [lo, hi] = bounds(i.a);
      return i.c >= 0 ? [lo * i.c, hi * i.c] : [hi * i.c, lo * i.c];
    }
    case "div": {
      const [lo, hi] = bounds(i.a);
      return [Math.floor(lo / i.c), Math.floor(hi / i.c)];
    }
    case "mod": {
      const [lo, hi] = bounds(i.a);
      return lo >= 0 && hi < i.c ? [lo, hi] : [0, i.c - 1];
    }
  }
}

/** A literal. */
export const lit = (v: number): Idx => ({ k: "lit", v });
/** A loop variable ranging over [0, size). */
export const ivar = (name: string, size: number): Idx => (size === 1 ? lit(0) : { k: "var", name, size });

/** a + b. */
export function iadd(a: Idx, b: Idx): Idx {
  if (a.k === "lit" && b.k === "lit") return lit(a.v + b.v);
  if (a.k === "lit" && a.v === 0) return b;
  if (b.k === "lit" && b.v === 0) return a;
  if (a.k === "lit") return iadd(b, a);
  if (a.k === "add" && a.b.k === "lit" && b.k === "lit") return iadd(a.a, lit(a.b.v + b.v));
  if (a.k === "add" && a.b.k === "lit") return iadd(iadd(a.a, b), a.b);
  return { k: "add", a, b };
}

/** a * c. */
export function imul(a: Idx, c: number): Idx {
  if (c === 0) return lit(0);
  if (c === 1) return a;
  if (a.k === "lit") return lit(a.v * c);
  if (a.k === "mul") return imul(a.a, a.c * c);
  if (a.k === "add") return iadd(imul(a.a, c), imul(a.b, c));
  return { k: "mul", a, c };
}

/** Splits a sum into terms divisible by c and the rest. */
function splitTerms(a: Idx, c: number): { q: Idx; r: Idx } {
  if (a.k === "add") {
    const x = splitTerms(a.a, c);
    const y = splitTerms(a.b, c);
    return { q: iadd(x.q, y.q), r: iadd(x.r, y.r) };
  }
  if (a.k === "mul" && a.c % c === 0) return { q: imul(a.a, a.c / c), r: lit(0) };
  if (a.k === "lit" && a.v % c === 0) return { q: lit(a.v / c), r: lit(0) };
  return { q: lit(0), r: a };
}

/** floor(a / c) for a >= 0. */
export function idiv(a: Idx, c: number): Idx {
  if (c === 1) return a;
  const [lo, hi] = bounds(a);
  if (lo >= 0 && hi < c) return lit(0);
  if (a.k === "lit") return lit(Math.floor(a.v / c));
  const { q, r } = splitTerms(a, c);
  const [rlo, rhi] = bounds(r);
  if (!(q.k === "lit" && q.v === 0) && rlo >= 0 && rhi < c) return q;
  // floor((c·q + r) / c) = q + floor(r / c) for r >= 0: (o1·50176 + o2) / 784 is o1·64 + o2 / 784.
  if (!(q.k === "lit" && q.v === 0) && rlo >= 0) return iadd(q, idiv(r, c));
  if (a.k === "div") return idiv(a.a, a.c * c);
  const mixed = mixedRadix(a, c);
  if (mixed) return idiv(mixed.x, c / mixed.m);
  return { k: "div", a, c };
}

/** a mod c for a >= 0. */
export function imod(a: Idx, c: number): Idx {
  if (c === 1) return lit(0);
  const [lo, hi] = bounds(a);
  if (lo >= 0 && hi < c) return a;
  if (a.k === "lit") return lit(a.v % c);
  const { q, r } = splitTerms(a, c);
  if (!(q.k === "lit" && q.v === 0) && bounds(r)[0] >= 0) return imod(r, c);
  if (a.k === "mod" && a.c % c === 0) return imod(a.a, c);
  const mixed = mixedRadix(a, c);
  if (mixed) return iadd(imul(imod(mixed.x, c / mixed.m), mixed.m), mixed.r);
  return { k: "mod", a, c };
}

/** a = x·m + r with 0 <= r < m and m dividing c (a mixed-radix digit split), or undefined. */
function mixedRadix(a: Idx, c: number): { x: Idx; m: number; r: Idx } | undefined {
  if (a.k !== "add") return undefined;
  for (const [t, r] of [
    [a.a, a.b],
    [a.b, a.a],
  ] as const) {
    if (t.k !== "mul" || t.c <= 1 || c % t.c !== 0) continue;
    const [lo, hi] = bounds(r);
    if (lo >= 0 && hi < t.c && bounds(t.a)[0] >= 0) return { x: t.a, m: t.c, r };
  }
  return undefined;
}

/** `i` with variables replaced (re-simplified, so mixed-radix digits cancel their div/mod). */
export function substIdx(i: Idx, env: ReadonlyMap<string, Idx>): Idx {
  switch (i.k) {
    case "var":
      return env.get(i.name) ?? i;
    case "lit":
      return i;
    case "add":
      return iadd(substIdx(i.a, env), substIdx(i.b, env));
    case "mul":
      return imul(substIdx(i.a, env), i.c);
    case "div":
      return idiv(substIdx(i.a, env), i.c);
    case "mod":
      return imod(substIdx(i.a, env), i.c);
  }
}

/**
 * The variables of `conds`' indices narrowed to the ranges where all conds hold (a cond on
 * `v + c` bounds v; other conds narrow nothing), as a substitution for `substIdx`. Index
 * arithmetic under a guard (pad) then simplifies with the narrower ranges.
 */
export function narrowed(conds: readonly Cond[]): Map<string, Idx> {
  const env = new Map<string, Idx>();
  for (const c of conds) {
    const a = affine(c.idx);
    if (!a || a.coef.size !== 1) continue;
    const [name, k] = [...a.coef][0]!;
    if (k !== 1) continue;
    const v = findVar(c.idx, name);
    if (!v) continue;
    const cur = env.get(name) ?? v;
    const [lo0, hi0] = bounds(cur);
    const lo = Math.max(lo0, c.lo - a.offset);
    const hi = Math.min(hi0, c.hi - 1 - a.offset);
    if (lo > hi) continue; // never holds: the guard folds to its fill value anyway
    env.set(name, lo === hi ? lit(lo) : { k: "var", name, size: hi + 1, ...(lo > 0 ? { lo } : {}) });
  }
  return env;
}

function findVar(i: Idx, name: string): Extract<Idx, { k: "var" }> | undefined {
  switch (i.k) {
    case "var":
      return i.name === name ? i : undefined;
    case "lit":
      return undefined;
    case "add":
      return findVar(i.a, name) ?? findVar(i.b, name);
    default:
      return findVar(i.a, name);
  }
}

/** A key that tells apart equal texts over differently narrowed variables (memo keys). */
export function idxKey(i: Idx): string {
  switch (i.k) {
    case "var":
      return `${i.name}[${i.lo ?? 0},${i.size})`;
    case "lit":
      return String(i.v);
    case "add":
      return `(${idxKey(i.a)} + ${idxKey(i.b)})`;
    case "mul":
      return `${idxKey(i.a)} * ${i.c}`;
    case "div":
      return `(${idxKey(i.a)} / ${i.c})`;
    case "mod":
      return `(${idxKey(i.a)} % ${i.c})`;
  }
}

/** A canonical text form (also valid JS and WGSL integer arithmetic). */
export function idxText(i: Idx): string {
  switch (i.k) {
    case "var":
      return i.name;
    case "lit":
      return String(i.v);
    case "add":
      return `(${idxText(i.a)} + ${idxText(i.b)})`;
    case "mul":
      return `${idxText(i.a)} * ${i.c}`;
    case "div":
      return `((${idxText(i.a)} / ${i.c}) | 0)`;
    case "mod":
      return `(${idxText(i.a)} % ${i.c})`;
  }
}

/** Affine coefficients of `i` in the given variables, or undefined when not affine. */
export function affine(i: Idx): { readonly offset: number; readonly coef: ReadonlyMap<string, number> } | undefined {
  const coef = new Map<string, number>();
  let offset = 0;
  const walk = (x: Idx, s: number): boolean => {
    switch (x.k) {
      case "var":
        coef.set(x.name, (coef.get(x.name) ?? 0) + s);
        return true;
      case "lit":
        offset += x.v * s;
        return true;
      case "add":
        return walk(x.a, s) && walk(x.b, s);
      case "mul":
        return walk(x.a, s * x.c);
      default:
        return false;
    }
  };
  return walk(i, 1) ? { offset, coef } : undefined;
}
