/**
 * Wasm SIMD code for elementwise and reduce kernels of the kernel IR whose loads walk memory
 * contiguously along the innermost axis (or are constant along it: scalars, per-row values).
 * The kernel is viewed as `rows × cols` (cols = the last output axis, or the reduced axes); each
 * load is `in[off + row·rowCoef + col·colCoef]` with colCoef 0 (splat once per row) or 1 (an
 * `f32x4` load). Float32 only; exp and tanh are f32x4 polynomials (Cephes expf/tanhf, ≤ 2 ulp);
 * sums accumulate in f64x2 like the JS kernels' float64. Anything else falls back to JS codegen.
 *
 * Operands live in one wasm memory (see the arena in program.ts): the executor copies a JS
 * buffer in once per run and reads a result back only when a JS kernel or the caller needs it.
 * That memory is shared when the runtime allows it, and big kernels split their rows with helper
 * threads (flat elementwise kernels are viewed as rows of a few thousand columns for this).
 */
import type { ElementwisePrim } from "../../core/primitives.js";
import { META } from "../../core/primitives.js";
import type { ElementwiseKernel, Idx, Instr, ReduceKernel } from "../../scheduler/ir.js";
import { affine } from "../../scheduler/ir.js";
import { MAX_PAGES, feedChunks, threadCount } from "./matmul.js";
import { FnBuilder, hasSimd, moduleBytes, uleb } from "./wasm.js";

/**
 * A compiled SIMD kernel: call with byte addresses of the kernel's inputs, then its output (for a
 * group: every kernel's inputs and output in order, then, when `scratchBytes` > 0, the address
 * of that many bytes of per-row scratch for each of `simdThreads()` threads, one after another).
 */
export type SimdFn = ((...ptrs: number[]) => void) & {
  readonly scratchBytes?: number;
  /**
   * Runs like the function itself and reports finished rows: `onRows(r0, r1)` is called for
   * consecutive row ranges covering [0, rows) in order, while helper threads may still compute
   * later rows (so the caller can copy results out in parallel). `prepare(r0, r1)` must make
   * rows [r0, r1) of the inputs ready (copy them in): it is called in order, chunk by chunk,
   * while helper threads already compute the rows made ready.
   */
  readonly withRows?: (ptrs: readonly number[], onRows?: (r0: number, r1: number) => void, prepare?: (r0: number, r1: number) => void) => void;
};

/** Smallest kernel (output elements × reduced elements) sent to Wasm SIMD. */
let minElements = 4096;
/** Sets the size threshold for SIMD kernels (tests lower it to exercise the path on small inputs). */
export function setSimdMinElements(n: number): void {
  minElements = n;
}

let memory: WebAssembly.Memory | null | undefined;
let shared = false;

/**
 * The wasm memory SIMD kernels run on (null without Wasm SIMD or with TENFOLD_SIMD=0): shared
 * (for the helper threads) when there are several threads and the runtime allows it.
 */
export function simdMemory(): WebAssembly.Memory | null {
  if (memory !== undefined) return memory;
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  memory = null;
  if (proc?.env?.TENFOLD_SIMD === "0" || !hasSimd()) return memory;
  if (threadCount() > 1 && typeof SharedArrayBuffer !== "undefined") {
    try {
      memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
      shared = true;
    } catch {
      // No shared memory (e.g. a browser without cross-origin isolation): one thread.
    }
  }
  memory ??= new WebAssembly.Memory({ initial: 1 });
  return memory;
}

/** Threads that may run one SIMD kernel at once (each needs its own scratch region). */
export function simdThreads(): number {
  return simdMemory() && shared ? threadCount() : 1;
}

/** Smallest kernel (elements over all kernels of a group) whose rows are shared with helpers. */
const THREAD_MIN = 1 << 18;
/** Elements per chunk of rows claimed at a time. */
const CHUNK = 1 << 15;
/** Most pointer arguments passed to a helper. */
const MAX_ARGS = 240;

