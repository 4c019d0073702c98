/**
 * The CPU matmul: a packed, register-tiled (4×4 accumulators) kernel over strided operands, so
 * transposed and sliced views of materialized buffers need no copy kernel. Accumulates in
 * float64 (JS numbers); integer matmul uses a plain wrapping loop.
 */

import { MR, NR, gemmFn, hasRelaxedSimd, hasSimd, moduleBytes, packbFn, tgemmFn } from "./wasm.js";

let packA = new Float64Array(0);
let packB = new Float64Array(0);

/** A strided matrix: element (i, j) at data[off + i·rs + j·cs]. */
export interface Strided {
  readonly data: ArrayLike<number>;
  readonly off: number;
  readonly rs: number;
  readonly cs: number;
}

/**
 * C[cOff + i·n + j] = Σ_p A(i, p)·B(p, j) for an m×k by k×n product (float).
 * @example
 * ```ts
 * import { matmul, tensor } from "tenfold";
 * console.log(matmul(tensor([[1, 2]]), tensor([[3], [4]])).arraySync()); // [[11]]
 * ```
 */
export function sgemm(A: Strided, B: Strided, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number): void {
  const mp = (m + 3) >> 2;
  const np = (n + 3) >> 2;
  if (packA.length < mp * 4 * k) packA = new Float64Array(mp * 4 * k);
  if (packB.length < 4 * k) packB = new Float64Array(4 * k);
  const pa = packA;
  const pb = packB;
  const ad = A.data;
  const bd = B.data;
  // Pack A in row panels of 4: pa[(ip·k + p)·4 + ii].
  for (let ip = 0; ip < mp; ip++) {
    for (let ii = 0; ii < 4; ii++) {
      const i = ip * 4 + ii;
      let q = ip * k * 4 + ii;
      if (i < m) {
        let src = A.off + i * A.rs;
        for (let p = 0; p < k; p++, q += 4, src += A.cs) pa[q] = ad[src]!;
      } else for (let p = 0; p < k; p++, q += 4) pa[q] = 0;
    }
  }
  for (let jp = 0; jp < np; jp++) {
    for (let jj = 0; jj < 4; jj++) {
      const j = jp * 4 + jj;
      let q = jj;
      if (j < n) {
        let src = B.off + j * B.cs;
        for (let p = 0; p < k; p++, q += 4, src += B.rs) pb[q] = bd[src]!;
      } else for (let p = 0; p < k; p++, q += 4) pb[q] = 0;
    }
    const j0 = jp * 4;
    const jn = Math.min(4, n - j0);
    for (let ip = 0; ip < mp; ip++) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let qa = ip * k * 4;
      let qb = 0;
      for (let p = 0; p < k; p++, qa += 4, qb += 4) {
        const a0 = pa[qa]!, a1 = pa[qa + 1]!, a2 = pa[qa + 2]!, a3 = pa[qa + 3]!;
        const b0 = pb[qb]!, b1 = pb[qb + 1]!, b2 = pb[qb + 2]!, b3 = pb[qb + 3]!;
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      }
      const i0 = ip * 4;
      const im = Math.min(4, m - i0);
      if (im === 4 && jn === 4) {
        let o = cOff + i0 * n + j0;
        C[o] = c00; C[o + 1] = c01; C[o + 2] = c02; C[o + 3] = c03; o += n;
        C[o] = c10; C[o + 1] = c11; C[o + 2] = c12; C[o + 3] = c13; o += n;
        C[o] = c20; C[o + 1] = c21; C[o + 2] = c22; C[o + 3] = c23; o += n;
        C[o] = c30; C[o + 1] = c31; C[o + 2] = c32; C[o + 3] = c33;
      } else {
        const rows = [[c00, c01, c02, c03], [c10, c11, c12, c13], [c20, c21, c22, c23], [c30, c31, c32, c33]];
        for (let ii = 0; ii < im; ii++) for (let jj = 0; jj < jn; jj++) C[cOff + (i0 + ii) * n + j0 + jj] = rows[ii]![jj]!;
      }
    }
  }
}

/**
 * Integer matmul with wrapping int32 arithmetic.
 * @example
 * ```ts
 * import { matmul, tensor } from "tenfold";
 * console.log(matmul(tensor([[2]], { dtype: "int32" }), tensor([[3]], { dtype: "int32" })).arraySync()); // [[6]]
 * ```
 */
