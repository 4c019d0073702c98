/**
 * The table gemm: B given as gather codes into an input image (implicit im2col), so a
 * convolution's patch matrix is never materialized; chunks of panels are shared with the SIMD
 * gemm's helper threads.
 */
import type { Strided } from "./matmul-js.js";
import { GEMM_ERR, GEMM_FAIL, MAX_CHUNKS, READY, THREAD_MIN_WORK, feedChunks, gemmSplits, packATiles, simdGemm, wasmMemoryLimit } from "./matmul-simd.js";
import { armHelper, awaitHelpers } from "./helper-guard.js";
import { MR, NR } from "./wasm.js";

/**
 * Calls of the table gemm, of products that gathered B from a producer's input instead of
 * running the producer (tests check which path a conv took), and of calls whose helpers started
 * while this thread still packed the batch entries' A (`gated`).
 */
export const gatherStats = { calls: 0, implicit: 0, gated: 0 };

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
  // Every image's lanes checked in one walk that goes forward in memory (the smaller stride inner:
  // lane order reads the 16–64 MB outputs a cache line per lane), and compared with image 0's.
  const nb = bOffs.length;
  const [outN, outS, inN, inS] = Math.abs(rs) <= Math.abs(cs) ? [n, cs, k, rs] : [k, rs, n, cs];
  let shared = true;
  let perImage = 0;
  for (let b = 0; b < nb; b++) {
    let d = 0;
    let seen = false;
    let same = b > 0 && shared;
    for (let o = 0; o < outN; o++) {
      for (let i = 0, at = bOffs[b]! + o * outS, at0 = bOffs[0]! + o * outS; i < inN; i++, at += inS, at0 += inS) {
        const v = o1[at]!;
        const r = o2[at]!;
        if (v === 0) {
          if (r !== 0) return null;
        } else if ((v | 0) !== v || v < 1 || v > inLen || r !== probe[v - 1]) return null;
        if (!same) continue;
        const a = o1[at0]!;
        if (a === 0 || v === 0) same = a === v;
        else if (seen) same = v - a === d;
        else {
          d = v - a;
          seen = true;
        }
      }
    }
    if (b === 1 && same) perImage = seen ? d : 0;
    if (b > 0 && (!same || (seen ? d : b * perImage) !== b * perImage)) shared = false;
  }
  // Lanes in code order from B's positions (+1), then the probed input index (+1) at each.
  return tableOf(
    nb,
    k,
    n,
    (b, out) => {
      positions(bOffs[b]!, rs, cs, k, n, out);
      for (let t = 0; t < out.length; t++) if (out[t] !== 0) out[t] = o1[out[t]! - 1]!;
    },
    { shared, perImage },
  );
}

/** B's positions + 1 (0 past n) in code order (panel q, row p, column c of NR) for the image at `off`. */
function positions(off: number, rs: number, cs: number, k: number, n: number, out: Int32Array): void {
  let t = 0;
  for (let q = 0; q < Math.ceil(n / NR); q++)
    for (let p = 0; p < k; p++) for (let c = 0, at = off + p * rs + q * NR * cs + 1; c < NR; c++, t++, at += cs) out[t] = q * NR + c < n ? at : 0;
}

/**
 * The table of a batched B that is a strided view of a buffer (B(b, p, j) at
 * `bOffs[b] + p·rs + j·cs`): any batched float product runs on the table gemm this way.
 */
export function stridedTable(bOffs: readonly number[], rs: number, cs: number, k: number, n: number): GemmTable | null {
  // Image b's lanes are image 0's shifted by bOffs[b] − bOffs[0]: one code table when that is b·d.
  const d = k > 0 && n > 0 && bOffs.length > 1 ? bOffs[1]! - bOffs[0]! : 0;
  return tableOf(bOffs.length, k, n, (b, out) => positions(bOffs[b]!, rs, cs, k, n, out), {
    shared: bOffs.every((o, b) => o - bOffs[0]! === b * d),
    perImage: d,
  });
}

