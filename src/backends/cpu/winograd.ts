/**
 * Winograd F(2×2, 3×3) convolution for the CPU backend: a 2-D, 3×3, stride-1, undilated,
 * ungrouped float32 `conv` runs as one fused Wasm SIMD kernel instead of the implicit-im2col gemm.
 * Each output 2×2 tile costs 16 multiplies per input channel instead of 36 (2.25× fewer), at the
 * price of transforms that are additions only:
 *
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A   summed over input channels,
 *
 * with d a 4×4 input patch, g a 3×3 filter (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016). The filters are transformed once per call on the host (U = G g Gᵀ,
 * packed as the gemm's A tiles). The kernel's rows are blocks of R tile rows of one image; helper
 * threads share them. For each block it (1) copies the input rows the block reads into a
 * zero-padded scratch, (2) transforms every 4×4 patch (four tiles per f32x4, a 4×4 transpose per
 * patch row) straight into the gemm's packed B panels, (3) runs the 16 products
 * M_ξν = U_ξν · V_ξν (the packed SIMD gemm of wasm.ts, channels as the K dimension), and
 * (4) transforms each 4×4 product tile back to its 2×2 outputs, stored in place (edge tiles of
 * odd output sizes store only their valid lanes). The sums per output element differ from the
 * direct convolution's in rounding only (the transforms' coefficients are 0, ±1 and ±½).
 */
import type { ConvParams } from "../../core/conv-general.js";
import { LruCache } from "../../core/lru.js";
import type { Shape } from "../../core/shape.js";
import { sizeOf } from "../../core/shape.js";
import { MR, NR, gemmFn, moduleBytes, relaxedSimd } from "./wasm.js";
import type { Geom } from "./winograd-kernel.js";
import { kernelFn, sizes } from "./winograd-kernel.js";
import { wasmMemoryLimit } from "./matmul-simd.js";
import { CONST_BYTES } from "./simd-lanes.js";
import type { SimdFn } from "./simd-threads.js";
import { SHARED_PAGES, simdArena, simdMemory, simdShared, simdThreads, threaded } from "./simd-threads.js";

/** Smallest conv (multiply-adds of the direct form) that takes the Winograd kernel. */
export const WINOGRAD_MIN_MACS = 1 << 20;
/** Kernels kept (one per conv geometry; least recently used go first). */
export const WINOGRAD_CACHE_LIMIT = 64;
/** Bytes of inputs and outputs one kernel call takes in wasm memory (bigger batches run in chunks). */
let CHUNK_BYTES = 32 * 2 ** 20;
/** Sets the chunk size (tests: several chunks on small inputs); returns the previous one. */
export function setWinogradChunkBytes(bytes: number): number {
  const was = CHUNK_BYTES;
  CHUNK_BYTES = bytes;
  return was;
}
/** Bytes a block's transformed input (V) and products (M) may take. */
const BLOCK_BYTES = 1.5 * 2 ** 20;

/**
 * Whether the CPU backend runs this conv with the Winograd kernel: 2-D, 3×3 filters, unit strides
 * and dilations, one feature group, no cropping, float32, Wasm SIMD present, and big enough.
 * @example
 * ```ts
 * import { winogradEligible } from "tenfold/internals";
 * const pad: [number, number][] = [[1, 1], [1, 1]];
 * const p = { strides: [1, 1], padding: pad, lhsDilation: [1, 1], rhsDilation: [1, 1], groups: 1 };
 * console.log(winogradEligible(p, [8, 32, 28, 28], [64, 32, 3, 3], "float32")); // true where Wasm SIMD runs
 * ```
 */
export function winogradEligible(p: ConvParams, xs: Shape, ws: Shape, dtype: string): boolean {
  if (dtype !== "float32" || xs.length !== 4 || ws.length !== 4 || ws[2] !== 3 || ws[3] !== 3 || p.groups !== 1) return false;
  if (![p.strides, p.lhsDilation, p.rhsDilation].every((v) => v[0] === 1 && v[1] === 1)) return false;
  if (p.padding.some(([lo, hi]) => lo < 0 || hi < 0 || lo > 2 || hi > 2)) return false;
  const g = geometry(p, xs, ws);
  if (g.Ho < 2 || g.Wo < 2 || g.C < 4 || g.O < 4) return false;
  if (g.N * g.O * g.Ho * g.Wo * g.C * 9 < WINOGRAD_MIN_MACS) return false;
  if (!simdMemory() || layoutBytes(geometry(p, [imagesPerChunk(p, xs, ws), ...xs.slice(1)], ws)) > wasmMemoryLimit()) return false;
  return true;
}

