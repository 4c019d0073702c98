/**
 * The CPU matmul: a packed, register-tiled (4×4 accumulators) kernel over strided operands, so
 * transposed and sliced views of materialized buffers need no copy kernel. Accumulates in
 * float64 (JS numbers); integer matmul uses a plain wrapping loop.
 */

import { FnBuilder, MR, NR, gemmFn, hasRelaxedSimd, hasSimd, moduleBytes } from "./wasm.js";

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

interface WasmGemm {
  readonly mem: WebAssembly.Memory;
  readonly gemm: GemmFn;
  readonly fma: boolean;
  /** Helper threads (each runs a share of the row tiles), ready or still starting. */
  readonly workers: { readonly ctl: Int32Array; ready: boolean }[];
  /** Shared chunk counter (next chunk of MB row tiles to claim). */
  readonly counter: Int32Array;
}

let wasmGemm: WasmGemm | null | undefined;

/** Largest shared wasm memory (pages of 64 KiB): 2 GiB. */
export const MAX_PAGES = 32768;

/**
 * The helper thread's program: instantiate the same module on the shared memory, then wait for
 * work on `ctl[0]` (1 = posted, 2 = taken, 0 = done or cancelled), take it with a compare-and-swap
 * (the poster cancels work nobody took), and run chunks of MB row tiles claimed from the shared
 * counter until none is left. Args in ctl[1..9]: pa, pb, pc, mt, np, k, kc, mb, ldc; ctl[11] is the
 * split (0: chunks of mb row tiles; 1: chunks of ctl[12] column panels, for products with few rows).
 */
