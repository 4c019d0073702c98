/**
 * Wasm SIMD code for elementwise and reduce kernels of the kernel IR whose loads walk memory
 * contiguously along the innermost axis (or are constant along it: scalars, per-row values).
 * The kernel is viewed as `rows × cols` (cols = the last output axis, or the reduced axes); each
 * load is `in[off + row·rowCoef + col·colCoef]` with colCoef 0 (splat once per row) or 1 (an
 * `f32x4` load). Float32 only; exp and tanh are f32x4 polynomials (≤ 2 ulp, see
 * simd-exp.ts, simd-lanes.ts); sums accumulate in f64x2 like the JS kernels' float64, max/min with one
 * pmax/pmin per vector and NaN lanes tracked apart. Anything else falls back to JS codegen.
 *
 * Operands live in one wasm memory (see the arena in program.ts): the executor copies a JS
 * buffer in once per run and reads a result back only when a JS kernel or the caller needs it.
 * That memory is shared when the runtime allows it, and big kernels split their rows with helper
 * threads (flat elementwise kernels are viewed as rows of a few thousand columns for this).
 */
import { META } from "../../core/primitives.js";
import { scalarFn } from "../../core/semantics.js";
import type { ElementwiseKernel, Idx, Instr, ReduceKernel } from "../../scheduler/ir.js";
import { affine } from "../../scheduler/ir.js";
import { FnBuilder, moduleBytes } from "./wasm.js";
import { Consts, LANES, expLocals } from "./simd-lanes.js";
import { UNROLL, emitPlan, fixed } from "./simd-emit.js";
import { maySplit } from "./simd-exp.js";
import type { SimdFn } from "./simd-threads.js";
import { SHARED_PAGES, simdMemory, simdShared, simdThreads, threaded } from "./simd-threads.js";

export type { SimdFn } from "./simd-threads.js";
export { simdHelpers, simdMemory, simdThreads } from "./simd-threads.js";
export { CONST_BYTES, hasSimdLanes } from "./simd-lanes.js";

/**
 * Primitives whose lanes replace a JS call of 10–30 ns per element (fexp, ftanh, ...): a kernel
 * using one goes to Wasm SIMD from an eighth of the usual size (a 128×10 softmax's exp and its
 * gradient in an MLP step: 1,280 elements, 19–38 µs in JS).
 */
const TRANSCENDENTAL = new Set<string>(["exp", "tanh", "log", "expm1", "log1p", "erf"]);

/** Smallest kernel (output elements × reduced elements) sent to Wasm SIMD (an eighth of it with a TRANSCENDENTAL). */
let minElements = 4096;
/** Sets the size threshold for SIMD kernels (tests lower it to exercise the path on small inputs). */
export function setSimdMinElements(n: number): void {
  minElements = n;
}
/** The size threshold of SIMD kernels (see setSimdMinElements). */
export const simdMinElements = (): number => minElements;

/**
 * How a load walks the rows × cols view: element `off + row·rowCoef + col·colCoef`, plus, when
 * `terms` is present (a per-row operand that is not affine in the row: the bias of an NCHW
 * tensor, channel `(row / H) % C`), `Σ coef·((row / div) % mod)` (and rowCoef 0).
 */
export interface Access {
  readonly off: number;
  readonly rowCoef: number;
  readonly colCoef: 0 | 1;
  readonly terms?: readonly { readonly div: number; readonly mod: number; readonly coef: number }[];
}


/** Row and column strides (and sizes) of each loop variable name. */
type VarMap = ReadonlyMap<string, { readonly row: number; readonly col: number; readonly size?: number }>;

function access(index: Idx, vars: VarMap): Access | undefined {
  const a = affine(index);
  if (!a) return undefined;
  return affineAccess(a, vars) ?? termAccess(a, vars);
}

/** A load that is per row (no column part) but not affine in the row: one term per row variable. */
function termAccess(a: { readonly offset: number; readonly coef: ReadonlyMap<string, number> }, vars: VarMap): Access | undefined {
  const terms: { div: number; mod: number; coef: number }[] = [];
  for (const [name, coef] of a.coef) {
    if (coef === 0) continue;
    const v = vars.get(name);
    if (!v || v.col !== 0 || v.size === undefined || name === "oi") return undefined;
    terms.push({ div: v.row, mod: v.size, coef });
  }
  return terms.length ? { off: a.offset, rowCoef: 0, colCoef: 0, terms } : undefined;
}

