/**
 * WGSL from the scheduler's kernel IR (src/scheduler/ir.ts): the scheduler decides fusion once
 * for every backend, and this module prints each kernel it emits. `Idx` prints as i32 arithmetic
 * over the unravelled loop variables; each `Instr` becomes a `let` (scalar.ts rules keyed by
 * primitive and dtype); `guard` becomes `select` over a clamped load. Elementwise kernels run one
 * thread per element; reductions a per-thread loop or a workgroup tree reduction with the epilogue
 * at the store; matmuls read strided operands (`offset + Σ index·stride`) in a simple loop or a
 * tiled kernel with workgroup memory, epilogue at the store. Opaque kernels (gather, scatter-add,
 * argmax, cumsum, Threefry) use the templates of kernels.ts over materialized operands.
 */
import type { DType } from "../../core/dtype.js";
import type { ReductionPrim } from "../../core/primitives.js";
import { sizeOf } from "../../core/shape.js";
import type { ElementwiseKernel, Idx, Instr, Kernel, MatmulKernel, OpaqueKernel, ReduceKernel } from "../../scheduler/ir.js";
import { bounds } from "../../scheduler/ir.js";
import { Block, Emitter, storeTyOf, tyOf, unravel } from "./codegen.js";
import type { GenOptions } from "./kernels.js";
import { BUILTINS, argmaxKernel, cumsumKernel, grid1d, mapKernel, scatterAddKernel, storeExpr } from "./kernels.js";
import { castExpr, helperCode, litOf, primExpr } from "./scalar.js";

/** A buffer a kernel binds: its element count and dtype. */
export interface Operand {
  readonly size: number;
  readonly dtype: DType;
}

/** A generated kernel: WGSL source, the kernel-input positions it binds (in order), the grid. */
export interface WgslKernel {
  readonly wgsl: string;
  /** Kernel input positions bound as `in0, in1, ...` (the output is the last binding). */
  readonly bindings: readonly number[];
  readonly groups: readonly [number, number, number];
}

/**
 * A part of a split kernel: output elements [base, base + count) (whole rows for a matmul); the
 * inputs in `local` are read at the output's own index and bound from `base` too (read at the
 * local index); inputs in `shift` are bound from that element offset (a matmul's row range of A).
 */
export interface Chunk {
  readonly base: number;
  readonly count: number;
  readonly local: ReadonlySet<number>;
  readonly shift?: ReadonlyMap<number, number>;
}

/** i32 text of an index expression; `vars` maps loop-variable names to WGSL expressions. */
export function idxWgsl(i: Idx, vars: (name: string) => string): string {
  switch (i.k) {
    case "var":
      return vars(i.name);
    case "lit":
      return i.v < 0 ? `(${i.v})` : String(i.v);
    case "add":
      return `(${idxWgsl(i.a, vars)} + ${idxWgsl(i.b, vars)})`;
    case "mul":
      return `${idxWgsl(i.a, vars)} * ${i.c < 0 ? `(${i.c})` : i.c}`;
    case "div":
      return `(${idxWgsl(i.a, vars)} / ${i.c})`;
    case "mod":
      return `(${idxWgsl(i.a, vars)} % ${i.c})`;
  }
}

/** What an SSA body needs from its template. */
interface BodyEnv {
  readonly vars: (name: string) => string;
  /** The anchor's value (reduce/matmul epilogues), as its dtype. */
  readonly acc?: string;
  /** In a chunk: the output index relative to the chunk (where `local` inputs are read). */
  readonly local?: string;
}

/** Emits the kernel of one IR kernel (inputs `in{pos}` as `operands`, output `out`). */
class IrGen {
  readonly em = new Emitter();
  constructor(
    readonly operands: readonly Operand[],
    readonly out: Operand,
    readonly opt: GenOptions,
    readonly chunk?: Chunk,
  ) {}

  /** Reads input `pos` at an i32 index expression, as its value type. */
  read(pos: number, at: string): string {
    const d = this.operands[pos]!.dtype;
    const shift = this.chunk?.shift?.get(pos);
    const v = shift ? `in${pos}[${at} - ${shift}]` : `in${pos}[${at}]`;
    if (d === "bool") return `(${v} != 0u)`;
    if (d === "float16" && this.opt.f16) return `f32(${v})`;
    return v;
  }

