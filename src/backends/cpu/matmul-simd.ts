/**
 * The Wasm SIMD gemm: a runtime-generated packed kernel (MR×NR register tiles, K and M blocks) in
 * a shared wasm memory, helper threads that split big products by rows or columns, the memory
 * limit, and the fused entry points (packed-B hooks, kept C) the CPU program uses.
 */
import { MR, NR, gemmFn, hasSimd, moduleBytes, packbFn, relaxedSimd, tgemmFn } from "./wasm.js";
import type { Strided } from "./matmul-js.js";
import { sgemm } from "./matmul-js.js";
import { armHelper, awaitHelpers, failureSrc, gateFor } from "./helper-guard.js";
import { copyRows, packATilesWasm, rawABytes } from "./matmul-pack.js";

/** Control cells of a gemm helper: 1 when its kernel threw (cleared by the caller), and the injected failure. */
export const GEMM_ERR = 32;
export const GEMM_FAIL = 33;

type GemmFn = (pa: number, pb: number, pc: number, mt: number, np: number, k: number, kc: number, mb: number, ldc: number) => void;
type TgemmFn = (...args: number[]) => void;

interface WasmGemm {
  readonly mem: WebAssembly.Memory;
  readonly gemm: GemmFn;
  readonly tgemm: TgemmFn;
  readonly packb: TgemmFn;
  readonly fma: boolean;
  /** Helper threads (each runs a share of the row tiles), ready or still starting. */
  readonly workers: { readonly ctl: Int32Array; ready: boolean }[];
  /** Shared chunk counter (next chunk of MB row tiles to claim). */
  readonly counter: Int32Array;
}

let wasmGemm: WasmGemm | null | undefined;

/** Most chunks of one table gemm (their done flags follow the claim counter). */
export const MAX_CHUNKS = 1024;
/** Counter cell holding how many row chunks of A the caller has packed (a gated row split). */
export const READY = 1 + MAX_CHUNKS;

/** Largest shared wasm memory (pages of 64 KiB): 2 GiB. */
export const MAX_PAGES = 32768;

let memLimit = MAX_PAGES * 65536 - 65536;
/**
 * Bytes of wasm memory a kernel may use (just under the 2 GiB maximum); bigger work runs on the
 * JS kernels instead of failing to grow the memory. Tests lower it to exercise the fallbacks.
 */
export function wasmMemoryLimit(): number {
  return memLimit;
}
/** Sets `wasmMemoryLimit` (tests). */
export function setWasmMemoryLimit(bytes: number): void {
  memLimit = bytes;
}

/** Wasm memory bytes of an m×k by k×n SIMD product: packed A and B, C, a raw copy of B. */
function gemmBytes(m: number, n: number, k: number): number {
  const mt = Math.ceil(m / MR);
  const np = Math.ceil(n / NR);
  return (mt * MR * k + np * NR * k + mt * MR * np * NR + k * n) * 4 + 64;
}

/**
 * The helper thread's program: instantiate the same module on the shared memory, then wait for
 * work on `ctl[0]` (1 = posted, 2 = taken, 0 = done or cancelled), take it with a compare-and-swap
 * (the poster cancels work nobody took), and run chunks of MB row tiles claimed from the shared
 * counter until none is left. Args in ctl[1..9]: pa, pb, pc, mt, np, k, kc, mb, ldc; ctl[11] is the
 * split (0: chunks of mb row tiles; 1: chunks of ctl[12] column panels, for products with few rows;
 * 2: chunks of ctl[12] panels of the table gemm `tgemm`, args in ctl[13..31], panel count ctl[20],
 * scratch ctl[31], chunk i done sets counter[1 + i]; 3: the same once counter[READY] > i).
 * Whatever the work throws sets ctl[GEMM_ERR] (see helper-guard.ts) and the helper goes on.
 */