/**
 * The helper thread's program: wait for work on `ctl[0]` (1 = posted, 2 = taken, 0 = done or
 * cancelled), take it with a compare-and-swap, compile the kernels posted on its port, and run
 * chunks of rows claimed from the shared counter until none is left. ctl[1..7]: kernel id,
 * argument count, rows, rows per chunk, index of the scratch argument (−1: none), this thread's
 * scratch offset, whether to set counter[1 + i] when chunk i is done, whether to wait until
 * counter[READY] > i (the caller is still copying rows in) before running chunk i; arguments from
 * ctl[16].
 */
const HELPER_SRC = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { mem, ctl, counter, port, ready } = workerData;
const c = new Int32Array(ctl);
const cnt = new Int32Array(counter);
const fns = new Map();
Atomics.store(c, 10, 1);
for (;;) {
  Atomics.wait(c, 0, 0);
  if (Atomics.compareExchange(c, 0, 1, 2) !== 1) continue;
  try {
    for (let m; (m = receiveMessageOnPort(port)); ) fns.set(m.message.id, new WebAssembly.Instance(new WebAssembly.Module(m.message.bytes), { env: { mem } }).exports.k);
    const k = fns.get(c[1]);
    if (k) {
      const n = c[2], rows = c[3], chunk = c[4], si = c[5];
      const args = [];
      for (let i = 0; i < n; i++) args.push(c[16 + i]);
      if (si >= 0) args[si] += c[6];
      args.push(0, 0);
      for (let i, t; (t = (i = Atomics.add(cnt, 0, 1)) * chunk) < rows; ) {
        if (c[8]) for (let r; (r = Atomics.load(cnt, ready)) <= i; ) Atomics.wait(cnt, ready, r);
        args[n] = t; args[n + 1] = Math.min(t + chunk, rows); k(...args); c[11] += args[n + 1] - t;
        if (c[7]) Atomics.store(cnt, 1 + i, 1);
      }
    }
  } finally {
    Atomics.store(c, 0, 0);
    Atomics.notify(c, 0);
  }
}`;

interface Helper { readonly ctl: Int32Array; readonly port: { postMessage(m: unknown): void }; readonly sent: Set<number>; ready: boolean }
let helpers: Helper[] | undefined;
/** Most chunks whose completion is reported (their flags follow the claim counter). */
const MAX_CHUNKS = 1024;
/** Counter cell holding how many chunks of rows the caller has made ready (copied in). */
const READY = 1 + MAX_CHUNKS;
const counter = typeof SharedArrayBuffer !== "undefined" ? new Int32Array(new SharedArrayBuffer((2 + MAX_CHUNKS) * 4)) : new Int32Array(2 + MAX_CHUNKS);

function startHelpers(): Helper[] {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const wt = proc?.getBuiltinModule?.("node:worker_threads") as typeof import("node:worker_threads") | undefined;
  const out: Helper[] = [];
  if (!wt || !shared) return out;
  for (let i = 1; i < threadCount(); i++) {
    try {
      const ctl = new Int32Array(new SharedArrayBuffer((16 + MAX_ARGS) * 4));
      const { port1, port2 } = new wt.MessageChannel();
      const w = new wt.Worker(HELPER_SRC, { eval: true, workerData: { mem: memory, ctl: ctl.buffer, counter: counter.buffer, port: port2, ready: READY }, transferList: [port2] });
      w.unref();
      port1.unref();
      const h: Helper = { ctl, port: port1, sent: new Set(), ready: false };
      w.on("error", () => out.splice(out.indexOf(h), 1));
      out.push(h);
    } catch {
      break;
    }
  }
  return out;
}

let nextId = 0;

/**
 * The helper threads started so far that are ready, and the rows each has run (tests check that
 * big kernels are shared); starts them on first use.
 */
export function simdHelpers(): number[] {
  if (!simdMemory() || !shared) return [];
  return (helpers ??= startHelpers()).filter((h) => h.ready || (h.ready = Atomics.load(h.ctl, 10) === 1)).map((h) => Atomics.load(h.ctl, 11));
}

/**
 * Runs `k(...ptrs, r0, r1)` over rows [0, rows): big kernels share chunks of rows with the ready
 * helper threads through a shared counter (a helper that is slow to start or descheduled does not
 * hold the call up: whatever it does not claim, this thread runs), work no helper took is cancelled.
 */
function threaded(k: (...a: number[]) => void, bytes: Uint8Array, rows: number, perRow: number, scratchBytes: number): SimdFn {
  const id = nextId++;
  const chunk = Math.max(1, Math.floor(CHUNK / perRow));
  const big = shared && rows * perRow >= THREAD_MIN && rows >= 2 * chunk;
  const chunks = Math.ceil(rows / chunk);
  const run = (ptrs: readonly number[], onRows?: (r0: number, r1: number) => void, prepare?: (r0: number, r1: number) => void): void => {
    const n = ptrs.length;
    const ready = big && n <= MAX_ARGS ? (helpers ??= startHelpers()).filter((h) => h.ready || (h.ready = Atomics.load(h.ctl, 10) === 1)) : [];
    if (ready.length === 0) {
      prepare?.(0, rows);
      k(...ptrs, 0, rows);
      onRows?.(0, rows);
      return;
    }
    const flags = onRows !== undefined && chunks <= MAX_CHUNKS;
    // Gated: the helpers start while this thread still copies rows in, chunk by chunk.
    const gated = prepare !== undefined && chunks <= MAX_CHUNKS;
    if (prepare && !gated) prepare(0, rows);
    counter.fill(0, 0, flags ? 1 + chunks : 1);
    counter[READY] = 0;
    ready.forEach((h, i) => {
      if (!h.sent.has(id)) { h.port.postMessage({ id, bytes }); h.sent.add(id); }
      const c = h.ctl;
      c[1] = id; c[2] = n; c[3] = rows; c[4] = chunk; c[5] = scratchBytes ? n - 1 : -1; c[6] = (i + 1) * scratchBytes; c[7] = flags ? 1 : 0; c[8] = gated ? 1 : 0;
      for (let j = 0; j < n; j++) c[16 + j] = ptrs[j]!;
      Atomics.store(c, 0, 1);
      Atomics.notify(c, 0);
    });
    if (gated) feedChunks(counter, READY, chunks, (i) => prepare(i * chunk, Math.min((i + 1) * chunk, rows)));
    // Finished chunks (in order) go to onRows while the helpers compute.
    let done = 0;
    const report = (): void => {
      let e = done;
      while (e < chunks && Atomics.load(counter, 1 + e) === 1) e++;
      if (e > done) onRows!(done * chunk, Math.min(e * chunk, rows));
      done = e;
    };
    const args = [...ptrs, 0, 0];
    for (let i, t; (t = (i = Atomics.add(counter, 0, 1)) * chunk) < rows; ) {
      args[n] = t; args[n + 1] = Math.min(t + chunk, rows); k(...args);
      if (flags) { Atomics.store(counter, 1 + i, 1); report(); }
    }
    for (const { ctl: c } of ready) {
      if (Atomics.compareExchange(c, 0, 1, 0) === 1) continue;
      while (Atomics.load(c, 0) !== 0) Atomics.wait(c, 0, 2);
    }
    if (flags) report();
    else onRows?.(0, rows);
  };
  const fn = (...ptrs: number[]): void => run(ptrs);
  return Object.assign(fn, { withRows: run, ...(scratchBytes ? { scratchBytes } : {}) });
}

/** SIMD opcodes used here (after 0xfd). */
const OP = {
  load: 0x00, load32Splat: 0x09, store: 0x0b, const: 0x0c, shuffle: 0x0d, f32Extract: 0x1f, f64Extract: 0x21,
  f32Lt: 0x43, and: 0x4e, or: 0x50, bitselect: 0x52, anyTrue: 0x53, promoteLow: 0x5f, nearest: 0x6a, floor: 0x68,
  i32Shl: 0xab, i32ShrS: 0xac, i32Add: 0xae, i32Sub: 0xb1,
  abs: 0xe0, neg: 0xe1, sqrt: 0xe3, add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7, min: 0xe8, max: 0xe9, pmin: 0xea, pmax: 0xeb,
  f64Add: 0xf0, truncSat: 0xf8,
} as const;

const f32x4 = (v: number): number[] => [...new Uint8Array(new Float32Array([v, v, v, v]).buffer)];
const i32x4 = (v: number): number[] => [...new Uint8Array(new Int32Array([v, v, v, v]).buffer)];


/**
 * v128 constants, hoisted into locals set once ahead of the loops (V8 rematerializes a
 * `v128.const` on every use otherwise).
 */
class Consts {
  readonly #locals = new Map<string, string>();
  constructor(readonly f: FnBuilder) {}
  /** Pushes the f32x4 (or, with `int`, i32x4) splat of v. */
  push(v: number, int = false): FnBuilder {
    const key = `${int ? "i" : "f"}${Object.is(v, -0) ? "-0" : v}`;
    let l = this.#locals.get(key);
    if (!l) {
      l = `k${this.#locals.size}`;
      this.f.local(l, "v128");
      this.#locals.set(key, l);
    }
    return this.f.get(l);
  }
  /** Code setting every constant local. */
  prologue(): number[] {
    const out: number[] = [];
    for (const [key, l] of this.#locals) {
        const v = Number(key.slice(1));
      out.push(0xfd, OP.const, ...(key[0] === "i" ? i32x4(v) : f32x4(v)), 0x21, ...this.f.localIndex(l));
    }
    return out;
  }
}