function geometry(p: ConvParams, xs: Shape, ws: Shape): Geom {
  const [N, C, H, W] = xs as [number, number, number, number];
  const O = ws[0]!;
  const [pt, pb] = p.padding[0]!;
  const [pl, pr] = p.padding[1]!;
  const Ho = H + pt + pb - 2;
  const Wo = W + pl + pr - 2;
  const th = Math.ceil(Ho / 2);
  const tw = Math.ceil(Wo / 2);
  // Tile rows per block: the fewest tiles computed in all (padding columns of the last panel and
  // a short last block are wasted work) with the block's V and M panels within ≈ 1.5 MB.
  const mt = Math.ceil(O / MR);
  const cap = Math.max(NR, Math.min(256, Math.floor(BLOCK_BYTES / (64 * (C + mt * MR)))));
  let R = 1;
  let best = Infinity;
  for (let r = 1; r <= th && (r === 1 || r * tw <= cap); r++) {
    const total = Math.ceil(th / r) * Math.ceil((r * tw) / NR);
    if (total <= best) [R, best] = [r, total];
  }
  const nb = Math.ceil(th / R);
  const TB = Math.ceil((R * tw) / NR) * NR;
  const Wp = Math.ceil(Math.max(2 * tw + 2, pl + W) / 4) * 4;
  return { N, C, H, W, O, pt, pl, Ho, Wo, th, tw, R, nb, TB, PR: 2 * R + 2, Wp, mt };
}

function layoutBytes(g: Geom): number {
  const s = sizes(g);
  return CONST_BYTES + s.x + s.u + s.y + s.tab + s.scratch * Math.max(1, simdThreads()) + 128;
}

/** The tile tables of the blocks of one image (see kernelFn). */
function tileTable(g: Geom): Int32Array {
  const t = new Int32Array(g.nb * g.TB * 3);
  for (let b = 0; b < g.nb; b++)
    for (let q = 0; q < g.TB; q++) {
      const e = (b * g.TB + q) * 3;
      const ty = b * g.R + Math.floor(q / g.tw);
      const tx = q % g.tw;
      if (q >= g.R * g.tw || ty >= g.th) continue; // a padding column of the panel: offsets 0, mask 0
      t[e] = (2 * (ty - b * g.R) * g.Wp + 2 * tx) * 4;
      t[e + 1] = (2 * ty * g.Wo + 2 * tx) * 4;
      t[e + 2] = 1 | (2 * tx + 1 < g.Wo ? 2 : 0) | (2 * ty + 1 < g.Ho ? 4 : 0);
    }
  // On the first tile of a group of four consecutive tiles in one tile row: flag 16 (their
  // patches are contiguous), and flag 8 when all four are whole (their outputs too).
  for (let b = 0; b < g.nb; b++)
    for (let q = 0; q < g.TB; q += 4) {
      const e = (b * g.TB + q) * 3;
      if (!(q + 3 < g.R * g.tw && Math.floor((q + 3) / g.tw) === Math.floor(q / g.tw) && t[e + 11]! & 1)) continue;
      const whole = [0, 1, 2, 3].every((k) => t[e + k * 3 + 2] === 7);
      t[e + 2] = t[e + 2]! | 16 | (whole ? 8 : 0);
    }
  return t;
}

/** U = G g Gᵀ for every (o, c), packed as the gemm's A tiles: U_ξν[(o / MR)·C + c][o % MR]. */
function transformFilters(w: Float32Array, g: Geom, out: Float32Array): void {
  out.fill(0);
  const US = g.mt * MR * g.C;
  const t = new Float64Array(12);
  for (let o = 0; o < g.O; o++)
    for (let c = 0; c < g.C; c++) {
      const w0 = (o * g.C + c) * 9;
      // t = G g (4×3): rows g0, (g0+g1+g2)/2, (g0−g1+g2)/2, g2
      for (let j = 0; j < 3; j++) {
        const a = w[w0 + j]!;
        const b = w[w0 + 3 + j]!;
        const d = w[w0 + 6 + j]!;
        t[j] = a;
        t[3 + j] = 0.5 * (a + b + d);
        t[6 + j] = 0.5 * (a - b + d);
        t[9 + j] = d;
      }
      const at = ((o >> 2) * g.C + c) * MR + (o & 3);
      for (let xi = 0; xi < 4; xi++) {
        const [a, b, d] = [t[xi * 3]!, t[xi * 3 + 1]!, t[xi * 3 + 2]!];
        out[xi * 4 * US + at] = a;
        out[(xi * 4 + 1) * US + at] = 0.5 * (a + b + d);
        out[(xi * 4 + 2) * US + at] = 0.5 * (a - b + d);
        out[(xi * 4 + 3) * US + at] = d;
      }
    }
}

interface Compiled {
  readonly fn: SimdFn;
  readonly tab: Int32Array;
  readonly u: Float32Array;
}

const cache = new LruCache<string, Compiled>(WINOGRAD_CACHE_LIMIT);

/** Winograd kernels compiled (one per conv geometry), for cpuCacheStats. */
export function winogradCacheSize(): number {
  return cache.size;
}