const WORKER_SRC = `
const { workerData } = require("node:worker_threads");
const { mem, bytes, ctl, counter, mr, nr, maxChunks, ready } = workerData;
const c = new Int32Array(ctl);
const cnt = new Int32Array(counter);
const { gemm, tgemm } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem } }).exports;
Atomics.store(c, 10, 1);
for (;;) {
  Atomics.wait(c, 0, 0);
  if (Atomics.compareExchange(c, 0, 1, 2) !== 1) continue;
  try {
  ${failureSrc(GEMM_FAIL)}
  const pa = c[1], pb = c[2], pc = c[3], mt = c[4], np = c[5], k = c[6], kc = c[7], mb = c[8], ldc = c[9], pn = c[12];
  if (c[11] >= 2) {
    const a = Array.from(c.subarray(13, 32));
    for (let ci, j; (j = (ci = Atomics.add(cnt, 0, 1)) * pn) < a[7]; ) {
      if (c[11] === 3) for (let r; (r = Atomics.load(cnt, ready)) <= ci; ) Atomics.wait(cnt, ready, r);
      a[6] = j;
      a[7] = Math.min(pn, c[20] - j);
      tgemm(...a);
      a[7] = c[20];
      Atomics.store(cnt, 1 + ci, 1);
    }
  } else if (c[11] === 0) {
    for (let i, t; (t = (i = Atomics.add(cnt, 0, 1)) * mb) < mt; ) {
      if (c[13]) for (let r; (r = Atomics.load(cnt, ready)) <= i; ) Atomics.wait(cnt, ready, r);
      gemm(pa + t * k * mr * 4, pb, pc + t * mr * ldc, Math.min(mb, mt - t), np, k, kc, mb, ldc);
      if (i < maxChunks) Atomics.store(cnt, 1 + i, 1);
    }
  } else {
    for (let j; (j = Atomics.add(cnt, 0, 1) * pn) < np; ) gemm(pa, pb + j * k * nr * 4, pc + j * nr * 4, mt, Math.min(pn, np - j), k, kc, mb, ldc);
  }
  } catch {
    Atomics.store(c, ${GEMM_ERR}, 1);
  }
  Atomics.store(c, 0, 0);
  Atomics.notify(c, 0);
}`;

/** Number of threads (this one included) for big matmuls: TENFOLD_THREADS or the core count (≤ 4). */
export function threadCount(): number {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const env = Number(proc?.env?.TENFOLD_THREADS);
  if (env >= 1) return Math.min(env, 8);
  const os = proc?.getBuiltinModule?.("node:os") as typeof import("node:os") | undefined;
  return Math.min(os ? (os.availableParallelism?.() ?? os.cpus().length) : 1, 4);
}

function startWorkers(mem: WebAssembly.Memory, bytes: Uint8Array, n: number, counter: Int32Array): WasmGemm["workers"] {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const wt = proc?.getBuiltinModule?.("node:worker_threads") as typeof import("node:worker_threads") | undefined;
  if (!wt || n <= 1 || typeof SharedArrayBuffer === "undefined") return [];
  const out: WasmGemm["workers"] = [];
  for (let i = 1; i < n; i++) {
    try {
      const ctl = new Int32Array(new SharedArrayBuffer(40 * 4));
      const w = new wt.Worker(WORKER_SRC, {
        eval: true,
        workerData: { mem, bytes, ctl: ctl.buffer, counter: counter.buffer, mr: MR, nr: NR, maxChunks: MAX_CHUNKS, ready: READY },
      });
      w.unref();
      const entry = { ctl, ready: false };
      w.on("error", () => out.includes(entry) && out.splice(out.indexOf(entry), 1));
      out.push(entry);
    } catch {
      break;
    }
  }
  return out;
}