/** Magic number 1.5·2^23: adding it rounds a float32 below 2^22 to an integer in the low mantissa bits. */
const MAGIC = 12582912;

/** exp(x) for the v128 in local `x`, pushed on the stack (scratch locals xt, xn, xr, xi). */
function emitExp(f: FnBuilder, K: Consts, x: string): void {
  const c = (v: number): FnBuilder => K.push(v);
  // Range reduction: n = round(x·log2e) by adding a magic number (n sits in the low mantissa
  // bits of xi), r = x − n·ln2 in two steps (Cody–Waite), then e^r by a degree-6 polynomial.
  const reduce = (src: string, magic: number): void => {
    f.get(src); c(1.4426950408889634); f.simd(OP.mul); c(magic); f.simd(OP.add).set("xi");
    f.get("xi"); c(magic); f.simd(OP.sub).set("xn");
    f.get(src).get("xn"); c(0.693359375); f.simd(OP.mul).simd(OP.sub);
    f.get("xn"); c(-2.12194440e-4); f.simd(OP.mul).simd(OP.sub).set("xr");
    const coef = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
    // p(r) = c0·r⁵ + … + c5 by Estrin's scheme (a shorter dependency chain than Horner's):
    // ((c0·r + c1)·r² + (c2·r + c3))·r² + (c4·r + c5); then e^r = p·r² + r + 1.
    const lin = (a: number, b: number): void => { f.get("xr"); c(a); f.simd(OP.mul); c(b); f.simd(OP.add); };
    f.get("xr").get("xr").simd(OP.mul).set("xq");
    lin(coef[0]!, coef[1]!); f.get("xq").simd(OP.mul); lin(coef[2]!, coef[3]!); f.simd(OP.add);
    f.get("xq").simd(OP.mul); lin(coef[4]!, coef[5]!); f.simd(OP.add);
    f.get("xq").simd(OP.mul).get("xr").simd(OP.add);
    c(1); f.simd(OP.add);
  };
  // Whole vector in [−87, 88] (n in [−126, 127]): the magic number also carries the exponent
  // bias, so xi's bits shifted left by 23 are 2^n; one multiply (a denormal result rounds once).
  f.get(x); c(-87); f.simd(OP.f32Lt);
  c(88); f.get(x); f.simd(OP.f32Lt).simd(OP.or).simd(OP.anyTrue);
  f.op(0x04, 0x7b); // if (some lane outside) → v128
  // × 2^n as 2^(n>>1) · 2^(n − n>>1): both factors stay normal for n in [−150, 128] (x clamped
  // to [−104, 89]; pmax/pmin keep a NaN in their first operand).
  f.get(x); c(-104); f.simd(OP.pmax); c(89); f.simd(OP.pmin).set("xt");
  reduce("xt", MAGIC);
  f.get("xi"); K.push(0x4b400000, true); f.simd(OP.i32Sub).set("xi");
  f.get("xi").i32(1).simd(OP.i32ShrS); K.push(127, true); f.simd(OP.i32Add).i32(23).simd(OP.i32Shl).simd(OP.mul);
  f.get("xi").get("xi").i32(1).simd(OP.i32ShrS).simd(OP.i32Sub); K.push(127, true); f.simd(OP.i32Add).i32(23).simd(OP.i32Shl).simd(OP.mul);
  f.op(0x05); // else
  reduce(x, MAGIC + 127);
  f.get("xi").i32(23).simd(OP.i32Shl).simd(OP.mul);
  f.op(0x0b);
}

