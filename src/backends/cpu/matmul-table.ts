/**
 * The table gemm: B given as gather codes into an input image (implicit im2col), so a
 * convolution's patch matrix is never materialized; chunks of panels are shared with the SIMD
 * gemm's helper threads.
 */
import type { Strided } from "./matmul-js.js";
import { GEMM_ERR, GEMM_FAIL, MAX_CHUNKS, THREAD_MIN_WORK, gemmSplits, packATiles, simdGemm, wasmMemoryLimit } from "./matmul-simd.js";
import { armHelper, awaitHelpers } from "./helper-guard.js";
import { MR, NR } from "./wasm.js";

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
export function gemmTable(
  run: (inp: Float32Array, out: Float32Array) => void,
  inLen: number,
  outLen: number,
  bOffs: readonly number[],
  rs: number,
  cs: number,
  k: number,
  n: number,
): GemmTable | null {
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
  const codes = new Int32Array((images * per) / 4);
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
export function sgemmTable(
  A: Strided,
  aOffs: readonly number[] | undefined,
  table: GemmTable,
  inp: Float32Array,
  C: Float32Array,
  cOff: number,
  m: number,
  nb: number,
  n: number,
  k: number,
  keepC?: (c: Float32Array) => void,
): boolean {
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
  if (bytes > wasmMemoryLimit()) return false;
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
  const args = [
    0,
    tab,
    sideAt,
    inOff - 16,
    pc,
    mt,
    0,
    np,
    k,
    Math.min(k, 1024),
    n * 4,
    ppi,
    m * n * 4,
    m,
    n - (ppi - 1) * NR,
    tp,
    table.perImage * 4,
    aOffs ? aImg * 4 : 0,
    scratch0,
  ];
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
    const armed = new Set<(typeof ready)[number]>();
    ready.forEach((h, i) => {
      const c = h.ctl;
      if (armHelper("gemm", c, GEMM_FAIL)) armed.add(h);
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
    for (let ci, j; (j = (ci = Atomics.add(cnt, 0, 1)) * pn) < np;) {
      args[6] = j;
      args[7] = Math.min(pn, np - j);
      w.tgemm(...args);
      Atomics.store(cnt, 1 + ci, 1);
      copyDone();
    }
    awaitHelpers("cpu convolution (table gemm)", w.workers, ready, GEMM_ERR, armed, () => Atomics.load(cnt, 0));
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