/**
 * Calls that ran the Winograd kernel, kernel runs (one per chunk of images), and calls handed back
 * to the direct form for an infinity or a NaN (tests).
 */
export const winogradStats = { calls: 0, chunks: 0, fallbacks: 0 };

function compiled(g: Geom): Compiled {
  const key = JSON.stringify(g);
  let c = cache.get(key);
  if (c) return c;
  const s = sizes(g);
  const mem = simdMemory()!; // (first: it decides whether the memory is shared)
  const bytes = moduleBytes(
    [
      { name: "k", fn: kernelFn(g) },
      { name: "gemm", fn: gemmFn(relaxedSimd()) },
    ],
    simdShared() ? SHARED_PAGES : undefined,
  );
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { mem } });
  const k = inst.exports.k as (...a: number[]) => void;
  // Rows are whole blocks: one per claimed chunk (perRow at least a chunk's worth of elements).
  const perRow = Math.max(1 << 15, g.C * g.TB * 16);
  c = { fn: threaded(k, bytes, g.N * g.nb, perRow, s.scratch), tab: tileTable(g), u: new Float32Array(s.u / 4) };
  cache.set(key, c);
  return c;
}

/**
 * Images per kernel call: inputs and outputs of a chunk take at most CHUNK_BYTES of wasm memory
 * (the memory never shrinks, so a big batch runs in chunks instead of growing it for good).
 */
function imagesPerChunk(p: ConvParams, xs: Shape, ws: Shape): number {
  const g = geometry(p, [1, ...xs.slice(1)], ws);
  return Math.max(1, Math.min(xs[0]!, Math.floor(CHUNK_BYTES / ((g.C * g.H * g.W + g.O * g.Ho * g.Wo) * 4))));
}

/**
 * y = conv(x, w) by Winograd F(2×2, 3×3) into `out` (NCHW, length N·O·Ho·Wo), for a conv that
 * `winogradEligible` accepted. Returns false, with `out` unspecified, when the filters or an
 * input value the conv reads is an infinity or a NaN: the transforms would turn it into NaN in
 * outputs whose direct sum is finite or infinite (∞ − ∞ across a tile), so the caller runs the
 * direct form then.
 */
export function winogradConv(p: ConvParams, xs: Shape, ws: Shape, x: Float32Array, w: Float32Array, out: Float32Array): boolean {
  const N = xs[0]!;
  const nonFinite = (): boolean => (winogradStats.fallbacks++, false);
  for (let i = 0, n = sizeOf(ws); i < n; i++) if (!Number.isFinite(w[i]!)) return nonFinite();
  const per = imagesPerChunk(p, xs, ws);
  const mem = simdMemory()!;
  simdArena.owner = {}; // (the regions below overwrite whatever programs left in the arena)
  winogradStats.calls++;
  const up = (b: number): number => Math.ceil(b / 16) * 16;
  const uAt = CONST_BYTES;
  for (let n0 = 0; n0 < N; n0 += per) {
    const m = Math.min(per, N - n0);
    const g = geometry(p, [m, ...xs.slice(1)], ws);
    const s = sizes(g);
    const c = compiled(g);
    const need = layoutBytes(g);
    if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
    const xAt = up(uAt + s.u);
    const yAt = up(xAt + s.x);
    const tabAt = up(yAt + s.y);
    const scrAt = up(tabAt + s.tab);
    const f32 = new Float32Array(mem.buffer);
    if (n0 === 0) {
      transformFilters(w, g, c.u);
      f32.set(c.u, uAt >> 2);
    }
    const [xi, yo] = [g.C * g.H * g.W, g.O * g.Ho * g.Wo];
    new Int32Array(mem.buffer).set(c.tab, tabAt >> 2);
    // Each image is copied in before its first block runs and out once its last block is done,
    // while the helper threads compute other blocks.
    const images = (r0: number, r1: number, last: number, copy: (n: number) => void): void => {
      for (let r = r0; r < r1; r++) if (r % g.nb === last) copy((r - last) / g.nb);
    };
    winogradStats.chunks++;
    c.fn.withRows!(
      [xAt, uAt, yAt, tabAt, scrAt],
      (r0, r1) => images(r0, r1, g.nb - 1, (n) => out.set(f32.subarray((yAt >> 2) + n * yo, (yAt >> 2) + (n + 1) * yo), (n0 + n) * yo)),
      (r0, r1) => images(r0, r1, 0, (n) => f32.set(x.subarray((n0 + n) * xi, (n0 + n + 1) * xi), (xAt >> 2) + n * xi)),
    );
    const flags = new Int32Array(mem.buffer, tabAt + g.nb * g.TB * 12, m * g.nb);
    if (flags.some((v) => v !== 0)) return nonFinite();
  }
  return true;
}