/** tanh(x) pushed on the stack: odd polynomial below |x| = 0.625, else 1 − 2/(e^2|x| + 1) with x's sign. */
function emitTanh(f: FnBuilder, K: Consts, x: string): void {
  const c = (v: number): FnBuilder => K.push(v);
  f.get(x).simd(OP.abs).set("ta");
  f.get(x).get(x).simd(OP.mul).set("tz");
  f.get("tz"); c(-5.70498872745e-3); f.simd(OP.mul);
  for (const k of [2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1]) { c(k); f.simd(OP.add).get("tz").simd(OP.mul); }
  c(-3.33332819422e-1); f.simd(OP.add).get("tz").simd(OP.mul).get(x).simd(OP.mul).get(x).simd(OP.add); // small branch
  f.get("ta").get("ta").simd(OP.add).set("tt");
  c(1); c(2);
  emitExp(f, K, "tt");
  c(1); f.simd(OP.add).simd(OP.div).simd(OP.sub);
  f.get(x); K.push(-0x80000000, true); f.simd(OP.and).simd(OP.or); // large branch with x's sign
  f.get("ta"); c(0.625); f.simd(OP.f32Lt).simd(OP.bitselect);
}

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

/** Whether a load reads one element for the whole kernel. */
const fixed = (a: Access): boolean => a.colCoef === 0 && a.rowCoef === 0 && !a.terms;