function affineAccess(a: { readonly offset: number; readonly coef: ReadonlyMap<string, number> }, vars: VarMap): Access | undefined {
  let row: number | undefined;
  let col: number | undefined;
  // Σ coef_v · v must equal rowCoef·row + colCoef·col with v = row·v.row... : solve from each var.
  const want = new Map<string, number>();
  for (const [name, coef] of a.coef) {
    if (coef === 0) continue;
    const v = vars.get(name);
    if (!v) return undefined;
    want.set(name, coef);
  }
  // Every variable contributes coef·(its row part + col part); vars are either row or col vars
  // except the flat `oi` (both). Derive the coefficients, then verify against every var.
  let rowAcc = 0;
  let colAcc = 0;
  for (const [name, coef] of want) {
    const v = vars.get(name)!;
    if (name === "oi") { rowAcc += coef * v.row; colAcc += coef * v.col; }
  }
  for (const [name, v] of vars) {
    if (name === "oi") continue;
    const coef = want.get(name) ?? 0;
    if (v.col > 0) {
      const cc = coef / v.col;
      if (col === undefined) col = cc;
      else if (col !== cc) return undefined;
    } else {
      const rc = coef / v.row;
      if (row === undefined) row = rc;
      else if (row !== rc) return undefined;
    }
  }
  const rowCoef = (row ?? 0) + rowAcc;
  const colCoef = (col ?? 0) + colAcc;
  if (!Number.isInteger(rowCoef) || (colCoef !== 0 && colCoef !== 1)) return undefined;
  return { off: a.offset, rowCoef, colCoef };
}

/** How a kernel maps onto SIMD code: its rows × cols view and the access of every load. */
export interface SimdPlan {
  readonly body: readonly Instr[];
  readonly acc: readonly (Access | undefined)[];
  readonly nIn: number;
  readonly rows: number;
  readonly cols: number;
  readonly reduce: string | undefined;
  /**
   * A reduction over leading axes (rows: the reduced elements, cols: the outputs, contiguous):
   * each row's vectors accumulate into per-thread accumulators (float64 pairs for sums, float32
   * max/min with NaN masks), combined once all rows are done (see `columnFn`).
   */
  readonly column?: "sum" | "rmax" | "rmin";
  /** A column plan of a reduction to one value: the columns are reduced too (see `columnPlan`). */
  readonly foldAll?: boolean;
  /**
   * A reduce kernel's epilogue (when it is more than `acc`): per-row scalar code on the reduced
   * value rounded to float32 (log of a sum, a mean's division, rsqrt of a variance), with its loads'
   * accesses (per row: colCoef 0). The softmax family's row reductions keep their epilogue here.
   */
  readonly epi?: { readonly body: readonly Instr[]; readonly acc: readonly (Access | undefined)[] };
}

const cache = new Map<string, SimdFn>();
/**
 * At most this many compiled SIMD kernels are kept on the calling thread (least recently used go
 * first; each helper thread keeps at most as many too, see simd-threads.ts), so a program run with
 * ever new shapes does not grow the memory: a new shape compiles again.
 */
export const SIMD_CACHE_LIMIT = 256;

/** Number of compiled SIMD kernels kept on the calling thread (tests and cpuCacheStats). */
export function simdCacheSize(): number {
  return cache.size;
}

/** Most rows of a `[rows, 1]` elementwise kernel viewed as rows of one (more: flat). */
const PER_ROW_MAX = 1 << 16;

/** Row length of a flat elementwise kernel viewed as rows (see simdPlan). */
const FLAT = 4096;


/**
 * The SIMD plan of a kernel, or undefined when the kernel is too small or not of the supported
 * form (float32 loads and results; the primitives LANES has; reduce by
 * sum/rmax/rmin over contiguous trailing axes with a plain `acc` epilogue).
 */