/**
 * Builds the codes from `fill(b, out)`, which writes image b's lanes into `out` in code order
 * (panel q, row p, column c of NR: the input index + 1 that B(b, p, q·NR + c) copies, 0 for a
 * zero or a column past n), and `known`: whether image b's lanes are image 0's shifted by
 * b·perImage (the callers find it without building every image's lanes: lane order reads the
 * probed output a cache line per lane, 0.9 s of a big conv weight gradient's first call).
 * Codes, in the order (image, panel, row, half of NR): `(s + 4)·16 + mask`
 * when the 4 columns read input s, s+1, s+2, s+3 (lanes outside `mask`, and columns past n, are
 * 0); else `~e` for side entry e (4 values, input index + 1 per lane, 0 for a zero). When every
 * image reads the same pattern shifted by a fixed input stride (a conv), only image 0's codes
 * are kept. Null when an index does not fit the codes.
 */
function tableOf(
  nb: number,
  k: number,
  n: number,
  fill: (b: number, out: Int32Array) => void,
  known: { readonly shared: boolean; readonly perImage: number },
): GemmTable | null {
  const ppi = Math.ceil(n / NR);
  const per = ppi * k * NR;
  const LIMIT = (1 << 27) - 8;
  // Lane values of image b's panels, in code order; false: an index the codes cannot hold.
  const lanes = (b: number, out: Int32Array): boolean => {
    fill(b, out);
    for (let t = 0; t < per; t++) if (out[t]! < 0 || out[t]! >= LIMIT) return false;
    return true;
  };
  const l0 = new Int32Array(per);
  if (!lanes(0, l0)) return null;
  // One image's codes for all (the caller found image b's lanes to be image 0's shifted by
  // b·perImage), when every image's shifted lanes still fit the codes.
  let [lo, hi] = [LIMIT, 0];
  for (let t = 0; t < per; t++) if (l0[t]! !== 0) [lo, hi] = [Math.min(lo, l0[t]!), Math.max(hi, l0[t]!)];
  const span = (nb - 1) * known.perImage;
  const shared = known.shared && (hi === 0 || (lo + Math.min(0, span) >= 1 && hi + Math.max(0, span) < LIMIT));
  const perImage = known.perImage;
  const lb = new Int32Array(per);
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
  const packImages = (b0: number, b1: number): void => {
    for (let b = b0; b < b1; b++) packATiles(f, { ...A, off: aOffs![b]! }, m, k, b * aImg);
  };
  const ready = m * n * nb * k >= THREAD_MIN_WORK && np >= 2 * TPN ? w.workers.filter((x) => x.ready || (x.ready = Atomics.load(x.ctl, 10) === 1)) : [];
  // Chunks: g whole images (their C rows are contiguous), or TPN panels of one image.
  const g = nb > 1 ? Math.max(Math.ceil(TPN / ppi), Math.ceil(nb / MAX_CHUNKS)) : 0;
  const pn = g > 0 ? g * ppi : Math.max(TPN, Math.ceil(np / MAX_CHUNKS));
  const chunks = Math.ceil(np / pn);
  // Gated: with an A per image, the helpers start on chunks whose images' A this thread has
  // packed while it packs the later ones (a conv weight gradient: 64 packs, 3.8 ms, were all
  // done before the helpers started).
  const gated = ready.length > 0 && aOffs !== undefined && g > 0;
  if (!aOffs) packATiles(f, A, m, k);
  else if (!gated) packImages(0, nb);
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
  const pcF = pc >> 2;
  const img = m * n;
  if (ready.length === 0) w.tgemm(...args);
  else {
    const cnt = w.counter;
    cnt.fill(0, 0, 1 + chunks);
    cnt[READY] = 0;
    const armed = new Set<(typeof ready)[number]>();
    ready.forEach((h, i) => {
      const c = h.ctl;
      if (armHelper("gemm", c, GEMM_FAIL)) armed.add(h);
      c.set(args, 13);
      c[31] = scratch0 + (i + 1) * per;
      c[11] = gated ? 3 : 2;
      c[12] = pn;
      Atomics.store(c, 0, 1);
      Atomics.notify(c, 0);
    });
    if (gated) {
      gatherStats.gated++;
      feedChunks(cnt, READY, chunks, (i) => packImages(i * g, Math.min((i + 1) * g, nb)));
    }
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