/** Pushes one elementwise primitive's f32x4 result computed from the v128 locals `args`. */
type LaneEmit = (f: FnBuilder, K: Consts, args: readonly string[]) => void;
const lanes = (op: number): LaneEmit => (f, _K, args) => {
  for (const a of args) f.get(a);
  f.simd(op);
};

/**
 * Every elementwise primitive in f32x4 lanes, each its definition in core/semantics.ts: the
 * IEEE lane ops are exactly float32 rounding of the definition (add, mul, div, sqrt, floor,
 * round half to even = f32x4.nearest, NaN-propagating max/min ordering ±0, comparisons as lane
 * masks); exp and tanh are polynomials within the ulp bound documented there. `null`: kernels
 * using it fall back to the JS emitter.
 */
const LANES: { readonly [P in ElementwisePrim]: LaneEmit | null } = {
  neg: lanes(OP.neg),
  exp: (f, K, [x]) => emitExp(f, K, x!),
  tanh: (f, K, [x]) => emitTanh(f, K, x!),
  sqrt: lanes(OP.sqrt),
  floor: lanes(OP.floor),
  round: lanes(OP.nearest),
  log: null, expm1: null, log1p: null, sin: null, cos: null, erf: null,
  add: lanes(OP.add),
  mul: lanes(OP.mul),
  div: lanes(OP.div),
  max: lanes(OP.max),
  min: lanes(OP.min),
  pow: null,
  eq: lanes(0x41),
  ne: lanes(0x42),
  lt: lanes(0x43),
  le: lanes(0x45),
  where: (f, _K, [c, a, b]) => { f.get(a!).get(b!).get(c!).simd(OP.bitselect); },
  cast: (f, K, [x]) => { f.get(x!); K.push(1); f.simd(OP.and); }, // bool mask → 1.0 / 0.0
  shrl: null,
  threefry: null,
};

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
}