export function simdPlan(k: ElementwiseKernel | ReduceKernel): SimdPlan | undefined {
  const mem = simdMemory();
  if (!mem || k.dtype !== "float32") return undefined;
  const red = k.kind === "reduce";
  const shape = k.shape;
  const total = shape.reduce((a, b) => a * b, 1) * (red ? k.reduceShape.reduce((a, b) => a * b, 1) : 1);
  if (red && !["sum", "rmax", "rmin"].includes(k.fn)) return undefined;
  const epilogue = red && (k.epilogue.length !== 1 || k.epilogue[0]!.op !== "acc") ? k.epilogue : undefined;
  const heavy = [...k.body, ...(epilogue ?? [])].some((i) => i.op === "unary" && TRANSCENDENTAL.has(i.fn));
  if (total < (heavy ? minElements / 8 : minElements)) return undefined;
  if (!inLanes(k.body, false) || (epilogue && !inLanes(epilogue, true))) return undefined;
  // rows × cols view.
  const vars = new Map<string, { row: number; col: number; size?: number }>();
  let rows: number;
  let cols: number;
  if (red) {
    rows = shape.reduce((a, b) => a * b, 1);
    cols = k.reduceShape.reduce((a, b) => a * b, 1);
    let s = 1;
    for (let d = shape.length - 1; d >= 0; d--) { if (shape[d]! > 1) vars.set(`o${d}`, { row: s, col: 0, size: shape[d]! }); s *= shape[d]!; }
    s = 1;
    vars.set("oi", { row: 1, col: 0 }); // the output's flat index (epilogue loads)
    for (let d = k.reduceShape.length - 1; d >= 0; d--) { if (k.reduceShape[d]! > 1) vars.set(`r${d}`, { row: 0, col: s }); s *= k.reduceShape[d]!; }
  } else {
    cols = shape.length ? shape[shape.length - 1]! : 1;
    rows = shape.length ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
    let s = 1;
    for (let d = shape.length - 2; d >= 0; d--) { if (shape[d]! > 1) vars.set(`o${d}`, { row: s, col: 0, size: shape[d]! }); s *= shape[d]!; }
    if (shape.length && cols > 1) vars.set(`o${shape.length - 1}`, { row: 0, col: 1 });
    vars.set("oi", { row: cols, col: 1 });
  }
  const acc: (Access | undefined)[] = k.body.map((i) => (i.op === "load" ? access(i.index, vars) : undefined));
  if (k.body.some((i, j) => i.op === "load" && !acc[j])) return red ? columnPlan(k as ReduceKernel, epilogue) : undefined;
  const eacc = epilogue?.map((i) => (i.op === "load" ? access(i.index, vars) : undefined));
  if (epilogue?.some((i, j) => i.op === "load" && eacc![j]?.colCoef !== 0)) return undefined;
  // Collapse to one row when every load is flat or a scalar (no per-row values, no row gaps).
  // (Viewed as rows of FLAT columns when the size allows, so that helper threads can share it.)
  // A column of per-row scalars ([rows, 1]: logsumexp's finite max) stays rows of one (loads
  // splat per row), so it joins the row group of the reductions around it.
  if (!red && cols === 1 && rows > 1 && rows <= PER_ROW_MAX) {
    for (let j = 0; j < acc.length; j++) if (acc[j]?.colCoef === 1) acc[j] = { ...acc[j]!, colCoef: 0 };
  } else if (!red && acc.every((a) => !a || (a.colCoef === 1 && a.rowCoef === cols && !a.terms) || fixed(a))) {
    const total = cols * rows;
    cols = total % FLAT === 0 && total > FLAT ? FLAT : total;
    rows = total / cols;
    for (let j = 0; j < acc.length; j++) if (acc[j]?.colCoef === 1) acc[j] = { ...acc[j]!, rowCoef: rows > 1 ? cols : 0 };
  }
  return { body: k.body, acc, nIn: k.inputs.length, rows, cols, reduce: red ? k.fn : undefined, ...(epilogue ? { epi: { body: epilogue, acc: eacc! } } : {}) };
}

/**
 * Bounds of a column plan: at least 16 outputs (fewer: mostly tail lanes), at most 2^17 (each
 * thread's accumulators, 8 bytes per output, stay in its L2), at least 16 reduced rows (fewer do
 * not pay for setting and folding the accumulators).
 */
const COLUMN_MIN_COLS = 16;
const COLUMN_MAX_COLS = 1 << 17;
const COLUMN_MIN_ROWS = 16;

/**
 * The column view of a reduction over leading axes (`sum(x, {axis: 0})`, softmax over axis 0):
 * rows = reduced elements, cols = outputs, every load contiguous along the outputs or constant
 * along them; undefined when the kernel has another form.
 */
