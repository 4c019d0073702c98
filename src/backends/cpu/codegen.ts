/**
 * JS code generation for the CPU backend: one function per kernel of the kernel IR, compiled
 * with `new Function` and cached by source text. Float arithmetic rounds to float32 after every
 * op (`Math.fround`), matching the reference interpreter; reductions accumulate in float64.
 */
import type { DType } from "../../core/dtype.js";
import type { Cond, ElementwiseKernel, Idx, Instr, MatmulKernel } from "../../scheduler/ir.js";
import { bounds, iadd, idxText, imul, ivar, lit, substIdx } from "../../scheduler/ir.js";
import type { ElementwisePrim } from "../../core/primitives.js";
import { divI32, erf, f2i32, powC, powI32, roundHalfEven, threefry2x32 } from "../../core/semantics-math.js";

/** A compiled kernel body: (inputs..., out) => void. */
export type KernelFn = (...arrays: ArrayLike<number>[]) => void;

/** 2^n for n in [-160, 160], indexed n + 160 (the scale of fexp's range reduction). */
const EXP2 = Float64Array.from({ length: 321 }, (_, i) => 2 ** (i - 160));

/**
 * exp for float32 results: x = n·ln2 + r with |r| ≤ ln2/2, a degree-7 Taylor polynomial for
 * e^r (relative error < 6e-9 in float64, far below float32's half ulp), scaled by a table 2^n.
 * Inlined by V8 into generated kernels, several times faster than `Math.exp`.
 */
/** A number as JS source text (NaN, ±Infinity and −0 spelled out). */
export function jsNumber(v: number): string {
  return Number.isNaN(v) ? "NaN" : v === Infinity ? "Infinity" : v === -Infinity ? "-Infinity" : Object.is(v, -0) ? "-0" : String(v);
}

export function fexp(x: number): number {
  if (!(x < 89) || !(x > -104)) return x !== x ? NaN : x > 0 ? Infinity : 0;
  const n = Math.round(x * 1.4426950408889634);
  const r = x - n * 0.6931471805599453;
  const p =
    1 +
    r *
      (1 +
        r *
          (0.5 + r * (0.16666666666666666 + r * (0.041666666666666664 + r * (0.008333333333333333 + r * (0.001388888888888889 + r * 0.0001984126984126984))))));
  return p * EXP2[n + 160]!;
}

/**
 * tanh for float32 results: (e^2x − 1)/(e^2x + 1) with e^2x − 1 from a degree-9 series when
 * |2x| < 0.35 (no cancellation near 0), else from fexp; saturates to ±1 beyond |x| = 10.
 */
export function ftanh(x: number): number {
  const ax = Math.abs(x);
  if (ax < 1e-4) return x - (x * x * x) / 3;
  if (!(ax < 10)) return x !== x ? NaN : x > 0 ? 1 : -1;
  const u = 2 * ax;
  let em1: number;
  if (u < 0.35)
    em1 =
      u *
      (1 +
        u *
          (0.5 +
            u *
              (0.16666666666666666 +
                u *
                  (0.041666666666666664 + u * (0.008333333333333333 + u * (0.001388888888888889 + u * (0.0001984126984126984 + u * 0.0000248015873015873)))))));
  else em1 = fexp(u) - 1;
  const t = em1 / (em1 + 2);
  return x < 0 ? -t : t;
}

const HELPERS = { erf, powC, powI32, divI32, f2i32, threefry2x32, roundHalfEven, fr: Math.fround, fexp, ftanh };
const cache = new Map<string, KernelFn>();
/** At most this many compiled kernels are kept (least recently used go first), so constants that
 * change every step (baked into the source) cannot grow the cache without bound. */
export const KERNEL_CACHE_LIMIT = 2048;