  /** A value stored into `out`. */
  store(v: string): string {
    return storeExpr(v, this.out.dtype, this.opt.f16);
  }

  /** Emits `instrs` as lets; returns the result's name or literal. */
  body(b: Block, instrs: readonly Instr[], env: BodyEnv): string {
    const names: string[] = [];
    const ix = (i: Idx): string => idxWgsl(i, env.vars);
    const dt = (r: number): DType => instrs[r]!.dtype;
    const lit = (r: number): number | undefined => {
      const x = instrs[r]!;
      return x.op === "const" ? x.value : undefined;
    };
    for (const i of instrs) {
      let t: string;
      switch (i.op) {
        case "load": {
          if (this.chunk?.local.has(i.input)) {
            t = this.read(i.input, env.local ?? "gi");
            break;
          }
          const size = this.operands[i.input]!.size;
          const [lo, hi] = bounds(i.index);
          let at = ix(i.index);
          // Out-of-range indices only occur under a guard (pad, concat): clamp, select discards.
          if (lo < 0 || hi > size - 1) at = `clamp(${at}, 0, ${Math.max(0, size - 1)})`;
          t = this.read(i.input, at);
          break;
        }
        case "const":
          t = litOf(i.value, i.dtype, this.em);
          break;
        case "index": {
          const x = ix(i.index);
          t = i.dtype === "int32" ? x : i.dtype === "bool" ? `(${x} != 0)` : `f32(${x})`;
          break;
        }
        case "acc":
          if (env.acc === undefined) throw new Error("webgpu: internal error: acc outside an epilogue");
          t = env.acc;
          break;
        case "unary":
          t = primExpr(this.em, i.fn, dt(i.x), i.dtype, [names[i.x]!]);
          break;
        case "binary":
          t = primExpr(this.em, i.fn, i.argDtype, i.dtype, [names[i.a]!, names[i.b]!], { lits: [lit(i.a), lit(i.b)] });
          break;
        case "where":
          t = `select(${names[i.b]!}, ${names[i.a]!}, ${names[i.c]!})`;
          break;
        case "cast":
          t = castExpr(this.em, names[i.x]!, i.from, i.dtype);
          break;
        case "shrl":
          t = primExpr(this.em, "shrl", dt(i.x), i.dtype, [names[i.x]!], { bits: i.bits });
          break;
        case "guard": {
          const conds = i.conds.map((c) => {
            const x = ix(c.idx);
            return `(${x} >= ${c.lo} && ${x} < ${c.hi})`;
          });
          t = conds.length ? `select(${names[i.otherwise]!}, ${names[i.x]!}, ${conds.join(" && ")})` : names[i.x]!;
          break;
        }
      }
      names.push(b.let(t));
    }
    return names[names.length - 1]!;
  }

  /** The complete shader. */
  finish(main: string, pre = "", wgAttr = `@workgroup_size(${this.opt.wg})`, builtins = BUILTINS): string {
    const ty = (d: DType): string => storeTyOf(d, this.opt.f16);
    const decls = this.operands.map((o, i) => `@group(0) @binding(${i}) var<storage, read> in${i}: array<${ty(o.dtype)}>;`);
    decls.push(`@group(0) @binding(${this.operands.length}) var<storage, read_write> out: array<${ty(this.out.dtype)}>;`);
    const f16 = this.opt.f16 && [...this.operands, this.out].some((o) => o.dtype === "float16");
    return [f16 ? "enable f16;" : "", helperCode(this.em.helpers), decls.join("\n"), pre, `@compute ${wgAttr}`, `fn main(${builtins}) {`, main, "}"].join("\n");
  }
}

/** Maps `o{d}`, `oi` and `r{d}` to WGSL names. */
function varsOf(o: readonly string[], oi: string, r: readonly string[] = []): (name: string) => string {
  return (name) => {
    if (name === "oi") return oi;
    const d = Number(name.slice(1));
    const v = name[0] === "o" ? o[d] : name[0] === "r" ? r[d] : undefined;
    if (v === undefined) throw new Error(`webgpu: internal error: unknown loop variable ${name}`);
    return v;
  };
}