function columnPlan(k: ReduceKernel, epilogue: readonly Instr[] | undefined): SimdPlan | undefined {
  // an epilogue runs on the folded value in JS (see columnFn): scalar ops only
  if (epilogue?.some((i) => i.op !== "acc" && i.op !== "const" && i.op !== "unary" && i.op !== "binary")) return undefined;
  const vars = new Map<string, { row: number; col: number; size?: number }>();
  let s = 1;
  for (let d = k.shape.length - 1; d >= 0; d--) {
    if (k.shape[d]! > 1) vars.set(`o${d}`, { row: 0, col: s });
    s *= k.shape[d]!;
  }
  // A reduction to one value (softmax's normalized values summed) reduces its last reduced axis
  // as the columns too: the rows' accumulators are then folded over the columns as well.
  let last = k.reduceShape.length - 1;
  while (last >= 0 && k.reduceShape[last] === 1) last--;
  const all = s === 1 && last > 0;
  const cols = all ? k.reduceShape[last]! : s;
  vars.set("oi", { row: 0, col: all ? 0 : 1 });
  s = 1;
  for (let d = k.reduceShape.length - 1; d >= 0; d--) {
    if (all && d === last) vars.set(`r${d}`, { row: 0, col: 1 });
    else if (k.reduceShape[d]! > 1) vars.set(`r${d}`, { row: s, col: 0, size: k.reduceShape[d]! });
    if (!(all && d === last)) s *= k.reduceShape[d]!;
  }
  if (cols < COLUMN_MIN_COLS || cols > COLUMN_MAX_COLS || s < COLUMN_MIN_ROWS) return undefined;
  const acc = k.body.map((i) => (i.op === "load" ? access(i.index, vars) : undefined));
  if (k.body.some((i, j) => i.op === "load" && !acc[j])) return undefined;
  return {
    body: k.body,
    acc,
    nIn: k.inputs.length,
    rows: s,
    cols,
    reduce: undefined,
    column: k.fn as "sum",
    ...(all ? { foldAll: true } : {}),
    ...(epilogue ? { epi: { body: epilogue, acc: epilogue.map(() => undefined) } } : {}),
  };
}

/**
 * Whether every instruction has a lane form: float32 values (bool only as masks: float
 * comparisons, read by where as its condition and by casts), `acc` only in an epilogue.
 */
function inLanes(body: readonly Instr[], epilogue: boolean): boolean {
  return body.every((i) => {
    if (i.op === "binary" && META[i.fn].predicate) return i.argDtype === "float32" && i.dtype === "bool";
    if (i.dtype !== "float32") return false;
    if (i.op === "unary") return LANES[i.fn] !== null;
    if (i.op === "binary") return LANES[i.fn] !== null && i.argDtype === "float32";
    if (i.op === "cast") return i.from === "bool";
    if (i.op === "where") return body[i.c]!.dtype === "bool";
    return i.op === "load" || i.op === "const" || (epilogue && i.op === "acc");
  });
}

/** The SIMD function of one kernel (see simdPlan), or undefined. */
export function simdKernel(k: ElementwiseKernel | ReduceKernel): SimdFn | undefined {
  const p = simdPlan(k);
  return p && simdGroup([p]);
}

/**
 * One function running several kernels of the same row count row by row (kernel 1 on row r,
 * kernel 2 on row r, ...), so a row produced by one is still in L1 when the next reads it
 * (softmax: row max, exp-sum, normalize). Params: each kernel's input pointers then its output.
 */