const WORKER_SRC = `
const { workerData } = require("node:worker_threads");
const { mem, bytes, ctl, counter, mr, nr } = workerData;
const c = new Int32Array(ctl);
const cnt = new Int32Array(counter);
const gemm = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem } }).exports.gemm;
Atomics.store(c, 10, 1);
for (;;) {
  Atomics.wait(c, 0, 0);
  if (Atomics.compareExchange(c, 0, 1, 2) !== 1) continue;
  const pa = c[1], pb = c[2], pc = c[3], mt = c[4], np = c[5], k = c[6], kc = c[7], mb = c[8], ldc = c[9];
  if (c[11] === 0) {
    for (let t; (t = Atomics.add(cnt, 0, 1) * mb) < mt; ) gemm(pa + t * k * mr * 4, pb, pc + t * mr * ldc, Math.min(mb, mt - t), np, k, kc, mb, ldc);
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
      const ctl = new Int32Array(new SharedArrayBuffer(16 * 4));
      const w = new wt.Worker(WORKER_SRC, { eval: true, workerData: { mem, bytes, ctl: ctl.buffer, counter: counter.buffer, mr: MR, nr: NR } });
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
  const fn = [{ name: "gemm", fn: gemmFn(fma) }];
  const threads = threadCount();
  if (threads > 1 && typeof SharedArrayBuffer !== "undefined") {
    try {
      const mem = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
      const bytes = moduleBytes(fn, MAX_PAGES);
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { mem } });
      const counter = new Int32Array(new SharedArrayBuffer(4));
      wasmGemm = { mem, gemm: inst.exports.gemm as GemmFn, fma, counter, workers: startWorkers(mem, bytes, threads, counter) };
      return wasmGemm;
    } catch {
      // No shared memory (e.g. a browser without cross-origin isolation): one thread.
    }
  }
  const mem = new WebAssembly.Memory({ initial: 16 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(fn) as BufferSource), { env: { mem } });
  wasmGemm = { mem, gemm: inst.exports.gemm as GemmFn, fma, counter: new Int32Array(1), workers: [] };
  return wasmGemm;
}

/** How often big products were shared with helper threads, by split (tests and diagnostics). */
export const gemmSplits = { rows: 0, columns: 0 };

/** Column panels per claimed chunk when a product is split by columns. */
const PN = 64;
/** Smallest m·n·k split across threads. */
const THREAD_MIN_WORK = 1 << 22;

/**
 * Runs the kernel over all row tiles. Big products are shared with the ready helper threads:
 * every thread claims chunks of MB row tiles from a shared counter (so a helper descheduled by
 * other load does not hold the call up), and work no helper took is cancelled.
 */
function runGemm(w: WasmGemm, pb: number, pc: number, mt: number, np: number, k: number, ldc: number, work: number): void {
  // Few row tiles (e.g. conv: 64 output channels × many pixels): split the column panels instead.
  const byRows = mt > MB;
  const splittable = byRows || np >= 4 * PN;
  const ready = work >= THREAD_MIN_WORK && splittable ? w.workers.filter((x) => x.ready || (x.ready = Atomics.load(x.ctl, 10) === 1)) : [];
  if (ready.length === 0) {
    w.gemm(0, pb, pc, mt, np, k, KC, MB, ldc);
    return;
  }
  const cnt = w.counter;
  Atomics.store(cnt, 0, 0);
  for (const { ctl: c } of ready) {
    c[1] = 0; c[2] = pb; c[3] = pc; c[4] = mt; c[5] = np; c[6] = k; c[7] = KC; c[8] = MB; c[9] = ldc;
    c[11] = byRows ? 0 : 1; c[12] = PN;
    Atomics.store(c, 0, 1);
    Atomics.notify(c, 0);
  }
  if (byRows) gemmSplits.rows++;
  else gemmSplits.columns++;
  if (byRows) {
    for (let t; (t = Atomics.add(cnt, 0, 1) * MB) < mt; ) w.gemm(t * k * MR * 4, pb, pc + t * MR * ldc, Math.min(MB, mt - t), np, k, KC, MB, ldc);
  } else {
    for (let j; (j = Atomics.add(cnt, 0, 1) * PN) < np; ) w.gemm(0, pb + j * k * NR * 4, pc + j * NR * 4, mt, Math.min(PN, np - j), k, KC, MB, ldc);
  }
  for (const { ctl: c } of ready) {
    if (Atomics.compareExchange(c, 0, 1, 0) === 1) continue;
    while (Atomics.load(c, 0) !== 0) Atomics.wait(c, 0, 2);
  }
}

/** Smallest m·n·k sent to the SIMD kernel (below, the float64 JS kernel is as fast and exact). */
const SIMD_MIN_WORK = 4096;
/** K block (floats) and M block (row tiles) of the SIMD kernel. */
const KC = 256;
const MB = 16;

/**
 * sgemm on the Wasm SIMD kernel: A and B are packed into wasm memory (MR-row tiles, NR-column
 * panels), the kernel accumulates in float32, and C is copied out once.
 */
function sgemmSimd(w: WasmGemm, A: Strided, B: Strided | NonNullable<GemmHooks["packB"]>, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number, keepC?: GemmHooks["keepC"], extra = 0): void {
  const mt = Math.ceil(m / MR);
  const np = Math.ceil(n / NR);
  const ldc = np * NR;
  const aFloats = mt * MR * k;
  const bFloats = np * NR * k;
  const end = (aFloats + bFloats + mt * MR * ldc) * 4;
  const bytes = end + extra;
  const have = w.mem.buffer.byteLength;
  if (have < bytes) w.mem.grow(Math.ceil((bytes - have) / 65536));
  const f = new Float32Array(w.mem.buffer);
  const ad = A.data;
  // Pack A: pa[(tile·k + p)·MR + r].
  for (let t = 0; t < mt; t++) {
    for (let r = 0; r < MR; r++) {
      const i = t * MR + r;
      let q = t * k * MR + r;
      if (i < m) {
        let src = A.off + i * A.rs;
        const cs = A.cs;
        for (let p = 0; p < k; p++, q += MR, src += cs) f[q] = ad[src]!;
      } else for (let p = 0; p < k; p++, q += MR) f[q] = 0;
    }
  }
  // Pack B: pb[(panel·k + p)·NR + c].
  const pb = aFloats;
  if (typeof B === "function") {
    B(f, pb, end);
    const jn = n - (np - 1) * NR;
    if (jn < NR) for (let p = 0, q = pb + (np - 1) * k * NR; p < k; p++, q += NR) f.fill(0, q + jn, q + NR);
  } else for (let jp = 0; jp < np; jp++) {
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
  runGemm(w, pb * 4, pc * 4, mt, np, k, ldc * 4, m * n * k);
  if (keepC && ldc === n) keepC(f.subarray(pc, pc + m * n));
  else if (ldc === n) C.set(f.subarray(pc, pc + m * n), cOff);
  else for (let i = 0; i < m; i++) C.set(f.subarray(pc + i * ldc, pc + i * ldc + n), cOff + i * n);
}

/** Hooks of a fused matmul (see `sgemmFused`). */
export interface GemmHooks {
  /** Writes B (k×n) into `f` from float offset `pb` in NR-column panels: (f, pb) => void. */
  readonly packB?: (f: Float32Array, pb: number, end: number) => void;
  /** Bytes of scratch the packing needs after the product (from byte `end`, given to packB). */
  readonly extraBytes?: number;
  /** Receives the m×n product (row stride n) still in wasm memory instead of a copy into C. */
  readonly keepC?: (c: Float32Array) => void;
}

/** Whether an m×n×k float product runs on the SIMD kernel. */
export function simdGemmFor(m: number, n: number, k: number): boolean {
  return m * n * k >= SIMD_MIN_WORK && k > 0 && simdGemm() !== null;
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
  sgemmSimd(simdGemm()!, A, hooks.packB ?? B, C, cOff, m, n, k, hooks.keepC, hooks.extraBytes);
}

/** sgemm choosing the SIMD kernel for large enough float products. */
export function sgemmAuto(A: Strided, B: Strided, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number): void {
  const w = m * n * k >= SIMD_MIN_WORK && k > 0 ? simdGemm() : null;
  if (w) sgemmSimd(w, A, B, C, cOff, m, n, k);
  else sgemm(A, B, C, cOff, m, n, k);
}

// ---- Table-driven SIMD B packing (implicit im2col) -------------------------------------------

/** Calls of the wasm gather packing (tests check which path a conv took). */
export const gatherStats = { calls: 0 };

type GatherFn = (tab: number, inp: number, out: number, count: number) => void;
let gatherInst: { mem: WebAssembly.Memory; fn: GatherFn } | undefined;

/**
 * The wasm routine `gather(tab, inp, out, count)`: for each i < count, reads the i32 code
 * `c = tab[i]` and stores 4 floats at `out + 16·i`: the f32x4 loaded from byte
 * `inp + 4·(c >> 4)` with lane l zeroed unless bit l of `c & 15` is set. Branchless.
 */
function gatherFn(): FnBuilder {
  const f = new FnBuilder(["tab", "inp", "out", "count"]).local("i", "i32").local("c", "i32").local("m", "v128");
  const bits = [1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0];
  f.loop("i", (g) => g.i32(0), (g) => g.get("count"), (g) => g.i32(1), () => {
    f.get("tab").op(0x28, 2, 0).set("c"); // i32.load
    // m = (splat(c) & bits) == bits
    f.get("c").simd(17).simd(12, ...bits).simd(78).simd(12, ...bits).simd(55).set("m");
    f.get("out");
    f.get("inp").get("c").i32(2).op(0x75).i32(-4).op(0x71).add().simd(0, 2, 0); // v128.load
    f.get("m").simd(78).simd(11, 4, 0); // v128.and; v128.store
    f.inc("tab", (g) => g.i32(4)).inc("out", (g) => g.i32(16));
  });
  return f;
}

/**
 * B panels packed by the wasm gather routine: `table` (one code per 4 panel floats, in panel
 * order, see `gatherTable`) and the producer's input are copied after the product (from byte
 * `end`; `gatherExtraBytes` reserves the room) and the panels written at float offset `pb`.
 */
export function gatherPack(table: Int32Array, inp: Float32Array, f: Float32Array, pb: number, end: number): void {
  const w = simdGemm()!;
  gatherStats.calls++;
  if (gatherInst?.mem !== w.mem) {
    const shared = typeof SharedArrayBuffer !== "undefined" && w.mem.buffer instanceof SharedArrayBuffer;
    const bytes = moduleBytes([{ name: "gather", fn: gatherFn() }], shared ? MAX_PAGES : undefined);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { mem: w.mem } });
    gatherInst = { mem: w.mem, fn: inst.exports.gather as GatherFn };
  }
  const tabOff = (end + 15) & ~15;
  const inOff = tabOff + table.length * 4 + 16;
  new Int32Array(f.buffer, tabOff, table.length).set(table);
  f.set(inp, inOff >> 2);
  f.fill(0, (inOff >> 2) + inp.length, (inOff >> 2) + inp.length + 4);
  gatherInst.fn(tabOff, inOff - 16, pb * 4, table.length);
}

/** Scratch bytes `gatherPack` needs after the product. */
export function gatherExtraBytes(tableLength: number, inputLength: number): number {
  return 16 + tableLength * 4 + 16 + inputLength * 4 + 16;
}

/**
 * The gather table of a B-packing routine that only copies its one float input (or writes 0):
 * found by running `pack` on two probes (input i holding i + 1, then random values) into a
 * scratch array. Codes, in panel order (panel, row, half): `(s + 4)·16 + mask` where the 4
 * columns read input s, s+1, s+2, s+3 (lanes outside `mask` are 0), or 0 when all 4 are 0.
 * Null when the routine is not such a gather, or a group of 4 columns is not contiguous.
 */
export function gatherTable(pack: (inp: Float32Array, out: Float32Array) => void, inLen: number, m: number, n: number, k: number): Int32Array | null {
  if (inLen >= (1 << 24) - 8 || n < 4) return null;
  const base = packedBOffset(m, k);
  const np = Math.ceil(n / NR);
  const size = base + np * NR * k;
  const probe = new Float32Array(inLen);
  for (let i = 0; i < inLen; i++) probe[i] = i + 1;
  const o1 = new Float32Array(size);
  pack(probe, o1);
  for (let i = 0; i < inLen; i++) probe[i] = Math.random() * 2 - 1 || 0.5;
  const o2 = new Float32Array(size);
  pack(probe, o2);
  const table = new Int32Array(np * k * 2);
  let t = 0;
  for (let jp = 0; jp < np; jp++) {
    for (let p = 0; p < k; p++) {
      for (let h = 0; h < NR; h += 4, t++) {
        const q = base + (jp * k + p) * NR + h;
        let s = 0;
        let mask = 0;
        for (let l = 0; l < 4; l++) {
          if (jp * NR + h + l >= n) continue;
          const v = o1[q + l]!;
          const r = o2[q + l]!;
          if (v === 0) {
            if (r !== 0) return null;
            continue;
          }
          if (!Number.isInteger(v) || v < 1 || v > inLen || r !== probe[v - 1]) return null;
          if (mask === 0) s = v - 1 - l;
          else if (v - 1 - l !== s) return null;
          mask |= 1 << l;
        }
        table[t] = mask === 0 ? 0 : (s + 4) * 16 + mask;
      }
    }
  }
  return table;
}