const gidStmt = (wg: number): string => `let gi = i32((wid.y * nw.x + wid.x) * ${wg}u + lid);`;

function elementwise(g: IrGen, k: ElementwiseKernel): WgslKernel {
  const b = new Block(g.em, "  ");
  const n = g.chunk ? g.chunk.count : sizeOf(k.shape);
  b.stmt(gidStmt(g.opt.wg));
  b.stmt(`if (gi >= ${n}) { return; }`);
  // In a chunk, `gi` indexes the bound parts of the output (and local inputs); `oi` is global.
  const oi = g.chunk ? b.let(`gi + ${g.chunk.base}`) : "gi";
  const o = unravel(b, oi, k.shape);
  const v = g.body(b, k.body, { vars: varsOf(o, oi) });
  b.stmt(`out[gi] = ${g.store(v)};`);
  return { wgsl: g.finish(b.text()), bindings: k.inputs.map((_, i) => i), groups: grid1d(n, g.opt, g.opt.wg) };
}

/** The accumulator type of an anchor value and its conversion to the `acc` instruction's dtype. */
function accOf(instrs: readonly Instr[], fallback: DType): { ty: "f32" | "i32"; dtype: DType; as: (v: string) => string } {
  const acc = instrs.find((i) => i.op === "acc");
  const dtype = acc?.dtype ?? fallback;
  const ty = tyOf(dtype) === "f32" ? "f32" : "i32";
  return { ty, dtype, as: (v) => (dtype === "bool" ? `(${v} != 0)` : v) };
}

/**
 * Each reduction as the fold of its elementwise primitive from its identity (core/semantics.ts):
 * max/min through the NaN-propagating, ±0-ordering helpers for floats.
 */
const FOLD: {
  readonly [P in ReductionPrim]: { readonly init: number; readonly initI32: string; readonly comb: (float: boolean, a: string, x: string) => string };
} = {
  sum: { init: 0, initI32: "0", comb: (_f, a, x) => `${a} + ${x}` },
  prod: { init: 1, initI32: "1", comb: (_f, a, x) => `${a} * ${x}` },
  rmax: { init: -Infinity, initI32: "(-2147483647 - 1)", comb: (f, a, x) => (f ? `max_f(${a}, ${x})` : `max(${a}, ${x})`) },
  rmin: { init: Infinity, initI32: "2147483647", comb: (f, a, x) => (f ? `min_f(${a}, ${x})` : `min(${a}, ${x})`) },
};

/** Terms per block of a blocked float sum. */
const BLOCK = 64;