/** The runtime-generated SIMD gemm (null when the runtime lacks Wasm SIMD). */
export function simdGemm(): WasmGemm | null {
  if (wasmGemm !== undefined) return wasmGemm;
  wasmGemm = null;
  if (!hasSimd()) return null;
  const fma = relaxedSimd();
  const fn = [
    { name: "gemm", fn: gemmFn(fma) },
    { name: "tgemm", fn: tgemmFn(fma) },
    { name: "packb", fn: packbFn() },
  ];
  const threads = threadCount();
  if (threads > 1 && typeof SharedArrayBuffer !== "undefined") {
    try {
      const mem = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
      const bytes = moduleBytes(fn, MAX_PAGES);
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { mem } });
      const counter = new Int32Array(new SharedArrayBuffer((2 + MAX_CHUNKS) * 4));
      wasmGemm = {
        mem,
        gemm: inst.exports.gemm as GemmFn,
        tgemm: inst.exports.tgemm as TgemmFn,
        packb: inst.exports.packb as TgemmFn,
        fma,
        counter,
        workers: startWorkers(mem, bytes, threads, counter),
      };
      return wasmGemm;
    } catch {
      // No shared memory (e.g. a browser without cross-origin isolation): one thread.
    }
  }
  const mem = new WebAssembly.Memory({ initial: 16 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(fn) as BufferSource), { env: { mem } });
  wasmGemm = {
    mem,
    gemm: inst.exports.gemm as GemmFn,
    tgemm: inst.exports.tgemm as TgemmFn,
    packb: inst.exports.packb as TgemmFn,
    fma,
    counter: new Int32Array(2 + MAX_CHUNKS),
    workers: [],
  };
  return wasmGemm;
}

/** How often big products were shared with helper threads, by split (tests and diagnostics). */
export const gemmSplits = { rows: 0, columns: 0 };

/** Column panels per claimed chunk when a product is split by columns. */
const PN = 64;
/** Smallest m·n·k split across threads. */
export const THREAD_MIN_WORK = 1 << 22;

/**
 * Prepares chunks 0, 1, ... in order (`prepare(i)`: copy or pack its inputs), publishing after
 * each that it is ready in `counter[cell]`, where helper threads wait for the chunk they claimed.
 * On an error every chunk is released, so that no helper is left waiting.
 */
export function feedChunks(counter: Int32Array, cell: number, chunks: number, prepare: (i: number) => void): void {
  try {
    for (let i = 0; i < chunks; i++) {
      prepare(i);
      Atomics.store(counter, cell, i + 1);
      Atomics.notify(counter, cell);
    }
  } finally {
    Atomics.store(counter, cell, chunks);
    Atomics.notify(counter, cell);
  }
}

/**
 * Runs the kernel over all row tiles. Big products are shared with the ready helper threads:
 * every thread claims chunks of MB row tiles from a shared counter (so a helper descheduled by
 * other load does not hold the call up), and work no helper took is cancelled. `packA(t0, t1)`
 * packs A's row tiles (chunk by chunk while the helpers start, for a row split); `rowsDone`
 * receives finished row-tile ranges in order (C is copied out while the helpers still compute).
 */