export function igemm(A: Strided, B: Strided, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = (acc + Math.imul(A.data[A.off + i * A.rs + p * A.cs]!, B.data[B.off + p * B.rs + j * B.cs]!)) | 0;
      C[cOff + i * n + j] = acc;
    }
  }
}

// ---- WebAssembly SIMD path -------------------------------------------------------------------

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
const MAX_CHUNKS = 1024;
/** Counter cell holding how many row chunks of A the caller has packed (a gated row split). */
const READY = 1 + MAX_CHUNKS;

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
 * 2: chunks of ctl[12] panels of the table gemm `tgemm`, its arguments in ctl[13..31] with the
 * panel count at ctl[20] and this thread's scratch at ctl[31]; chunk i done sets counter[1 + i]).
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
  const pa = c[1], pb = c[2], pc = c[3], mt = c[4], np = c[5], k = c[6], kc = c[7], mb = c[8], ldc = c[9];
  if (c[11] === 2) {
    const pn = c[12];
    const a = Array.from(c.subarray(13, 32));
    for (let ci, j; (j = (ci = Atomics.add(cnt, 0, 1)) * pn) < a[7]; ) {
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
    const pn = c[12];
    for (let j; (j = Atomics.add(cnt, 0, 1) * pn) < np; ) gemm(pa, pb + j * k * nr * 4, pc + j * nr * 4, mt, Math.min(pn, np - j), k, kc, mb, ldc);
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
      const ctl = new Int32Array(new SharedArrayBuffer(32 * 4));
      const w = new wt.Worker(WORKER_SRC, { eval: true, workerData: { mem, bytes, ctl: ctl.buffer, counter: counter.buffer, mr: MR, nr: NR, maxChunks: MAX_CHUNKS, ready: READY } });
      w.unref();
      const entry = { ctl, ready: false };
      w.on("error", () => out.splice(out.indexOf(entry), 1));
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
  const fma = hasRelaxedSimd();
  const fn = [{ name: "gemm", fn: gemmFn(fma) }, { name: "tgemm", fn: tgemmFn(fma) }, { name: "packb", fn: packbFn() }];
  const threads = threadCount();
  if (threads > 1 && typeof SharedArrayBuffer !== "undefined") {
    try {
      const mem = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
      const bytes = moduleBytes(fn, MAX_PAGES);
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { mem } });
      const counter = new Int32Array(new SharedArrayBuffer((2 + MAX_CHUNKS) * 4));
      wasmGemm = { mem, gemm: inst.exports.gemm as GemmFn, tgemm: inst.exports.tgemm as TgemmFn, packb: inst.exports.packb as TgemmFn, fma, counter, workers: startWorkers(mem, bytes, threads, counter) };
      return wasmGemm;
    } catch {
      // No shared memory (e.g. a browser without cross-origin isolation): one thread.
    }
  }
  const mem = new WebAssembly.Memory({ initial: 16 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(fn) as BufferSource), { env: { mem } });
  wasmGemm = { mem, gemm: inst.exports.gemm as GemmFn, tgemm: inst.exports.tgemm as TgemmFn, packb: inst.exports.packb as TgemmFn, fma, counter: new Int32Array(2 + MAX_CHUNKS), workers: [] };
  return wasmGemm;
}

/** How often big products were shared with helper threads, by split (tests and diagnostics). */
export const gemmSplits = { rows: 0, columns: 0 };