const cache = new Map<string, SimdFn>();

/** Row length of a flat elementwise kernel viewed as rows (see simdPlan). */
const FLAT = 4096;

/**
 * Column vectors per inner-loop iteration when a row's vector count divides by it: a reduction
 * keeps one accumulator per unrolled vector (independent dependency chains: the f64 adds and the
 * NaN-propagating f32x4.max are latency-bound with one), and the loop overhead is shared.
 */
const UNROLL = 4;

/** Whether kernels using `p` can run in Wasm SIMD lanes (float32 operands). */
export function hasSimdLanes(p: ElementwisePrim): boolean {
  return LANES[p] !== null;
}

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
  if (total < minElements) return undefined;
  if (red && (!["sum", "rmax", "rmin"].includes(k.fn) || k.epilogue.length !== 1 || k.epilogue[0]!.op !== "acc")) return undefined;
  for (const i of k.body) {
    // Bool values only as masks: float comparisons, read by where (as its condition) and casts.
    if (i.op === "binary" && META[i.fn].predicate) {
      if (i.argDtype !== "float32" || i.dtype !== "bool") return undefined;
      continue;
    }
    if (i.dtype !== "float32") return undefined;
    if (i.op === "unary" && !LANES[i.fn]) return undefined;
    if (i.op === "binary" && (!LANES[i.fn] || i.argDtype !== "float32")) return undefined;
    if (i.op === "cast" && i.from !== "bool") return undefined;
    if (i.op === "where" && k.body[i.c]!.dtype !== "bool") return undefined;
    if (i.op !== "load" && i.op !== "const" && i.op !== "unary" && i.op !== "binary" && i.op !== "where" && i.op !== "cast") return undefined;
  }
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
  if (k.body.some((i, j) => i.op === "load" && !acc[j])) return undefined;
  // Collapse to one row when every load is flat or a scalar (no per-row values, no row gaps).
  // (Viewed as rows of FLAT columns when the size allows, so that helper threads can share it.)
  if (!red && acc.every((a) => !a || (a.colCoef === 1 && a.rowCoef === cols && !a.terms) || fixed(a))) {
    const total = cols * rows;
    cols = total % FLAT === 0 && total > FLAT ? FLAT : total;
    rows = total / cols;
    for (let j = 0; j < acc.length; j++) if (acc[j]?.colCoef === 1) acc[j] = { ...acc[j]!, rowCoef: rows > 1 ? cols : 0 };
  } else if (cols % 4 !== 0) return undefined;
  if (red && cols % 4 !== 0) return undefined;
  return { body: k.body, acc, nIn: k.inputs.length, rows, cols, reduce: red ? k.fn : undefined };
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
  if (!fn) {
    fn = build(plans, simdMemory()!, share);
    cache.set(key, fn);
  }
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
  const regionBytes = Math.ceil(plans[0]!.cols / 4) * 16;
  if (share.regions > 0) params.push("scr");
  params.push("r0", "r1");
  const f = new FnBuilder(params);
  f.local("row", "i32").local("c", "i32").local("po", "i32");
  for (const l of ["xt", "xn", "xr", "xi", "xq", "ta", "tz", "tt"]) f.local(l, "v128");
  for (let u = 0; u < UNROLL; u++) f.local(`alo${u}`, "v128").local(`ahi${u}`, "v128");
  const K = new Consts(f);
  const rowCode = plans.map((p, g) => emitPlan(f, K, p, `g${g}`, share.keep[g]!, share.reuse[g]!, regionBytes));
  const at = f.code.length;
  f.loop("row", (b) => b.get("r0"), (b) => b.get("r1"), (b) => b.i32(1), () => {
    for (const r of rowCode) r();
  });
  f.code.splice(at, 0, ...K.prologue());
  const bytes = moduleBytes([{ name: "k", fn: f }], shared ? MAX_PAGES : undefined);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { mem } });
  const k = inst.exports.k as (...a: number[]) => void;
  return threaded(k, bytes, plans[0]!.rows, plans.reduce((s, p) => s + p.cols, 0), share.regions * regionBytes);
}