function reduce(g: IrGen, k: ReduceKernel): WgslKernel {
  const { em, opt } = g;
  const N = sizeOf(k.shape);
  const R = sizeOf(k.reduceShape);
  const accTy = tyOf(k.accDtype) === "f32" ? "f32" : "i32";
  const accD: DType = accTy === "f32" ? "float32" : "int32";
  if (accTy === "f32") em.helpers.add("minmax");
  const fold = FOLD[k.fn];
  const init = accTy === "f32" ? litOf(fold.init, accD, em) : fold.initI32;
  const comb = (a: string, x: string): string => fold.comb(accTy === "f32", a, x);
  const epilogue = (b: Block, o: string, acc: string): void => {
    const keep = unravel(b, o, k.shape);
    const v = g.body(b, k.epilogue, { vars: varsOf(keep, o), acc: accOf(k.epilogue, k.accDtype).as(acc) });
    b.stmt(`out[${o}] = ${g.store(v)};`);
  };
  // Float sums over many terms per thread add in blocks of BLOCK (partial sums of partial sums,
  // three levels), so the rounding error grows like 3·BLOCK·eps instead of n·eps: a 10M-element
  // sum is as accurate as the CPU's float64 accumulation to float32 rounding of the blocks.
  const blocked = k.fn === "sum" && accTy === "f32" && R >= 4 * BLOCK;
  const loop = (b: Block, o: string, start: string, step: string): void => {
    const keep = unravel(b, o, k.shape);
    if (blocked) b.stmt("var b0 = 0.0f; var b1 = 0.0f; var n0 = 0u; var n1 = 0u;");
    b.stmt(`for (var r = ${start}; r < ${R}; r += ${step}) {`);
    const c = b.child();
    const red = unravel(c, "r", k.reduceShape);
    const v = g.body(c, k.body, { vars: varsOf(keep, o, red) });
    if (blocked) {
      c.stmt(`b0 = b0 + ${castExpr(em, v, k.accDtype, accD)}; n0 = n0 + 1u;`);
      c.stmt(`if (n0 == ${BLOCK}u) { b1 = b1 + b0; b0 = 0.0f; n0 = 0u; n1 = n1 + 1u; if (n1 == ${BLOCK}u) { acc = acc + b1; b1 = 0.0f; n1 = 0u; } }`);
    } else c.stmt(`acc = ${comb("acc", castExpr(em, v, k.accDtype, accD))};`);
    b.lines.push(...c.lines, b.indent + "}");
    if (blocked) b.stmt("acc = acc + (b1 + b0);");
  };
  const b = new Block(em, "  ");
  if (R < 128 || N > 4096) {
    b.stmt(gidStmt(opt.wg));
    b.stmt(`if (gi >= ${N}) { return; }`);
    b.stmt(`var acc: ${accTy} = ${init};`);
    loop(b, "gi", "0", "1");
    epilogue(b, "gi", "acc");
    return { wgsl: g.finish(b.text()), bindings: k.inputs.map((_, i) => i), groups: grid1d(N, opt, opt.wg) };
  }
  b.stmt(`let o = i32(wid.y * nw.x + wid.x);`);
  b.stmt(`var acc: ${accTy} = ${init};`);
  b.stmt(`if (o < ${N}) {`);
  const inner = b.child();
  loop(inner, "o", "i32(lid)", `${opt.wg}`);
  b.lines.push(...inner.lines);
  b.stmt("}");
  b.stmt("sh[lid] = acc;");
  b.stmt("workgroupBarrier();");
  b.stmt(`for (var s = ${opt.wg / 2}u; s > 0u; s = s >> 1u) {`);
  b.stmt(`  if (lid < s) { sh[lid] = ${comb("sh[lid]", "sh[lid + s]")}; }`);
  b.stmt("  workgroupBarrier();");
  b.stmt("}");
  b.stmt(`if (lid == 0u && o < ${N}) {`);
  const fin = b.child();
  epilogue(fin, "o", "sh[0]");
  b.lines.push(...fin.lines, b.indent + "}");
  const pre = `var<workgroup> sh: array<${accTy}, ${opt.wg}>;`;
  return { wgsl: g.finish(b.text(), pre), bindings: k.inputs.map((_, i) => i), groups: grid1d(N, opt, 1) };
}

/** The i32 offset of a strided operand's batch `bi`. */
function batchOffset(b: Block, s: MatmulKernel["a"], bi: readonly string[]): string {
  const terms = [String(s.offset), ...bi.flatMap((x, d) => (x === "0" || s.strides[d] === 0 ? [] : [`${x} * ${s.strides[d]}`]))];
  return b.let(terms.join(" + "));
}

const term = (x: string, stride: number): string => (stride === 0 ? "0" : stride === 1 ? x : `${x} * ${stride}`);