function runGemm(
  w: WasmGemm,
  pb: number,
  pc: number,
  mt: number,
  np: number,
  k: number,
  ldc: number,
  work: number,
  rowsDone?: (t0: number, t1: number) => void,
  packA?: (t0: number, t1: number) => void,
): void {
  // Few row tiles (e.g. conv: 64 output channels × many pixels): split the column panels instead.
  const byRows = mt > MB;
  const splittable = byRows || np >= 4 * PN;
  // A row split whose recent shared calls were slower than one thread would have been (helpers
  // descheduled on a loaded machine) runs on this thread for a while (see ShareGate).
  const gate = work >= THREAD_MIN_WORK && byRows ? gateFor("gemm", `${mt},${np},${k}`) : undefined;
  const ready =
    work >= THREAD_MIN_WORK && splittable && (!gate || gate.share()) ? w.workers.filter((x) => x.ready || (x.ready = Atomics.load(x.ctl, 10) === 1)) : [];
  if (ready.length === 0) {
    packA?.(0, mt);
    w.gemm(0, pb, pc, mt, np, k, KC, MB, ldc);
    rowsDone?.(0, mt);
    return;
  }
  const cnt = w.counter;
  // Chunks of MB row tiles, or of fewer (at least 4) when that leaves under two per thread (128
  // rows on two threads: four chunks of 8 tiles balance better than two of 16).
  const mb = Math.max(4, Math.min(MB, Math.ceil(mt / (2 * (ready.length + 1)))));
  const chunks = Math.ceil(mt / mb);
  // Gated: the helpers start on row chunks while this thread still packs A's later ones.
  const gated = packA !== undefined && byRows && chunks <= MAX_CHUNKS;
  if (packA && !gated) packA(0, mt);
  cnt.fill(0, 0, 1 + Math.min(chunks, MAX_CHUNKS));
  cnt[READY] = 0;
  const armed = new Set<(typeof ready)[number]>();
  for (const h of ready) {
    const c = h.ctl;
    if (armHelper("gemm", c, GEMM_FAIL)) armed.add(h);
    c[1] = 0;
    c[2] = pb;
    c[3] = pc;
    c[4] = mt;
    c[5] = np;
    c[6] = k;
    c[7] = KC;
    c[8] = mb;
    c[9] = ldc;
    c[11] = byRows ? 0 : 1;
    c[12] = PN;
    c[13] = gated ? 1 : 0;
    Atomics.store(c, 0, 1);
    Atomics.notify(c, 0);
  }
  if (gated) feedChunks(cnt, READY, chunks, (i) => packA(i * mb, Math.min((i + 1) * mb, mt)));
  if (byRows) gemmSplits.rows++;
  else gemmSplits.columns++;
  // Row chunks finished by any thread are handed to rowsDone in order while the helpers work.
  let copied = 0;
  const overlap = byRows && rowsDone && chunks <= MAX_CHUNKS;
  const flush = (): void => {
    let e = copied;
    while (e < chunks && Atomics.load(cnt, 1 + e) === 1) e++;
    if (e > copied) rowsDone!(copied * mb, Math.min(e * mb, mt));
    copied = e;
  };
  const t0 = performance.now();
  let mine = 0; // row tiles this thread ran
  if (byRows) {
    for (let i, t; (t = (i = Atomics.add(cnt, 0, 1)) * mb) < mt;) {
      w.gemm(t * k * MR * 4, pb, pc + t * MR * ldc, Math.min(mb, mt - t), np, k, KC, mb, ldc);
      mine += Math.min(mb, mt - t);
      if (i < MAX_CHUNKS) Atomics.store(cnt, 1 + i, 1);
      if (overlap) flush();
    }
  } else {
    for (let j; (j = Atomics.add(cnt, 0, 1) * PN) < np;) w.gemm(0, pb + j * k * NR * 4, pc + j * NR * 4, mt, Math.min(PN, np - j), k, KC, MB, ldc);
  }
  const t1 = performance.now();
  awaitHelpers("cpu matmul", w.workers, ready, GEMM_ERR, armed, () => Atomics.load(cnt, 0));
  gate?.report(t1 - t0, performance.now() - t1, mine / mt);
  if (overlap) flush();
  else rowsDone?.(0, mt);
}

/** Smallest m·n·k sent to the SIMD kernel (below, the float64 JS kernel is as fast and exact). */
const SIMD_MIN_WORK = 4096;
/** K block (floats) and M block (row tiles) of the SIMD kernel. */
const KC = 256;
const MB = 16;