export function simdGroup(plans: readonly SimdPlan[], inputSlots?: readonly (readonly number[])[]): SimdFn {
  const share = inputSlots ? sharing(plans, inputSlots) : { reuse: plans.map(() => new Map<number, number>()), keep: plans.map(() => new Map<number, number>()), regions: 0 };
  const key = JSON.stringify([plans, share.reuse.map((m) => [...m]), share.keep.map((m) => [...m])]);
  let fn = cache.get(key);
  if (fn) cache.delete(key); // refresh its recency
  else {
    fn = build(plans, simdMemory()!, share);
    if (cache.size >= SIMD_CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, fn);
  return fn;
}

/**
 * Values a later kernel of a group would recompute from the same loads as an earlier one (softmax:
 * normalize's `exp(x − max)` is exp-sum's): the earlier kernel stores them in a per-row scratch
 * region while the row is in L1, the later one loads them. `keep[g]`: instruction → region that
 * kernel g stores; `reuse[g]`: instruction → region that kernel g loads instead of computing.
 */
interface Sharing {
  readonly keep: readonly Map<number, number>[];
  readonly reuse: readonly Map<number, number>[];
  readonly regions: number;
}

function sharing(plans: readonly SimdPlan[], inputSlots: readonly (readonly number[])[]): Sharing {
  const keys = plans.map((p, g) => {
    const out: string[] = [];
    p.body.forEach((i, j) => {
      const a = p.acc[j];
      out.push(i.op === "load" ? `L${inputSlots[g]![i.input]}@${a!.off},${a!.rowCoef},${a!.colCoef},${JSON.stringify(a!.terms ?? [])}`
        : i.op === "const" ? `C${i.value}`
        : i.op === "unary" ? `${i.fn}(${out[i.x]})`
        : i.op === "binary" ? `${i.fn}(${out[i.a]},${out[i.b]})` : `?${j}`);
    });
    return out;
  });
  // Worth sharing: a value computed per column that involves a transcendental or a division.
  const costly = (p: SimdPlan, j: number): boolean => {
    const i = p.body[j]!;
    if (i.op === "unary") return i.fn === "exp" || i.fn === "tanh" || i.fn === "sqrt" || costly(p, i.x);
    if (i.op === "binary") return i.fn === "div" || costly(p, i.a) || costly(p, i.b);
    return false;
  };
  const perCol = (p: SimdPlan, j: number): boolean => {
    const i = p.body[j]!;
    if (i.op === "load") return p.acc[j]!.colCoef === 1;
    if (i.op === "unary") return perCol(p, i.x);
    if (i.op === "binary") return perCol(p, i.a) || perCol(p, i.b);
    return false;
  };
  const keep = plans.map(() => new Map<number, number>());
  const reuse = plans.map(() => new Map<number, number>());
  const region = new Map<string, number>();
  for (let g = 1; g < plans.length && plans[0]!.cols <= 16384; g++) {
    const q = plans[g]!;
    const visit = (t: number): void => {
      const i = q.body[t]!;
      if (i.op !== "unary" && i.op !== "binary") return;
      if (costly(q, t) && perCol(q, t)) {
        const key = keys[g]![t]!;
        for (let p = 0; p < g; p++) {
          if (plans[p]!.cols !== q.cols || plans[p]!.rows !== q.rows) continue;
          const s = keys[p]!.indexOf(key);
          if (s < 0) continue;
          let r = region.get(key);
          if (r === undefined) { r = region.size; region.set(key, r); keep[p]!.set(s, r); }
          reuse[g]!.set(t, r);
          return;
        }
      }
      if (i.op === "unary") visit(i.x);
      else { visit(i.a); visit(i.b); }
    };
    visit(q.body.length - 1);
  }
  return { keep, reuse, regions: region.size };
}

function build(plans: readonly SimdPlan[], mem: WebAssembly.Memory, share: Sharing): SimdFn {
  const params = plans.flatMap((p, g) => [...Array.from({ length: p.nIn }, (_, i) => `g${g}in${i}`), `g${g}out`]);
  // A scratch row fits the group's widest plan (its plans share rows, not always columns: a row
  // sum of 16 columns then a 1024-column kernel reading it; a split exp's rows are the latter's).
  const regionBytes = Math.max(...plans.map((p) => Math.ceil(p.cols / 4) * 16));
  const column = plans[0]!.column;
  // Two more scratch rows for a split exp (see emitPlan), shared by the group's plans (each uses
  // them within its own row code).
  const splitAt = plans.some(maySplit) ? share.regions : undefined;
  const regions = share.regions + (splitAt !== undefined ? 2 : 0);
  if (regions > 0 || column) params.push("scr");
  params.push("r0", "r1");
  const f = new FnBuilder(params);
  f.local("row", "i32").local("c", "i32").local("po", "i32");
  for (const l of [...expLocals(UNROLL), "ta", "tz", "tt", "la", "lb", "lc", "ld", "le", "lz"]) f.local(l, "v128");
  for (let u = 0; u < UNROLL; u++) f.local(`alo${u}`, "v128").local(`ahi${u}`, "v128").local(`slo${u}`, "v128").local(`shi${u}`, "v128");
  const K = new Consts(f, mem);
  const rowCode = plans.map((p, g) => emitPlan(f, K, p, `g${g}`, share.keep[g]!, share.reuse[g]!, regionBytes, splitAt));
  f.loop("row", (b) => b.get("r0"), (b) => b.get("r1"), (b) => b.i32(1), () => {
    for (const r of rowCode) r();
  });
  const bytes = moduleBytes([{ name: "k", fn: f }], simdShared() ? SHARED_PAGES : undefined);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { mem } });
  const k = inst.exports.k as (...a: number[]) => void;
  if (column) {
    const p = plans[0]!;
    const epi = p.epi ? scalarEpilogue(p.epi.body) : undefined;
    return columnFn(threaded(k, bytes, p.rows, p.cols, 2 * regionBytes), mem, column, p.cols, 2 * regionBytes, p.foldAll, epi);
  }
  return threaded(k, bytes, plans[0]!.rows, plans.reduce((s, p) => s + p.cols, 0), regions * regionBytes);
}