function matmul(g: IrGen, km: MatmulKernel): WgslKernel {
  const { em, opt } = g;
  const { n: N, k: K } = km;
  const r = km.shape.length;
  // A chunk computes output rows [r0, r0 + M): a smaller matmul whose A starts r0 rows later;
  // the epilogue sees global rows and flat indices.
  const r0 = g.chunk ? g.chunk.base / N : 0;
  const M = g.chunk ? g.chunk.count / N : km.m;
  const k: MatmulKernel = g.chunk ? { ...km, m: M, shape: [...km.batch, M, N], a: { ...km.a, offset: km.a.offset + r0 * km.a.strides[r - 2]! } } : km;
  const gRow = (row: string): string => (r0 ? `(${row} + ${r0})` : row);
  const gFlat = (oi: string): string => (g.chunk ? `(${oi} + ${g.chunk.base})` : oi);
  const batch = sizeOf(k.batch);
  if (batch > opt.maxGroups) throw new Error(`webgpu: matmul batch of ${batch} is over this device's dispatch limit`);
  const acc = accOf(k.epilogue, k.dtype);
  const ty = acc.ty;
  const zero = litOf(0, ty === "f32" ? "float32" : "int32", em);
  const [ar, ac] = [k.a.strides[r - 2]!, k.a.strides[r - 1]!];
  const [br, bc] = [k.b.strides[r - 2]!, k.b.strides[r - 1]!];
  const cast = (v: string, pos: number): string => castExpr(em, v, g.operands[pos]!.dtype, ty === "f32" ? "float32" : "int32");
  const readA = (off: string, row: string, col: string): string => cast(g.read(k.a.input, `${off} + ${term(row, ar)} + ${term(col, ac)}`), k.a.input);
  const readB = (off: string, row: string, col: string): string => cast(g.read(k.b.input, `${off} + ${term(row, br)} + ${term(col, bc)}`), k.b.input);
  const b = new Block(em, "  ");
  if (M * N * K < 64 * 64 * 64) {
    // Small products: one thread per output element (no workgroup memory: fast to compile).
    const total = sizeOf(k.shape);
    b.stmt(gidStmt(opt.wg));
    b.stmt(`if (gi >= ${total}) { return; }`);
    const o = unravel(b, "gi", k.shape);
    const bi = o.slice(0, r - 2);
    const aOff = batchOffset(b, k.a, bi);
    const bOff = batchOffset(b, k.b, bi);
    b.stmt(`var acc: ${ty} = ${zero};`);
    b.stmt(`for (var p = 0; p < ${K}; p++) {`);
    b.stmt(`  acc = acc + ${readA(aOff, o[r - 2]!, "p")} * ${readB(bOff, "p", o[r - 1]!)};`);
    b.stmt("}");
    const v = g.body(b, k.epilogue, { vars: varsOf([...bi, gRow(o[r - 2]!), o[r - 1]!], gFlat("gi")), acc: acc.as("acc"), local: "gi" });
    b.stmt(`out[gi] = ${g.store(v)};`);
    return { wgsl: g.finish(b.text()), bindings: k.inputs.map((_, i) => i), groups: grid1d(total, opt, opt.wg) };
  }
  // A workgroup of TS×TS threads computes a (4·TS)×(4·TS) tile, each thread a 4×4 register block;
  // K advances in steps of TS with both operand tiles staged in workgroup memory.
  const TS = opt.maxInvocations >= 256 ? 16 : 8;
  const RB = 4;
  const BM = TS * RB;
  const BK = TS;
  b.stmt(`let li = i32(lid);`);
  b.stmt(`let tx = i32(l3.x);`);
  b.stmt(`let ty = i32(l3.y);`);
  b.stmt(`let rowBase = i32(wid.y) * ${BM};`);
  b.stmt(`let colBase = i32(wid.x) * ${BM};`);
  const bi = unravel(b, "i32(wid.z)", k.batch);
  const aOff = batchOffset(b, k.a, bi);
  const bOff = batchOffset(b, k.b, bi);
  for (let i = 0; i < RB; i++) for (let j = 0; j < RB; j++) b.stmt(`var acc${i}${j}: ${ty} = ${zero};`);
  b.stmt(`for (var t = 0; t < ${K}; t += ${BK}) {`);
  const c = b.child();
  for (let l = 0; l < RB; l++) {
    const e = c.let(`li + ${l * TS * TS}`);
    const arow = c.let(`rowBase + ${e} / ${BK}`);
    const acol = c.let(`t + ${e} % ${BK}`);
    const av = c.let(readA(aOff, `min(${arow}, ${M - 1})`, `min(${acol}, ${K - 1})`));
    c.stmt(`As[${e}] = select(${zero}, ${av}, ${arow} < ${M} && ${acol} < ${K});`);
    const brow = c.let(`t + ${e} / ${BM}`);
    const bcol = c.let(`colBase + ${e} % ${BM}`);
    const bv = c.let(readB(bOff, `min(${brow}, ${K - 1})`, `min(${bcol}, ${N - 1})`));
    c.stmt(`Bs[${e}] = select(${zero}, ${bv}, ${brow} < ${K} && ${bcol} < ${N});`);
  }
  c.stmt("workgroupBarrier();");
  c.stmt(`for (var p = 0; p < ${BK}; p++) {`);
  for (let i = 0; i < RB; i++) c.stmt(`  let a${i} = As[(ty * ${RB} + ${i}) * ${BK} + p];`);
  for (let j = 0; j < RB; j++) c.stmt(`  let b${j} = Bs[p * ${BM} + tx * ${RB} + ${j}];`);
  for (let i = 0; i < RB; i++) for (let j = 0; j < RB; j++) c.stmt(`  acc${i}${j} = acc${i}${j} + a${i} * b${j};`);
  c.stmt("}");
  c.stmt("workgroupBarrier();");
  b.lines.push(...c.lines, "  }");
  b.stmt(`let outBase = i32(wid.z) * ${M * N};`);
  for (let i = 0; i < RB; i++) {
    for (let j = 0; j < RB; j++) {
      b.stmt(`{`);
      const s = b.child();
      const row = s.let(`rowBase + ty * ${RB} + ${i}`);
      const col = s.let(`colBase + tx * ${RB} + ${j}`);
      s.stmt(`if (${row} < ${M} && ${col} < ${N}) {`);
      const e = s.child();
      const oi = e.let(`outBase + ${row} * ${N} + ${col}`);
      const v = g.body(e, k.epilogue, { vars: varsOf([...bi, gRow(row), col], gFlat(oi)), acc: acc.as(`acc${i}${j}`), local: oi });
      e.stmt(`out[${oi}] = ${g.store(v)};`);
      s.lines.push(...e.lines, s.indent + "}");
      b.lines.push(...s.lines, b.indent + "}");
    }
  }
  const pre = `var<workgroup> As: array<${ty}, ${BM * BK}>;\nvar<workgroup> Bs: array<${ty}, ${BK * BM}>;`;
  const gx = Math.ceil(N / BM);
  const gy = Math.ceil(M / BM);
  if (gx > opt.maxGroups || gy > opt.maxGroups) throw new Error(`webgpu: matmul of [${M}, ${K}] x [${K}, ${N}] is over this device's dispatch limit`);
  const builtins = "@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) l3: vec3<u32>, @builtin(local_invocation_index) lid: u32";
  return {
    wgsl: g.finish(b.text(), pre, `@workgroup_size(${TS}, ${TS})`, builtins),
    bindings: k.inputs.map((_, i) => i),
    groups: [gx, gy, Math.max(1, batch)],
  };
}