/** Packs row tiles [t0, t1) of A (m×k) at float `at` of `f` as MR-row tiles: f[at + (tile·k + p)·MR + r], rows past m zero. */
export function packATiles(f: Float32Array, A: Strided, m: number, k: number, at = 0, t0 = 0, t1 = Math.ceil(m / MR)): void {
  const ad = A.data;
  const mr = MR; // a local: under tsx/vitest an imported binding is a getter call per access
  if (A.rs === 1 && A.cs !== 1) {
    // A transposed (its columns contiguous): each k step reads MR neighbours of one line
    const cs = A.cs;
    for (let t = t0; t < t1; t++) {
      const i0 = t * mr;
      const full = i0 + mr <= m;
      let q = at + t * k * mr;
      let src = A.off + i0;
      if (full && mr === 4)
        for (let p = 0; p < k; p++, src += cs, q += 4) {
          f[q] = ad[src]!;
          f[q + 1] = ad[src + 1]!;
          f[q + 2] = ad[src + 2]!;
          f[q + 3] = ad[src + 3]!;
        }
      else for (let p = 0; p < k; p++, src += cs) for (let r = 0; r < mr; r++) f[q++] = i0 + r < m ? ad[src + r]! : 0;
    }
    return;
  }
  if (mr === 4 && A.cs === 1) {
    // row-major A: four row streams read in step, the tile written in order
    const rs = A.rs;
    for (let t = t0; t < t1; t++) {
      const i0 = t * 4;
      let q = at + t * k * 4;
      if (i0 + 4 <= m) {
        const s0 = A.off + i0 * rs;
        const s1 = s0 + rs;
        const s2 = s1 + rs;
        const s3 = s2 + rs;
        for (let p = 0; p < k; p++, q += 4) {
          f[q] = ad[s0 + p]!;
          f[q + 1] = ad[s1 + p]!;
          f[q + 2] = ad[s2 + p]!;
          f[q + 3] = ad[s3 + p]!;
        }
      } else for (let p = 0; p < k; p++) for (let r = 0; r < 4; r++, q++) f[q] = i0 + r < m ? ad[A.off + (i0 + r) * rs + p]! : 0;
    }
    return;
  }
  for (let t = t0; t < t1; t++) {
    for (let r = 0; r < mr; r++) {
      const i = t * mr + r;
      let q = at + t * k * mr + r;
      if (i < m) {
        let src = A.off + i * A.rs;
        const cs = A.cs;
        for (let p = 0; p < k; p++, q += mr, src += cs) f[q] = ad[src]!;
      } else for (let p = 0; p < k; p++, q += mr) f[q] = 0;
    }
  }
}

/**
 * sgemm on the Wasm SIMD kernel: A and B are packed into wasm memory (MR-row tiles, NR-column
 * panels), the kernel accumulates in float32, and C is copied out once.
 */
function sgemmSimd(
  w: WasmGemm,
  A: Strided,
  B: Strided | NonNullable<GemmHooks["packB"]>,
  C: Float32Array | Int32Array | Uint8Array,
  cOff: number,
  m: number,
  n: number,
  k: number,
  keepC?: GemmHooks["keepC"],
): void {
  const mt = Math.ceil(m / MR);
  const np = Math.ceil(n / NR);
  const ldc = np * NR;
  const aFloats = mt * MR * k;
  const bFloats = np * NR * k;
  const end = (aFloats + bFloats + mt * MR * ldc) * 4;
  // A row-major float B is copied as is after the product and packed by the wasm routine.
  const raw = typeof B !== "function" && B.cs === 1 && B.rs >= n && B.data instanceof Float32Array && np > 1 ? end : 0;
  const bBytes = raw ? raw + k * n * 4 + 64 : end;
  // A is copied raw after everything else and packed there by a wasm routine (matmul-pack.ts).
  const rawA = rawABytes(A, m, k) && Math.ceil(bBytes / 16) * 16 + rawABytes(A, m, k) <= memLimit ? Math.ceil(bBytes / 16) * 16 : 0;
  const bytes = rawA ? rawA + rawABytes(A, m, k) : bBytes;
  const have = w.mem.buffer.byteLength;
  if (have < bytes) w.mem.grow(Math.ceil((bytes - have) / 65536));
  const f = new Float32Array(w.mem.buffer);
  const packJs = (t0: number, t1: number): void => packATiles(f, A, m, k, 0, t0, t1);
  const packA = rawA
    ? (t0: number, t1: number): void => void (packATilesWasm(w.mem, MAX_PAGES, f, A, m, k, 0, rawA, t0, t1, packJs) || packJs(t0, t1))
    : packJs;
  // Pack B: pb[(panel·k + p)·NR + c]. (A is packed by runGemm, row chunks ahead of the helpers.)
  const pb = aFloats;
  let from = 0; // first panel packed in JS
  if (typeof B === "function") {
    B(f, pb);
    const jn = n - (np - 1) * NR;
    if (jn < NR) for (let p = 0, q = pb + (np - 1) * k * NR; p < k; p++, q += NR) f.fill(0, q + jn, q + NR);
    from = np;
  } else if (raw) {
    const bd = B.data as Float32Array;
    if (B.rs === n) f.set(bd.subarray(B.off, B.off + k * n), raw >> 2);
    else for (let p = 0; p < k; p++) f.set(bd.subarray(B.off + p * B.rs, B.off + p * B.rs + n), (raw >> 2) + p * n);
    from = Math.floor(n / NR);
    w.packb(raw, n * 4, pb * 4, from, k);
  }
  if (typeof B !== "function")
    for (let jp = from; jp < np; jp++) {
      const bd = B.data;
      const j0 = jp * NR;
      const jn = Math.min(NR, n - j0);
      let q = pb + jp * k * NR;
      for (let p = 0; p < k; p++, q += NR) {
        let src = B.off + p * B.rs + j0 * B.cs;
        for (let c = 0; c < jn; c++, src += B.cs) f[q + c] = bd[src]!;
        for (let c = jn; c < NR; c++) f[q + c] = 0;
      }
    }
  const pc = aFloats + bFloats;
  if (keepC && ldc === n) {
    runGemm(w, pb * 4, pc * 4, mt, np, k, ldc * 4, m * n * k, undefined, packA);
    keepC(f.subarray(pc, pc + m * n));
    return;
  }
  // C rows are copied out as row chunks finish.
  runGemm(
    w,
    pb * 4,
    pc * 4,
    mt,
    np,
    k,
    ldc * 4,
    m * n * k,
    (t0, t1) => {
      const [r0, r1] = [t0 * MR, Math.min(t1 * MR, m)];
      if (ldc === n) C.set(f.subarray(pc + r0 * n, pc + r1 * n), cOff + r0 * n);
      else copyRows(f, pc + r0 * ldc, ldc, C, cOff + r0 * n, n, r1 - r0);
    },
    packA,
  );
}

