/**
 * Multi-output elementwise groups of the CPU executor: float32 elementwise kernels of one size
 * whose loads are all flat (element i of an operand of that size) or one scalar element, where
 * later kernels may read earlier ones' outputs, run as one pass over the elements that writes
 * every output the rest of the program needs. An optimizer update (Adam: the first moment, the
 * second moment and the parameter, three kernels per parameter) becomes one loop per parameter
 * that reads the gradient, the moments and the parameter once; moments feed the parameter update
 * from registers instead of memory. Values are exactly those of the separate kernels: every
 * operation is rounded to float32 as in the JS kernels (codegen.ts), and a value one kernel
 * hands another was stored as float32 there too.
 *
 * The group runs where its last member was scheduled; `fusedGroups` checks that nothing the
 * members read is overwritten before then (pool buffers shared by slots with disjoint
 * lifetimes) and that no kernel in between reads a member's output.
 */
import type { ElementwiseKernel, Instr, Kernel, Program } from "../../scheduler/ir.js";
import { affine } from "../../scheduler/ir.js";
import { powC } from "../../core/semantics-math.js";
import { fexp, ftanh, jsNumber } from "./codegen.js";
import type { SimdPlan } from "./simd.js";

/** A fused group: its kernels (in schedule order) and its JS runner over the executor's buffers. */
export interface FusedGroup {
  readonly members: readonly number[];
  /** Compiles the one-loop JS runner (the executor runs big float groups as a Wasm SIMD group instead). */
  js(): (bufs: readonly ArrayLike<number>[]) => void;
}

/** Smallest group size (elements) worth fusing: below, kernel calls cost more than the loop. */
const MIN_ELEMENTS = 1;
/** Most kernels in one group. */
const MAX_MEMBERS = 16;

let enabled = true;
/** Turns fused groups off (tests compare against the separate kernels); returns the previous setting. */
export function setFusedGroups(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}
/** Fused groups compiled so far: as one Wasm SIMD group, as one JS loop, and their kernels (tests, diagnostics). */
export const fusedStats = { simd: 0, js: 0, kernels: 0 };

type Load = { readonly slot: number; readonly flat: boolean; readonly off: number };

const UNARY: Partial<Record<string, (x: string) => string>> = {
  neg: (x) => `-${x}`,
  exp: (x) => `fr(fexp(${x}))`,
  tanh: (x) => `fr(ftanh(${x}))`,
  log: (x) => `fr(Math.log(${x}))`,
  sqrt: (x) => `fr(Math.sqrt(${x}))`,
  expm1: (x) => `fr(Math.expm1(${x}))`,
  log1p: (x) => `fr(Math.log1p(${x}))`,
};
const BINARY: Partial<Record<string, (a: string, b: string) => string>> = {
  add: (a, b) => `fr(${a} + ${b})`,
  mul: (a, b) => `fr(${a} * ${b})`,
  div: (a, b) => `fr(${a} / ${b})`,
  pow: (a, b) => `fr(powC(${a}, ${b}))`,
  max: (a, b) => `Math.max(${a}, ${b})`,
  min: (a, b) => `Math.min(${a}, ${b})`,
  eq: (a, b) => `(${a} === ${b} ? 1 : 0)`,
  ne: (a, b) => `(${a} !== ${b} ? 1 : 0)`,
  lt: (a, b) => `(${a} < ${b} ? 1 : 0)`,
  le: (a, b) => `(${a} <= ${b} ? 1 : 0)`,
};

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Strides of a kernel's output variables (`o<d>` for dims > 1) and its element count. */
function outStrides(k: Kernel): { strides: Map<string, number>; n: number } {
  const strides = new Map<string, number>();
  let s = 1;
  for (let d = k.shape.length - 1; d >= 0; d--) {
    if (k.shape[d]! > 1) strides.set(`o${d}`, s);
    s *= k.shape[d]!;
  }
  return { strides, n: s };
}