/** Declares a plan's locals and emits its hoisted code; returns the emitter of its per-row code. */
function emitPlan(f: FnBuilder, K: Consts, plan: SimdPlan, P: string, keep: ReadonlyMap<number, number>, reuse: ReadonlyMap<number, number>, regionBytes: number): () => void {
  const { body, acc, cols, reduce } = plan;
  // Instructions the result needs (a reused value's operands are not computed).
  const need = new Set<number>();
  const mark = (j: number): void => {
    if (need.has(j)) return;
    need.add(j);
    const i = body[j]!;
    if (reuse.has(j)) return;
    if (i.op === "unary" || i.op === "cast") mark(i.x);
    else if (i.op === "binary") { mark(i.a); mark(i.b); }
    else if (i.op === "where") { mark(i.c); mark(i.a); mark(i.b); }
  };
  mark(body.length - 1);
  const scratch = (r: number): void => { f.get("scr").i32(r * regionBytes).add().get("c").add(); };
  body.forEach((_, j) => f.local(`${P}v${j}`, "v128"));
  acc.forEach((a, j) => { if (a?.colCoef === 1) f.local(`${P}p${j}`, "i32"); });
  const v = (j: number): string => `${P}v${j}`;
  const addr = (j: number, a: Access, withRow: boolean): void => {
    const i = body[j] as Extract<Instr, { op: "load" }>;
    f.get(`${P}in${i.input}`).i32(a.off * 4).add();
    if (withRow && a.rowCoef !== 0) f.get("row").i32(a.rowCoef * 4).mul().add();
    if (withRow) for (const t of a.terms ?? []) f.get("row").i32(t.div).op(0x6e).i32(t.mod).op(0x70).i32(t.coef * 4).mul().add(); // ((row / div) % mod)·coef
  };
  // Hoisted: constants and loads constant over the whole kernel.
  body.forEach((i, j) => {
    if (i.op === "const") f.simd(OP.const, ...f32x4(i.value)).set(v(j));
    const a = acc[j];
    if (a && fixed(a)) { addr(j, a, false); f.simd(OP.load32Splat, 2, 0).set(v(j)); }
  });
  const emitInstr = (i: Instr, j: number, off: number): void => {
    switch (i.op) {
      case "load":
        if (acc[j]!.colCoef === 1) f.get(`${P}p${j}`).get("c").add().simd(OP.load, 0, ...uleb(off)).set(v(j));
        return;
      case "unary":
        LANES[i.fn]!(f, K, [v(i.x)]);
        f.set(v(j));
        return;
      case "binary":
        LANES[i.fn]!(f, K, [v(i.a), v(i.b)]);
        f.set(v(j));
        return;
      case "where":
        LANES.where!(f, K, [v(i.c), v(i.a), v(i.b)]);
        f.set(v(j));
        return;
      case "cast":
        LANES.cast!(f, K, [v(i.x)]);
        f.set(v(j));
        return;
      default:
        return;
    }
  };
  const ident = reduce === "rmax" ? -Infinity : Infinity;
  const vecs = Math.ceil(cols / 4);
  const U = vecs % UNROLL === 0 ? UNROLL : vecs % 2 === 0 ? 2 : 1;
  const last = v(body.length - 1);
  const out = `${P}out`;
  return () => {
    acc.forEach((a, j) => {
      if (!a || fixed(a) || !need.has(j)) return;
      addr(j, a, true);
      if (a.colCoef === 1) f.set(`${P}p${j}`);
      else f.simd(OP.load32Splat, 2, 0).set(v(j));
    });
    if (!reduce) f.get(out).get("row").i32(cols * 4).mul().add().set("po");
    for (let u = 0; u < U; u++) {
      if (reduce === "sum") f.simd(OP.const, ...f32x4(0)).set(`alo${u}`).simd(OP.const, ...f32x4(0)).set(`ahi${u}`);
      else if (reduce) f.simd(OP.const, ...f32x4(ident)).set(`alo${u}`);
    }
    f.loop("c", (g) => g.i32(0), (g) => g.i32(vecs * 16), (g) => g.i32(U * 16), () => {
      for (let u = 0; u < U; u++) {
        const off = u * 16;
        const alo = `alo${u}`;
        const ahi = `ahi${u}`;
        body.forEach((i, j) => {
          if (!need.has(j)) return;
          const r = reuse.get(j);
          if (r !== undefined) { scratch(r); f.simd(OP.load, 0, ...uleb(off)).set(v(j)); return; }
          emitInstr(i, j, off);
          const kr = keep.get(j);
          if (kr !== undefined) { scratch(kr); f.get(v(j)).simd(OP.store, 0, ...uleb(off)); }
        });
        if (!reduce) f.get("po").get("c").add().get(last).simd(OP.store, 0, ...uleb(off));
        else if (reduce === "sum") {
          f.get(last).simd(OP.promoteLow).get(alo).simd(OP.f64Add).set(alo);
          f.get(last).get(last).simd(OP.shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15).simd(OP.promoteLow).get(ahi).simd(OP.f64Add).set(ahi);
        } else f.get(alo).get(last).simd(reduce === "rmax" ? OP.max : OP.min).set(alo);
      }
    });
    if (reduce) {
      // Combine the unrolled accumulators pairwise into alo0 (and ahi0).
      for (let w = 1; w < U; w *= 2) {
        for (let u = 0; u + w < U; u += 2 * w) {
          if (reduce === "sum") {
            f.get(`alo${u}`).get(`alo${u + w}`).simd(OP.f64Add).set(`alo${u}`);
            f.get(`ahi${u}`).get(`ahi${u + w}`).simd(OP.f64Add).set(`ahi${u}`);
          } else f.get(`alo${u}`).get(`alo${u + w}`).simd(reduce === "rmax" ? OP.max : OP.min).set(`alo${u}`);
        }
      }
      f.get(out).get("row").i32(4).mul().add();
      if (reduce === "sum") {
        f.get("alo0").get("ahi0").simd(OP.f64Add).set("alo0");
        f.get("alo0").simd(OP.f64Extract, 0).get("alo0").simd(OP.f64Extract, 1).op(0xa0, 0xb6); // f64.add; f32.demote_f64
      } else {
        const m = reduce === "rmax" ? 0x97 : 0x96;
        f.get("alo0").simd(OP.f32Extract, 0).get("alo0").simd(OP.f32Extract, 1).op(m).get("alo0").simd(OP.f32Extract, 2).op(m).get("alo0").simd(OP.f32Extract, 3).op(m);
      }
      f.op(0x38, 2, 0); // f32.store
    }
  };
}