/** Column panels per claimed chunk when a product is split by columns. */
const PN = 64;
/** Smallest m·n·k split across threads. */
const THREAD_MIN_WORK = 1 << 22;

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
function runGemm(w: WasmGemm, pb: number, pc: number, mt: number, np: number, k: number, ldc: number, work: number, rowsDone?: (t0: number, t1: number) => void, packA?: (t0: number, t1: number) => void): void {
  // Few row tiles (e.g. conv: 64 output channels × many pixels): split the column panels instead.
  const byRows = mt > MB;
  const splittable = byRows || np >= 4 * PN;
  const ready = work >= THREAD_MIN_WORK && splittable ? w.workers.filter((x) => x.ready || (x.ready = Atomics.load(x.ctl, 10) === 1)) : [];
  if (ready.length === 0) {
    packA?.(0, mt);
    w.gemm(0, pb, pc, mt, np, k, KC, MB, ldc);
    rowsDone?.(0, mt);
    return;
  }
  const cnt = w.counter;
  const chunks = Math.ceil(mt / MB);
  // Gated: the helpers start on row chunks while this thread still packs A's later ones.
  const gated = packA !== undefined && byRows && chunks <= MAX_CHUNKS;
  if (packA && !gated) packA(0, mt);
  cnt.fill(0, 0, 1 + Math.min(chunks, MAX_CHUNKS));
  cnt[READY] = 0;
  for (const { ctl: c } of ready) {
    c[1] = 0; c[2] = pb; c[3] = pc; c[4] = mt; c[5] = np; c[6] = k; c[7] = KC; c[8] = MB; c[9] = ldc;
    c[11] = byRows ? 0 : 1; c[12] = PN; c[13] = gated ? 1 : 0;
    Atomics.store(c, 0, 1);
    Atomics.notify(c, 0);
  }
  if (gated) feedChunks(cnt, READY, chunks, (i) => packA(i * MB, Math.min((i + 1) * MB, mt)));
  if (byRows) gemmSplits.rows++;
  else gemmSplits.columns++;
  // Row chunks finished by any thread are handed to rowsDone in order while the helpers work.
  let copied = 0;
  const overlap = byRows && rowsDone && chunks <= MAX_CHUNKS;
  const flush = (): void => {
    let e = copied;
    while (e < chunks && Atomics.load(cnt, 1 + e) === 1) e++;
    if (e > copied) rowsDone!(copied * MB, Math.min(e * MB, mt));
    copied = e;
  };
  if (byRows) {
    for (let i, t; (t = (i = Atomics.add(cnt, 0, 1)) * MB) < mt; ) {
      w.gemm(t * k * MR * 4, pb, pc + t * MR * ldc, Math.min(MB, mt - t), np, k, KC, MB, ldc);
      if (i < MAX_CHUNKS) Atomics.store(cnt, 1 + i, 1);
      if (overlap) flush();
    }
  } else {
    for (let j; (j = Atomics.add(cnt, 0, 1) * PN) < np; ) w.gemm(0, pb + j * k * NR * 4, pc + j * NR * 4, mt, Math.min(PN, np - j), k, KC, MB, ldc);
  }
  for (const { ctl: c } of ready) {
    if (Atomics.compareExchange(c, 0, 1, 0) === 1) continue;
    while (Atomics.load(c, 0) !== 0) Atomics.wait(c, 0, 2);
  }
  if (overlap) flush();
  else rowsDone?.(0, mt);
}

/** Smallest m·n·k sent to the SIMD kernel (below, the float64 JS kernel is as fast and exact). */
const SIMD_MIN_WORK = 4096;
/** K block (floats) and M block (row tiles) of the SIMD kernel. */
const KC = 256;
const MB = 16;

/** Packs row tiles [t0, t1) of A (m×k) at float `at` of `f` as MR-row tiles: f[at + (tile·k + p)·MR + r], rows past m zero. */
function packATiles(f: Float32Array, A: Strided, m: number, k: number, at = 0, t0 = 0, t1 = Math.ceil(m / MR)): void {
  const ad = A.data;
  for (let t = t0; t < t1; t++) {
    for (let r = 0; r < MR; r++) {
      const i = t * MR + r;
      let q = at + t * k * MR + r;
      if (i < m) {
        let src = A.off + i * A.rs;
        const cs = A.cs;
        for (let p = 0; p < k; p++, q += MR, src += cs) f[q] = ad[src]!;
      } else for (let p = 0; p < k; p++, q += MR) f[q] = 0;
    }
  }
}

/**
 * sgemm on the Wasm SIMD kernel: A and B are packed into wasm memory (MR-row tiles, NR-column
 * panels), the kernel accumulates in float32, and C is copied out once.
 */