/** How a load of an elementwise kernel indexes its operand: element i (flat), one element (its offset), or otherwise. */
function loadKind(ins: Extract<Instr, { op: "load" }>, strides: ReadonlyMap<string, number>): { flat: true } | { flat: false; off: number } | undefined {
  const a = affine(ins.index);
  if (!a) return undefined;
  const used = [...a.coef].filter(([name, c]) => c !== 0 && (name === "oi" || strides.has(name)));
  if (used.length !== [...a.coef].filter(([, c]) => c !== 0).length) return undefined; // an unknown variable
  if (used.length === 0) return { flat: false, off: a.offset };
  const flat =
    a.offset === 0 &&
    (used.length === 1 && used[0]![0] === "oi" ? used[0]![1] === 1 : used.every(([name, c]) => strides.get(name) === c) && used.length === strides.size);
  return flat ? { flat: true } : undefined;
}

/**
 * Whether every load of `slot` in the elementwise kernel `k` (or in the epilogue of the matmul
 * `k`, which reads it nowhere else) reads element i at output element i, so `k` may write its
 * output over that operand in place.
 */
export function readsFlat(k: Kernel, slot: number): boolean {
  // A matmul's epilogue runs over the finished product; its runner keeps a copy of an operand the
  // product is written over (see matmul-runners.ts). Its A and B are not read flat.
  const body = k.kind === "elementwise" ? k.body : k.kind === "matmul" && k.inputs[k.a.input] !== slot && k.inputs[k.b.input] !== slot ? k.epilogue : undefined;
  if (!body) return false;
  const { strides } = outStrides(k);
  return body.every((ins) => ins.op !== "load" || k.inputs[ins.input] !== slot || loadKind(ins, strides)?.flat === true);
}

/** The loads of an eligible kernel (flat or scalar, float32 operands), or undefined. */
function loadsOf(k: Kernel, slots: Program["slots"]): Load[] | undefined {
  if (k.kind !== "elementwise" || k.dtype !== "float32" || slots[k.output]!.dtype !== "float32") return undefined;
  const { strides, n } = outStrides(k);
  const loads: Load[] = [];
  for (const ins of k.body) {
    if (ins.op === "load") {
      const slot = k.inputs[ins.input]!;
      if (slots[slot]!.dtype !== "float32" || ins.dtype !== "float32") return undefined;
      const kind = loadKind(ins, strides);
      if (!kind) return undefined;
      if (!kind.flat) {
        if (kind.off < 0 || kind.off >= slots[slot]!.size) return undefined;
        loads.push({ slot, flat: false, off: kind.off });
        continue;
      }
      if (slots[slot]!.size < n) return undefined;
      loads.push({ slot, flat: true, off: 0 });
      continue;
    }
    if (ins.op === "const" || ins.op === "where") continue;
    if (ins.op === "unary" && UNARY[ins.fn] && ins.dtype === "float32") continue;
    if (ins.op === "binary" && BINARY[ins.fn] && ins.argDtype === "float32") continue;
    if (ins.op === "cast" && ins.from === "bool" && ins.dtype === "float32") continue;
    return undefined;
  }
  return loads;
}

/** Slots a kernel writes. */
const written = (k: Kernel): readonly number[] => (k.kind === "opaque" && k.outputs ? k.outputs.filter((x): x is number => x !== undefined) : [k.output]);

/**
 * Finds the fused groups of a program: maximal runs (in schedule order, other kernels allowed in
 * between) of eligible kernels of one size with at least two members, each after the first
 * reading an earlier one's output or an array an earlier one reads whole (SGD's momentum and
 * the step it feeds both read the gradient). `taken(i)` excludes kernels that run another way
 * (matmul producers and kept products).
 */