/** Hooks of a fused matmul (see `sgemmFused`). */
export interface GemmHooks {
  /** Writes B (k×n) into `f` from float offset `pb` in NR-column panels: (f, pb) => void. */
  readonly packB?: (f: Float32Array, pb: number) => void;
  /** Receives the m×n product (row stride n) still in wasm memory instead of a copy into C. */
  readonly keepC?: (c: Float32Array) => void;
}

/** Whether an m×n×k float product runs on the SIMD kernel. */
export function simdGemmFor(m: number, n: number, k: number): boolean {
  return m * n * k >= SIMD_MIN_WORK && k > 0 && gemmBytes(m, n, k) <= memLimit && simdGemm() !== null;
}

/** The B-panel float offset in wasm memory of an m×k by k×n SIMD product (A's packed panels come first). */
export function packedBOffset(m: number, k: number): number {
  return Math.ceil(m / MR) * MR * k;
}

/**
 * The SIMD sgemm with B packed by a generated routine (implicit im2col: B is never
 * materialized) and, optionally, C left in wasm memory for the consumer (when its rows are
 * unpadded; else C is filled as usual); without packB, B is packed from its strides. Call only when `simdGemmFor(m, n, k)`.
 */
export function sgemmFused(
  A: Strided,
  B: Strided,
  C: Float32Array | Int32Array | Uint8Array,
  cOff: number,
  m: number,
  n: number,
  k: number,
  hooks: GemmHooks,
): void {
  sgemmSimd(simdGemm()!, A, hooks.packB ?? B, C, cOff, m, n, k, hooks.keepC);
}

/** sgemm choosing the SIMD kernel for large enough float products. */
export function sgemmAuto(A: Strided, B: Strided, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number): void {
  const w = simdGemmFor(m, n, k) ? simdGemm() : null;
  if (w) sgemmSimd(w, A, B, C, cOff, m, n, k);
  else sgemm(A, B, C, cOff, m, n, k);
}

// ---- Table gemm (implicit im2col) ------------------------------------------------------------