/** Compiles (or reuses) the function for a kernel source. */
export function compile(nIn: number, src: string): KernelFn {
  const key = `${nIn}\n${src}`;
  let f = cache.get(key);
  if (f) {
    cache.delete(key); // refresh its recency
  } else {
    const params = Array.from({ length: nIn }, (_, i) => `in${i}`);
    f = new Function(
      "H",
      `"use strict"; const {erf, powC, powI32, divI32, f2i32, threefry2x32, roundHalfEven, fr, fexp, ftanh} = H; return function kernel(${[...params, "out"].join(", ")}) {\n${src}\n};`,
    )(HELPERS) as KernelFn;
    if (cache.size >= KERNEL_CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, f);
  return f;
}

/** Number of distinct compiled kernels (for tests and diagnostics). */
export function kernelCacheSize(): number {
  return cache.size;
}

/**
 * Index text. With `hoist`, each distinct div/mod subexpression becomes a `const` (declared once
 * per element, ahead of the body), so deep view chains (im2col patches) do not recompute the same
 * integer divisions in every guard and load.
 */
function idx(i: Idx, hoist?: { names: Map<string, string>; stmts: string[]; prefix: string }): string {
  if (hoist && (i.k === "div" || i.k === "mod")) {
    const inner = idx(i.a, hoist);
    const t = i.k === "div" ? `((${inner} / ${i.c}) | 0)` : `(${inner} % ${i.c})`;
    let nm = hoist.names.get(t);
    if (!nm) {
      nm = `${hoist.prefix}x${hoist.names.size}`;
      hoist.names.set(t, nm);
      hoist.stmts.push(`const ${nm} = ${t};`);
    }
    return nm;
  }
  if (hoist && i.k === "add") return `(${idx(i.a, hoist)} + ${idx(i.b, hoist)})`;
  if (hoist && i.k === "mul") return `${idx(i.a, hoist)} * ${i.c}`;
  return idxText(i);
}

const isF = (d: DType): boolean => d === "float32" || d === "float16";

function conds(cs: readonly Cond[], ix: (i: Idx) => string): string {
  // Conditions on literal indices (loop digits specialized to constants) fold away.
  // Conditions that hold (or fail) over the whole range of their index fold too.
  if (
    cs.some((c) => {
      const [lo, hi] = bounds(c.idx);
      return hi < c.lo || lo >= c.hi;
    })
  )
    return "false";
  cs = cs.filter((c) => {
    const [lo, hi] = bounds(c.idx);
    return !(lo >= c.lo && hi < c.hi);
  });
  if (cs.length === 0) return "true";
  return cs
    .map((c) => {
      const t = ix(c.idx);
      return `${t} >= ${c.lo} && ${t} < ${c.hi}`;
    })
    .join(" && ");
}

/** A JS expression of an elementwise primitive over operand expressions (inT: operands' dtype). */
type JsEmit = (x: readonly string[], inT: DType, outT: DType, bits: number) => string;
const fmath =
  (fn: string): JsEmit =>
  ([x]) =>
    `fr(Math.${fn}(${x}))`;
/** Bool operands are 0/1: add/max are `or`, mul/min are `and` (the definition's int result stored as bool). */
const arith =
  (op: string, boolOp: string, int: (a: string, b: string) => string): JsEmit =>
  ([a, b], inT) =>
    isF(inT) ? `fr(${a} ${op} ${b})` : inT === "bool" ? `(${a} ${boolOp} ${b})` : int(a!, b!);
const cmp =
  (op: string): JsEmit =>
  ([a, b]) =>
    `(${a} ${op} ${b} ? 1 : 0)`;

/**
 * The JS form of every elementwise primitive, each the expression of its definition in
 * core/semantics.ts (helpers are the very functions of core/semantics-math.ts). exp and tanh use
 * the fast float32 evaluations fexp/ftanh (within the ulp bound the definition documents).
 */
const JS: { readonly [P in ElementwisePrim]: JsEmit } = {
  neg: ([x], inT) => (isF(inT) ? `-${x}` : inT === "bool" ? x! : `((-${x}) | 0)`),
  exp: ([x]) => `fr(fexp(${x}))`,
  log: fmath("log"),
  expm1: fmath("expm1"),
  log1p: fmath("log1p"),
  sin: fmath("sin"),
  cos: fmath("cos"),
  tanh: ([x]) => `fr(ftanh(${x}))`,
  sqrt: fmath("sqrt"),
  erf: ([x]) => `fr(erf(${x}))`,
  floor: ([x], inT) => (isF(inT) ? `Math.floor(${x})` : x!),
  round: ([x], inT) => (isF(inT) ? `roundHalfEven(${x})` : x!),
  add: arith("+", "|", (a, b) => `((${a} + ${b}) | 0)`),
  mul: arith("*", "&", (a, b) => `Math.imul(${a}, ${b})`),
  div: ([a, b], inT) => (isF(inT) ? `fr(${a} / ${b})` : `divI32(${a}, ${b})`),
  pow: ([a, b], inT) => (isF(inT) ? `fr(powC(${a}, ${b}))` : `powI32(${a}, ${b})`),
  max: ([a, b], inT) => (inT === "bool" ? `(${a} | ${b})` : `Math.max(${a}, ${b})`),
  min: ([a, b], inT) => (inT === "bool" ? `(${a} & ${b})` : `Math.min(${a}, ${b})`),
  eq: cmp("==="),
  ne: cmp("!=="),
  lt: cmp("<"),
  le: cmp("<="),
  where: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
  cast: ([x], from, to) => {
    if (to === "bool") return `(${x} !== 0 ? 1 : 0)`;
    if (to === "int32") return isF(from) ? `f2i32(${x})` : x!;
    return isF(from) ? x! : `fr(${x})`;
  },
  shrl: ([x], _i, _o, bits) => `((${x} >>> ${bits}) | 0)`,
  threefry: ([a, b, c, d], _i, _o, lane) =>
    lane === 2 ? `(((t) => t[0] ^ t[1])(threefry2x32(${a}, ${b}, ${c}, ${d})))` : `(threefry2x32(${a}, ${b}, ${c}, ${d})[${lane}] | 0)`,
};

/** Emits an SSA body: single-use values are inlined (so guarded branches stay lazy). */
export function emitBody(instrs: readonly Instr[], acc: string, prefix: string): { stmts: string[]; result: string } {
  const uses = new Array<number>(instrs.length).fill(0);
  const refs = (i: Instr): number[] => {
    switch (i.op) {
      case "unary":
      case "cast":
      case "shrl":
        return [i.x];
      case "binary":
        return [i.a, i.b];
      case "where":
        return [i.c, i.a, i.b];
      case "guard":
        return [i.x, i.otherwise];
      default:
        return [];
    }
  };
  for (const i of instrs) for (const r of refs(i)) uses[r]!++;
  const text: string[] = [];
  const stmts: string[] = [];
  const hoist = { names: new Map<string, string>(), stmts: [] as string[], prefix };
  const ix = (i: Idx): string => idx(i, hoist);
  const at = (r: number): string => text[r]!;
  // Sums of guarded values with provably disjoint conditions (a stack lowered as a sum of pads:
  // the im2col patches kernel adds 9 guards on `row % 9`) become one chain of conditionals, so
  // an element tests conditions until one holds instead of evaluating and adding every guard.
  // x + 0 keeps the sum's value exactly (−0 + 0 is +0).
  type Alt = { readonly cond: string; readonly sel: ReadonlyMap<string, readonly [number, number]>; readonly val: string };
  const chains = new Map<number, readonly Alt[]>();
  const zero = (r: number): boolean => {
    const z = instrs[r]!;
    return z.op === "const" && Object.is(z.value, 0);
  };
  const disjoint = (a: Alt, b: Alt): boolean =>
    [...a.sel].some(([key, [lo, hi]]) => {
      const o = b.sel.get(key);
      return o !== undefined && (o[1] <= lo || hi <= o[0]);
    });
  instrs.forEach((i, k) => {
    if (i.op === "guard" && isF(i.dtype) && zero(i.otherwise) && uses[i.x] === 1) {
      chains.set(k, [{ cond: conds(i.conds, ix), sel: new Map(i.conds.map((c) => [idxText(c.idx), [c.lo, c.hi] as const])), val: at(i.x) }]);
    } else if (i.op === "binary" && i.fn === "add" && isF(i.dtype) && uses[i.a] === 1 && uses[i.b] === 1) {
      const [A, B] = [chains.get(i.a), chains.get(i.b)];
      if (A && B && A.every((a) => B.every((b) => disjoint(a, b)))) {
        const all = [...A, ...B];
        chains.set(k, all);
        text.push(`(${all.map((a) => `${a.cond} ? (${a.val} + 0) : `).join("")}0)`);
        if (uses[k]! > 1) {
          stmts.push(`const ${prefix}${k} = ${text[k]};`);
          text[k] = `${prefix}${k}`;
        }
        return;
      }
    }
    let t: string;
    switch (i.op) {
      case "load":
        t = `in${i.input}[${ix(i.index)}]`;
        break;
      case "const":
        t = jsNumber(i.value);
        break;
      case "index":
        t = ix(i.index);
        break;
      case "acc":
        t = acc;
        break;
      case "unary":
        t = JS[i.fn]([at(i.x)], i.dtype, i.dtype, 0);
        break;
      case "binary":
        t = JS[i.fn]([at(i.a), at(i.b)], i.argDtype, i.dtype, 0);
        break;
      case "where":
        t = JS.where([at(i.c), at(i.a), at(i.b)], i.dtype, i.dtype, 0);
        break;
      case "cast":
        t = JS.cast([at(i.x)], i.from, i.dtype, 0);
        break;
      case "shrl":
        t = JS.shrl([at(i.x)], "int32", "int32", i.bits);
        break;
      case "guard":
        t = `(${conds(i.conds, ix)} ? ${at(i.x)} : ${at(i.otherwise)})`;
        break;
    }
    if (uses[k]! > 1 && i.op !== "const" && i.op !== "acc") {
      stmts.push(`const ${prefix}${k} = ${t};`);
      text.push(`${prefix}${k}`);
    } else text.push(t.startsWith("-") ? `(${t})` : t);
  });
  return { stmts: [...hoist.stmts, ...stmts], result: text[text.length - 1]! };
}

function usesVars(instrs: readonly Instr[], re: RegExp): boolean {
  return re.test(JSON.stringify(instrs));
}

export function loops(shape: readonly number[], p: string, inner: string): string {
  let s = inner;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    s = `for (let ${p}${d} = 0; ${p}${d} < ${shape[d]}; ${p}${d}++) {\n${s}\n}`;
  }
  return s;
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Compiles an elementwise kernel. */
export function elementwiseFn(k: ElementwiseKernel): KernelFn {
  const { stmts, result } = emitBody(k.body, "", "t");
  const n = size(k.shape);
  let src: string;
  if (!usesVars(k.body, /"name":"o\d+"/)) {
    src = `for (let oi = 0; oi < ${n}; oi++) {\n${stmts.join("\n")}\nout[oi] = ${result};\n}`;
  } else {
    src = `let oi = 0;\n${loops(k.shape, "o", `${stmts.join("\n")}\nout[oi] = ${result}; oi++;`)}`;
  }
  return compile(k.inputs.length, src);
}

/** Compiles a matmul epilogue (in place over `out`, which holds the products), or undefined. */
export function matmulEpilogueFn(k: MatmulKernel): KernelFn | undefined {
  if (k.epilogue.length === 1 && k.epilogue[0]!.op === "acc") return undefined;
  const { stmts, result } = emitBody(k.epilogue, "out[oi]", "t");
  const src = usesVars(k.epilogue, /"name":"o\d+"/)
    ? `let oi = 0;\n${loops(k.shape, "o", `${stmts.join("\n")}\nout[oi] = ${result}; oi++;`)}`
    : `for (let oi = 0; oi < ${size(k.shape)}; oi++) {\n${stmts.join("\n")}\nout[oi] = ${result};\n}`;
  return compile(k.inputs.length, src);
}

function substBody(body: readonly Instr[], env: ReadonlyMap<string, Idx>): Instr[] {
  return body.map((x) => {
    switch (x.op) {
      case "load":
      case "index":
        return { ...x, index: substIdx(x.index, env) };
      case "guard":
        return { ...x, conds: x.conds.map((c) => ({ ...c, idx: substIdx(c.idx, env) })) };
      default:
        return x;
    }
  });
}

/** Radices (innermost first) splitting variable `name` of `size` into the digits its div/mods use. */
function digitsOf(body: readonly Instr[], name: string, size: number): number[] {
  const cs = new Set<number>();
  const has = (i: Idx): boolean => (i.k === "var" ? i.name === name : i.k === "lit" ? false : has(i.a) || (i.k === "add" && has(i.b)));
  const walk = (i: Idx): void => {
    if (i.k === "div" || i.k === "mod") {
      if (has(i.a) && i.c < size && size % i.c === 0) cs.add(i.c);
      walk(i.a);
    } else if (i.k === "add") {
      walk(i.a);
      walk(i.b);
    } else if (i.k === "mul") walk(i.a);
  };
  for (const x of body) {
    if (x.op === "load" || x.op === "index") walk(x.index);
    if (x.op === "guard") for (const c of x.conds) walk(c.idx);
  }
  const sorted = [...cs].sort((a, b) => a - b);
  const out: number[] = [];
  let prev = 1;
  for (const c of sorted) {
    if (c % prev !== 0) continue;
    out.push(c / prev);
    prev = c;
  }
  out.push(size / prev);
  return out;
}

/** Row digits up to this size are specialized to literals (one copy of the inner loop each). */
const UNROLL_DIGIT = 9;

/**
 * Compiles an elementwise kernel of shape [..., n] (leading dims multiplying to k) as a B-panel
 * packing routine for the SIMD gemm ("implicit im2col"): element (p, j) of the k×n operand is
 * computed from the kernel body and stored at `out[base + (⌊j/nr⌋·k + p)·nr + j mod nr]` (out is
 * the gemm's wasm memory), so the operand is never materialized. Each loop variable is split
 * into the mixed-radix digits its index arithmetic divides by (the im2col index needs no
 * division then), and the innermost row digit, when small, is unrolled into copies with a
 * literal value (the patches' 9-way guard chain resolves at compile time). nr is a power of two;
 * columns of the last panel past n are left to the caller.
 */
export function packFn(k: ElementwiseKernel, kk: number, n: number, nr: number, base: number): KernelFn {
  const r = k.shape.length;
  const sh = Math.log2(nr);
  const store = (body: readonly Instr[], pre: string): string => {
    const { stmts, result } = emitBody(body, "", pre);
    return `${stmts.join("\n")}\nout[pq + (j >> ${sh}) * ${kk * nr} + (j & ${nr - 1})] = ${result}; j++;`;
  };
  if (usesVars(k.body, /"name":"oi"/)) {
    const L = `o${r - 1}`;
    const inner = `const pq = ${base} + prow * ${nr}; prow++;\nlet j = 0;\nfor (let ${L} = 0; ${L} < ${n}; ${L}++) {\n${store(k.body, "t")}\n}`;
    return compile(k.inputs.length, `let prow = 0, oi = 0;\n${loops(k.shape.slice(0, r - 1), "o", inner.replace("j++;", "j++; oi++;"))}`);
  }
  // Digits d{v}_{i} (outermost first) of every loop variable o{v}.
  const env = new Map<string, Idx>();
  const digitVars: { name: string; size: number; row: boolean }[] = [];
  k.shape.forEach((sz, d) => {
    if (sz === 1) return;
    const radices = digitsOf(k.body, `o${d}`, sz).reverse(); // outermost first
    let e: Idx = lit(0);
    radices.forEach((rad, t) => {
      const name = `d${d}_${t}`;
      digitVars.push({ name, size: rad, row: d < r - 1 });
      e = iadd(imul(e, rad), ivar(name, rad));
    });
    env.set(`o${d}`, e);
  });
  const body = substBody(k.body, env);
  const rowVars = digitVars.filter((v) => v.row);
  const colVars = digitVars.filter((v) => !v.row);
  const colLoops = (b: readonly Instr[], pre: string): string => {
    let s = store(b, pre);
    for (let t = colVars.length - 1; t >= 0; t--)
      s = `for (let ${colVars[t]!.name} = 0; ${colVars[t]!.name} < ${colVars[t]!.size}; ${colVars[t]!.name}++) {\n${s}\n}`;
    return `{\nconst pq = ${base} + prow * ${nr}; prow++;\nlet j = 0;\n${s}\n}`;
  };
  const last = rowVars[rowVars.length - 1];
  let rows: string;
  if (last && last.size <= UNROLL_DIGIT) {
    rows = Array.from({ length: last.size }, (_, v) => colLoops(substBody(body, new Map([[last.name, lit(v)]])), `u${v}_`)).join("\n");
    rowVars.pop();
  } else rows = colLoops(body, "t");
  for (let t = rowVars.length - 1; t >= 0; t--)
    rows = `for (let ${rowVars[t]!.name} = 0; ${rowVars[t]!.name} < ${rowVars[t]!.size}; ${rowVars[t]!.name}++) {\n${rows}\n}`;
  return compile(k.inputs.length, `let prow = 0;\n${rows}`);
}