export function fusedGroups(program: Program, taken: (i: number) => boolean): { groups: FusedGroup[]; privateSlots: ReadonlySet<number> } {
  if (!enabled) return { groups: [], privateSlots: new Set() };
  const { kernels, slots } = program;
  const loads = kernels.map((k, i) => (taken(i) ? undefined : loadsOf(k, slots)));
  const pool = (s: number): number => {
    const sl = slots[s]!;
    return sl.kind === "temp" ? sl.pool : -1;
  };
  const readers = new Map<number, number[]>();
  kernels.forEach((k, i) => {
    for (const s of new Set(k.inputs)) (readers.get(s) ?? readers.set(s, []).get(s)!).push(i);
  });
  const outputs = new Set(program.outputs);
  const used = new Set<number>();
  const groups: FusedGroup[] = [];
  const privateSlots = new Set<number>();
  for (let i = 0; i < kernels.length; i++) {
    if (!loads[i] || used.has(i)) continue;
    const n = sizeOf(kernels[i]!.shape);
    if (n < MIN_ELEMENTS) continue;
    const members = [i];
    const outs = new Set([kernels[i]!.output]);
    const rehome = new Set<number>();
    let rehomed = 0;
    const shared = new Set(loads[i]!.filter((l) => l.flat).map((l) => l.slot));
    for (let j = i + 1; j < kernels.length && members.length < MAX_MEMBERS; j++) {
      const k = kernels[j]!;
      const reads = k.inputs.some((s) => outs.has(s));
      // connected: it reads a member's output or an array a member reads whole (a gradient)
      const shares = loads[j]?.some((l) => l.flat && shared.has(l.slot)) ?? false;
      const fits = loads[j] !== undefined && !used.has(j) && sizeOf(k.shape) === n && (reads || shares) && loads[j]!.every((l) => !outs.has(l.slot) || l.flat);
      if (!fits) {
        if (reads) break; // a kernel in between needs a member's output
        continue;
      }
      // Nothing a member reads may be overwritten before the group runs at j. Members write at
      // j: none may write into the pool buffer of a member's input. A kernel in between that
      // writes into such a buffer (its planned lifetime starts after the member's last read)
      // gets a private buffer instead, up to the group's size in all.
      const cand = [...members, j];
      const candOuts = new Set([...outs, k.output]);
      const inPools = new Map<number, number>(); // pool -> first member reading it
      for (const m of cand)
        for (const s of kernels[m]!.inputs) {
          const p = pool(s);
          if (p >= 0 && !candOuts.has(s) && !inPools.has(p)) inPools.set(p, m);
        }
      if (cand.some((m) => inPools.has(pool(kernels[m]!.output)))) break;
      const moved: number[] = [];
      for (let q = i + 1; q < j; q++) {
        if (cand.includes(q)) continue;
        for (const w of written(kernels[q]!)) {
          const first = inPools.get(pool(w));
          if (first !== undefined && first < q && !rehome.has(w)) moved.push(w);
        }
      }
      const extra = moved.reduce((a, w) => a + slots[w]!.size, 0);
      if (rehomed + extra > n) break;
      for (const w of moved) rehome.add(w);
      rehomed += extra;
      members.push(j);
      outs.add(k.output);
      for (const l of loads[j]!) if (l.flat) shared.add(l.slot);
    }
    if (members.length < 2) continue;
    for (const m of members) used.add(m);
    for (const w of rehome) privateSlots.add(w);
    const last = members[members.length - 1]!;
    // Outputs the rest of the program reads (or returns) are written; the others stay in registers.
    const keep = members.filter((m) => {
      const o = kernels[m]!.output;
      return outputs.has(o) || (readers.get(o) ?? []).some((r) => !members.includes(r) || r > last);
    });
    groups.push({ members, js: () => compileGroup(program, members, keep, loads) });
  }
  return { groups, privateSlots };
}

/** Columns of the rows × cols view of a flat fused group of `total` elements (SIMD rows need cols % 4 = 0). */
function flatCols(total: number): number {
  if (total % 4 !== 0) return total;
  for (let c = Math.min(4096, total); c >= 256; c -= 4) if (total % c === 0) return c;
  return total;
}

/** A flat SIMD plan (every load flat or one element) viewed as rows × cols, or undefined. */
export function flatView(p: SimdPlan, total: number): SimdPlan | undefined {
  if (p.reduce || p.rows * p.cols !== total) return undefined;
  const cols = flatCols(total);
  const acc = p.acc.map((a) => {
    if (!a || (a.colCoef === 0 && a.rowCoef === 0 && !a.terms)) return a;
    return a.colCoef === 1 && a.off === 0 && !a.terms && (a.rowCoef === p.cols || p.rows === 1) ? { ...a, rowCoef: cols } : null;
  });
  if (acc.some((a) => a === null)) return undefined;
  return { ...p, acc: acc as SimdPlan["acc"], rows: total / cols, cols };
}