/** Opaque primitives over materialized operands: the templates of kernels.ts. */
function opaque(k: OpaqueKernel, opt: GenOptions): WgslKernel {
  const node = k.node;
  const spec = (() => {
    switch (node.prim) {
      case "argmax":
        return argmaxKernel(node, opt);
      case "cumsum":
        return cumsumKernel(node, opt);
      case "scatterAdd":
        return scatterAddKernel(node, opt);
      case "gather":
      case "threefry":
        return mapKernel(node, opt);
      default:
        throw new Error(`webgpu: no kernel for the primitive "${k.prim}"`);
    }
  })();
  return { wgsl: spec.wgsl, bindings: spec.inputs.map((n) => node.inputs.indexOf(n)), groups: spec.groups };
}

/**
 * The WGSL kernel of one kernel of the IR. `operands` are the buffers of `k.inputs` (by position)
 * and `out` the buffer written; `chunk` selects a part of a split elementwise or matmul kernel.
 */
export function kernelWgsl(k: Kernel, operands: readonly Operand[], out: Operand, opt: GenOptions, chunk?: Chunk): WgslKernel {
  switch (k.kind) {
    case "elementwise":
      return elementwise(new IrGen(operands, out, opt, chunk), k);
    case "reduce":
      return reduce(new IrGen(operands, out, opt), k);
    case "matmul":
      return matmul(new IrGen(operands, out, opt, chunk), k);
    case "opaque":
      return opaque(k, opt);
  }
}