function sgemmSimd(w: WasmGemm, A: Strided, B: Strided | NonNullable<GemmHooks["packB"]>, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number, keepC?: GemmHooks["keepC"]): void {
  const mt = Math.ceil(m / MR);
  const np = Math.ceil(n / NR);
  const ldc = np * NR;
  const aFloats = mt * MR * k;
  const bFloats = np * NR * k;
  const end = (aFloats + bFloats + mt * MR * ldc) * 4;
  // A row-major float B is copied as is after the product and packed by the wasm routine.
  const raw = typeof B !== "function" && B.cs === 1 && B.rs >= n && B.data instanceof Float32Array && np > 1 ? end : 0;
  const bytes = raw ? raw + k * n * 4 + 64 : end;
  const have = w.mem.buffer.byteLength;
  if (have < bytes) w.mem.grow(Math.ceil((bytes - have) / 65536));
  const f = new Float32Array(w.mem.buffer);
  const packA = (t0: number, t1: number): void => packATiles(f, A, m, k, 0, t0, t1);
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
  if (typeof B !== "function") for (let jp = from; jp < np; jp++) {
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
  runGemm(w, pb * 4, pc * 4, mt, np, k, ldc * 4, m * n * k, (t0, t1) => {
    const [r0, r1] = [t0 * MR, Math.min(t1 * MR, m)];
    if (ldc === n) C.set(f.subarray(pc + r0 * n, pc + r1 * n), cOff + r0 * n);
    else for (let i = r0; i < r1; i++) C.set(f.subarray(pc + i * ldc, pc + i * ldc + n), cOff + i * n);
  }, packA);
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
export function sgemmFused(A: Strided, B: Strided, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number, hooks: GemmHooks): void {
  sgemmSimd(simdGemm()!, A, hooks.packB ?? B, C, cOff, m, n, k, hooks.keepC);
}

/** sgemm choosing the SIMD kernel for large enough float products. */
export function sgemmAuto(A: Strided, B: Strided, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number): void {
  const w = simdGemmFor(m, n, k) ? simdGemm() : null;
  if (w) sgemmSimd(w, A, B, C, cOff, m, n, k);
  else sgemm(A, B, C, cOff, m, n, k);
}


// ---- Table gemm (implicit im2col) ------------------------------------------------------------

/**
 * Calls of the table gemm, and of products that gathered B from a producer's input instead of
 * running the producer (tests check which path a conv took).
 */
export const gatherStats = { calls: 0, implicit: 0 };

/** Panels per claimed chunk of the table gemm. */
const TPN = 32;

/** A `gemmTable` result: gather codes and side entries, and the input stride between images. */
export interface GemmTable {
  /** Codes of one image (`perImage` > 0: image b reads the input shifted by b·perImage) or of all. */
  readonly codes: Int32Array;
  readonly side: Int32Array;
  /** Whether `codes` are one image's, serving all (image b shifted by b·perImage). */
  readonly shared: boolean;
  /** Input elements between consecutive images when `shared`; else 0. */
  readonly perImage: number;
}

/**
 * The gather table of a batched B read from a producer that only copies its one float input
 * (or writes 0), as `sgemmTable` takes it. `run(inp, out)` runs the producer; B(b, p, j) is
 * its output at `bOffs[b] + p·rs + j·cs` (b < bOffs.length, p < k, j < n). Found by running
 * the producer on two probes (input i holding i + 1, then random values); see `tableOf` for
 * the codes. Null when the producer is not such a gather.
 */
export function gemmTable(run: (inp: Float32Array, out: Float32Array) => void, inLen: number, outLen: number, bOffs: readonly number[], rs: number, cs: number, k: number, n: number): GemmTable | null {
  if (inLen >= (1 << 24) - 8 || bOffs.length === 0) return null;
  const probe = new Float32Array(inLen);
  for (let i = 0; i < inLen; i++) probe[i] = i + 1;
  const o1 = new Float32Array(outLen);
  run(probe, o1);
  for (let i = 0; i < inLen; i++) probe[i] = Math.random() * 2 - 1 || 0.5;
  const o2 = new Float32Array(outLen);
  run(probe, o2);
  return tableOf(bOffs.length, k, n, (b, p, j) => {
    const at = bOffs[b]! + p * rs + j * cs;
    const v = o1[at]!;
    const r = o2[at]!;
    if (v === 0) return r === 0 ? 0 : -1;
    return !Number.isInteger(v) || v < 1 || v > inLen || r !== probe[v - 1] ? -1 : v;
  });
}

/**
 * The table of a batched B that is a strided view of a buffer (B(b, p, j) at
 * `bOffs[b] + p·rs + j·cs`): any batched float product runs on the table gemm this way.
 */
export function stridedTable(bOffs: readonly number[], rs: number, cs: number, k: number, n: number): GemmTable | null {
  return tableOf(bOffs.length, k, n, (b, p, j) => bOffs[b]! + p * rs + j * cs + 1);
}

/**
 * Builds the codes from `lane(b, p, j)`, the input index + 1 that B(b, p, j) copies (0: a zero;
 * -1: not a gather). Codes, in the order (image, panel, row, half of NR): `(s + 4)·16 + mask`
 * when the 4 columns read input s, s+1, s+2, s+3 (lanes outside `mask`, and columns past n, are
 * 0); else `~e` for side entry e (4 values, input index + 1 per lane, 0 for a zero). When every
 * image reads the same pattern shifted by a fixed input stride (a conv), only image 0's codes
 * are kept. Null when some lane is -1 or an index does not fit the codes.
 */
function tableOf(nb: number, k: number, n: number, lane: (b: number, p: number, j: number) => number): GemmTable | null {
  const ppi = Math.ceil(n / NR);
  const per = ppi * k * NR;
  // Lane values of image b's panels, in code order; false: not a gather.
  const lanes = (b: number, out: Int32Array): boolean => {
    let t = 0;
    for (let q = 0; q < ppi; q++) {
      for (let p = 0; p < k; p++) {
        for (let c = 0; c < NR; c++, t++) {
          const j = q * NR + c;
          const v = j < n ? lane(b, p, j) : 0;
          if (v < 0 || v >= (1 << 27) - 8) return false;
          out[t] = v;
        }
      }
    }
    return true;
  };
  const l0 = new Int32Array(per);
  if (!lanes(0, l0)) return null;
  // One image's codes for all: image b's lanes are image 0's shifted by b·perImage.
  let perImage = 0;
  let shared = true;
  const lb = new Int32Array(per);
  for (let b = 1; b < nb && shared; b++) {
    if (!lanes(b, lb)) return null;
    let d: number | undefined;
    for (let t = 0; t < per && shared; t++) {
      if ((l0[t] === 0) !== (lb[t] === 0)) shared = false;
      else if (l0[t] !== 0) {
        d ??= lb[t]! - l0[t]!;
        if (lb[t]! - l0[t]! !== d) shared = false;
      }
    }
    if (b === 1) perImage = d ?? 0;
    if ((d ?? b * perImage) !== b * perImage) shared = false;
  }
  const images = shared ? 1 : nb;
  const codes = new Int32Array(images * per / 4);
  const side: number[] = [];
  for (let b = 0; b < images; b++) {
    const l = b === 0 ? l0 : lb;
    if (b > 0 && !lanes(b, lb)) return null;
    for (let g = 0; g < per / 4; g++) {
      let s = 0;
      let mask = 0;
      let contiguous = true;
      for (let c = 0; c < 4; c++) {
        const v = l[g * 4 + c]!;
        if (v === 0) continue;
        if (mask === 0) s = v - 1 - c;
        else if (v - 1 - c !== s) contiguous = false;
        mask |= 1 << c;
      }
      const at = b * (per / 4) + g;
      if (contiguous) codes[at] = mask === 0 ? 0 : (s + 4) * 16 + mask;
      else {
        codes[at] = ~(side.length >> 2);
        side.push(l[g * 4]!, l[g * 4 + 1]!, l[g * 4 + 2]!, l[g * 4 + 3]!);
      }
    }
  }
  return { codes, side: Int32Array.from(side), shared, perImage: shared ? perImage : 0 };
}

/**
 * The batched product C[b] = A · B[b] (m×k by k×n, b < nb, C contiguous [nb, m, n] at cOff)
 * where B is gathered from `inp` by a `gemmTable` table: on the SIMD kernel, each thread
 * gathers one NR-column panel at a time into its own scratch (B is never materialized) and
 * stores straight into C's layout. Threads claim chunks of whole images; this thread copies
 * finished images out to C while the helpers still compute. With `keepC`, the product is
 * handed over in wasm memory instead of copied into C. Call only when `simdGemmFor(m, n, k)`.
 * Returns false (and computes nothing) when the work does not fit `wasmMemoryLimit`.
 */
export function sgemmTable(A: Strided, aOffs: readonly number[] | undefined, table: GemmTable, inp: Float32Array, C: Float32Array, cOff: number, m: number, nb: number, n: number, k: number, keepC?: (c: Float32Array) => void): boolean {
  const w = simdGemm()!;
  const mt = Math.ceil(m / MR);
  const ppi = Math.ceil(n / NR);
  const np = nb * ppi;
  const threads = 1 + w.workers.length;
  const aImg = mt * MR * k; // floats of one packed A
  const pc = (aOffs ? nb : 1) * aImg * 4;
  const tab = (pc + nb * m * n * 4 + MR * n * 4 + 64 + 15) & ~15; // room for the reads of unstored rows
  const sideAt = tab + table.codes.length * 4;
  const inOff = (sideAt + table.side.length * 4 + 16 + 15) & ~15;
  const scratch0 = (inOff + inp.length * 4 + 16 + 15) & ~15;
  const per = (k * NR + MR * NR) * 4;
  const bytes = scratch0 + threads * per;
  if (bytes > memLimit) return false;
  gatherStats.calls++;
  const have = w.mem.buffer.byteLength;
  if (have < bytes) w.mem.grow(Math.ceil((bytes - have) / 65536));
  const f = new Float32Array(w.mem.buffer);
  if (aOffs) aOffs.forEach((off, b) => packATiles(f, { ...A, off }, m, k, b * aImg));
  else packATiles(f, A, m, k);
  new Int32Array(w.mem.buffer, tab, table.codes.length).set(table.codes);
  new Int32Array(w.mem.buffer, sideAt, table.side.length).set(table.side);
  f.fill(0, (inOff >> 2) - 4, inOff >> 2);
  f.set(inp, inOff >> 2);
  f.fill(0, (inOff >> 2) + inp.length, (inOff >> 2) + inp.length + 4);
  const tp = table.shared ? ppi : np;
  const args = [0, tab, sideAt, inOff - 16, pc, mt, 0, np, k, Math.min(k, 1024), n * 4, ppi, m * n * 4, m, n - (ppi - 1) * NR, tp, table.perImage * 4, aOffs ? aImg * 4 : 0, scratch0];
  const ready = m * n * nb * k >= THREAD_MIN_WORK && np >= 2 * TPN ? w.workers.filter((x) => x.ready || (x.ready = Atomics.load(x.ctl, 10) === 1)) : [];
  const pcF = pc >> 2;
  const img = m * n;
  if (ready.length === 0) w.tgemm(...args);
  else {
    // Chunks: g whole images (their C rows are contiguous), or TPN panels of one image.
    const g = nb > 1 ? Math.max(Math.ceil(TPN / ppi), Math.ceil(nb / MAX_CHUNKS)) : 0;
    const pn = g > 0 ? g * ppi : Math.max(TPN, Math.ceil(np / MAX_CHUNKS));
    const chunks = Math.ceil(np / pn);
    const cnt = w.counter;
    cnt.fill(0, 0, 1 + chunks);
    ready.forEach(({ ctl: c }, i) => {
      c.set(args, 13);
      c[31] = scratch0 + (i + 1) * per;
      c[11] = 2;
      c[12] = pn;
      Atomics.store(c, 0, 1);
      Atomics.notify(c, 0);
    });
    gemmSplits.columns++;
    let copied = 0; // chunks already in C
    const copyDone = (): void => {
      if (keepC || g === 0) return;
      let e = copied;
      while (e < chunks && Atomics.load(cnt, 1 + e) === 1) e++;
      if (e === copied) return;
      const [a, b] = [copied * g * img, Math.min(e * g, nb) * img];
      C.set(f.subarray(pcF + a, pcF + b), cOff + a);
      copied = e;
    };
    for (let ci, j; (j = (ci = Atomics.add(cnt, 0, 1)) * pn) < np; ) {
      args[6] = j;
      args[7] = Math.min(pn, np - j);
      w.tgemm(...args);
      Atomics.store(cnt, 1 + ci, 1);
      copyDone();
    }
    for (const { ctl: c } of ready) {
      if (Atomics.compareExchange(c, 0, 1, 0) === 1) continue;
      while (Atomics.load(c, 0) !== 0) Atomics.wait(c, 0, 2);
    }
    copyDone();
    if (!keepC && g > 0) {
      if (copied !== chunks) throw new Error("internal: table gemm chunks left uncopied");
      return true;
    }
  }
  const view = f.subarray(pcF, pcF + nb * img);
  if (keepC) keepC(view);
  else C.set(view, cOff);
  return true;
}