const HELPERS = { fr: Math.fround, fexp, ftanh, powC };
const cache = new Map<string, (...a: unknown[]) => void>();
/** Compiled group functions kept (least recently used evicted). */
export const FUSED_CACHE_LIMIT = 256;

/** Number of compiled fused-group functions cached (diagnostics). */
export function fusedCacheSize(): number {
  return cache.size;
}

function compileGroup(
  program: Program,
  members: readonly number[],
  keep: readonly number[],
  loads: readonly (Load[] | undefined)[],
): ReturnType<FusedGroup["js"]> {
  const { kernels } = program;
  const n = sizeOf(kernels[members[0]!]!.shape);
  const slotsIn: number[] = []; // operand slots, in argument order
  const arg = (s: number): string => {
    let a = slotsIn.indexOf(s);
    if (a < 0) a = slotsIn.push(s) - 1;
    return `a${a}`;
  };
  const value = new Map<number, string>(); // member output slot -> its variable
  const head: string[] = []; // scalars read once
  const loadStmts: string[] = [];
  const body: string[] = [];
  const scalarNames = new Map<string, string>();
  const flatNames = new Map<number, string>();
  members.forEach((m, g) => {
    const k = kernels[m] as ElementwiseKernel;
    const text: string[] = [];
    let li = 0;
    k.body.forEach((ins: Instr, t) => {
      let e: string;
      switch (ins.op) {
        case "load": {
          const l = loads[m]![li++]!;
          const own = value.get(l.slot);
          if (own) e = own;
          else if (l.flat) {
            let nm = flatNames.get(l.slot);
            if (!nm) {
              nm = `l${flatNames.size}`;
              flatNames.set(l.slot, nm);
              loadStmts.push(`const ${nm} = ${arg(l.slot)}[i];`);
            }
            e = nm;
          } else {
            const key = `${l.slot}:${l.off}`;
            let nm = scalarNames.get(key);
            if (!nm) {
              nm = `s${scalarNames.size}`;
              scalarNames.set(key, nm);
              head.push(`const ${nm} = ${arg(l.slot)}[${l.off}];`);
            }
            e = nm;
          }
          break;
        }
        case "const":
          e = jsNumber(ins.value);
          break;
        case "unary":
          e = UNARY[ins.fn]!(text[ins.x]!);
          break;
        case "binary":
          e = BINARY[ins.fn]!(text[ins.a]!, text[ins.b]!);
          break;
        case "where":
          e = `(${text[ins.c]} ? ${text[ins.a]} : ${text[ins.b]})`;
          break;
        case "cast":
          e = text[ins.x]!;
          break;
        default:
          throw new Error(`internal: fused group with a ${ins.op} instruction`);
      }
      const nm = `v${g}_${t}`;
      body.push(`const ${nm} = ${e};`);
      text.push(nm);
    });
    value.set(k.output, text[text.length - 1]!);
  });
  const outs = keep.map((m) => kernels[m]!.output);
  const stores = outs.map((s, o) => `o${o}[i] = ${value.get(s)};`);
  const src = `${head.join("\n")}\nfor (let i = 0; i < ${n}; i++) {\n${loadStmts.join("\n")}\n${body.join("\n")}\n${stores.join("\n")}\n}`;
  const params = [...slotsIn.map((_, a) => `a${a}`), ...outs.map((_, o) => `o${o}`)];
  const key = `${params.length}\n${src}`;
  let fn = cache.get(key);
  if (fn) cache.delete(key);
  else {
    fn = new Function("H", `"use strict"; const { fr, fexp, ftanh, powC } = H; return function fused(${params.join(", ")}) {\n${src}\n};`)(HELPERS) as (
      ...a: unknown[]
    ) => void;
    if (cache.size >= FUSED_CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, fn);
  const f = fn;
  const order = [...slotsIn, ...outs];
  return (bufs) => f(...order.map((s) => bufs[s]));
}