/** A reduction epilogue of scalar ops (no loads) as a JS function of the float32 reduced value. */
function scalarEpilogue(body: readonly Instr[]): (v: number) => number {
  const ops = body.map((i): ((vals: number[], v: number) => number) => {
    if (i.op === "acc") return (_, v) => v;
    if (i.op === "const") return () => i.value;
    if (i.op === "unary") {
      const g = scalarFn(i.fn, i.dtype, i.dtype, {} as never);
      return (vals) => Math.fround(g(vals[i.x]!, 0, 0, 0));
    }
    if (i.op === "binary") {
      const g = scalarFn(i.fn, i.argDtype, i.dtype, {} as never);
      return (vals) => Math.fround(g(vals[i.a]!, vals[i.b]!, 0, 0));
    }
    throw new Error(`internal: epilogue op ${i.op} in a column plan`);
  });
  return (v) => {
    const vals: number[] = [];
    for (const op of ops) vals.push(op(vals, v));
    return vals[vals.length - 1]!;
  };
}

/**
 * A column plan's kernel: sets every thread's accumulators (2 × 16 bytes per 4 columns at its
 * scratch region: float64 lo/hi pairs for a sum; for max/min a float32 vector, then the NaN masks
 * in the region's second half) to the identity, runs the rows, then folds the threads'
 * accumulators into the output (float64 sums rounded once; NaN wins).
 */
function columnFn(
  inner: SimdFn,
  mem: WebAssembly.Memory,
  fn: "sum" | "rmax" | "rmin",
  cols: number,
  bytes: number,
  all = false,
  epi: (v: number) => number = (v) => v,
): SimdFn {
  const threads = simdThreads();
  const half = bytes / 2;
  const run = (...ptrs: number[]): void => {
    const scr = ptrs[ptrs.length - 1]!;
    const out = ptrs[ptrs.length - 2]!;
    if (fn === "sum") new Float64Array(mem.buffer, scr, (bytes * threads) / 8).fill(0);
    else
      for (let t = 0; t < threads; t++) {
        new Float32Array(mem.buffer, scr + t * bytes, half / 4).fill(fn === "rmax" ? -Infinity : Infinity);
        new Int32Array(mem.buffer, scr + t * bytes + half, half / 4).fill(0);
      }
    inner(...ptrs);
    const y = new Float32Array(mem.buffer, out, all ? 1 : cols);
    if (fn === "sum") {
      const a = new Float64Array(mem.buffer, scr, (bytes * threads) / 8);
      let total = 0;
      for (let c = 0; c < cols; c++) {
        // column c: vector c >> 2, lane c & 3: lanes 0–1 in the lo pair, 2–3 in the hi pair
        const at = (c >> 2) * 4 + (c & 3);
        let v = 0;
        for (let t = 0; t < threads; t++) v += a[t * (bytes / 8) + at]!;
        if (all) total += v;
        else y[c] = epi(Math.fround(v));
      }
      if (all) y[0] = epi(Math.fround(total));
      return;
    }
    const m = new Float32Array(mem.buffer, scr, (bytes * threads) / 4);
    const nan = new Int32Array(mem.buffer, scr, (bytes * threads) / 4);
    let v = fn === "rmax" ? -Infinity : Infinity;
    for (let c = 0; c < cols; c++) {
      if (!all) v = fn === "rmax" ? -Infinity : Infinity;
      for (let t = 0; t < threads; t++) {
        const base = (t * bytes) / 4;
        const x = m[base + c]!;
        if (nan[base + half / 4 + c] !== 0 || x !== x) v = NaN;
        else if (v === v && (fn === "rmax" ? x > v : x < v)) v = x;
      }
      if (!all) y[c] = epi(v);
    }
    if (all) y[0] = epi(v);
  };
  return Object.assign(run, { scratchBytes: bytes });
}
