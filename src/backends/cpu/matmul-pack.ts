/**
 * Wasm SIMD packing of the gemm's A operand into MR-row tiles (f[(t·k + p)·MR + r] = A[t·MR + r][p]):
 * A is copied as is into wasm memory (one memcpy for a contiguous operand), then a generated
 * routine writes the tiles with 128-bit loads and stores: a 4×4 transpose per four columns for a
 * row-major A (the forward product x·W), a plain 4-float copy per k step for a transposed A (the
 * weight gradient xᵀ·dh). The JS packer (`packATiles`) handles the rest (a partial last tile, the
 * k % 4 tail of a row-major A, other strides) and is the reference the tests compare against.
 */
import { FnBuilder, MR, moduleBytes } from "./wasm.js";
import type { Strided } from "./matmul-js.js";

type PackFn = (...args: number[]) => void;
const LOAD = 0;
const STORE = 11;
const SHUFFLE = 13;

/** i8x16.shuffle lane bytes taking the 32-bit lanes `l` (0–3 from the first operand, 4–7 from the second). */
const lanes = (...l: number[]): number[] => l.flatMap((x) => [x * 4, x * 4 + 1, x * 4 + 2, x * 4 + 3]);

/**
 * `packar(src, ld, dst, t0, t1, k, k4)`: row-major A at byte address `src` (`ld` bytes per row);
 * for tiles t in [t0, t1) and columns p < k4 (a multiple of 4), rows 4t..4t+3 at p..p+3 are
 * transposed into the tile at `dst + (t·k + p)·16`.
 */
function packarFn(): FnBuilder {
  const f = new FnBuilder(["src", "ld", "dst", "t0", "t1", "k", "k4"]);
  for (const l of ["t", "p", "a0", "a1", "a2", "a3", "d"]) f.local(l, "i32");
  for (const l of ["v0", "v1", "v2", "v3", "w0", "w1", "w2", "w3"]) f.local(l, "v128");
  f.loop(
    "t",
    (g) => g.get("t0"),
    (g) => g.get("t1"),
    (g) => g.i32(1),
    () => {
      f.get("src").get("t").i32(4).mul().get("ld").mul().add().set("a0");
      f.get("a0").get("ld").add().set("a1");
      f.get("a1").get("ld").add().set("a2");
      f.get("a2").get("ld").add().set("a3");
      f.get("dst").get("t").get("k").mul().i32(16).mul().add().set("d");
      f.loop(
        "p",
        (g) => g.i32(0),
        (g) => g.get("k4"),
        (g) => g.i32(4),
        () => {
          for (let r = 0; r < 4; r++) f.get(`a${r}`).simd(LOAD, 2, 0).set(`v${r}`);
          // 4x4 transpose: interleave row pairs (w0 = a0 b0 a1 b1, w1 = a2 b2 a3 b3, w2/w3 from c, d),
          // then each output row takes two lanes of a w of (a, b) and two of a w of (c, d).
          for (let j = 0; j < 4; j++) {
            const pair = j < 2 ? ["v0", "v1"] : ["v2", "v3"];
            f.get(pair[0]!)
              .get(pair[1]!)
              .simd(SHUFFLE, ...lanes(...(j % 2 === 0 ? ([0, 4, 1, 5] as const) : ([2, 6, 3, 7] as const))))
              .set(`w${j}`);
          }
          for (let j = 0; j < 4; j++) {
            const [lo, hi] = j < 2 ? ["w0", "w2"] : ["w1", "w3"];
            f.get("d")
              .get(lo)
              .get(hi)
              .simd(SHUFFLE, ...lanes(...(j % 2 === 0 ? ([0, 1, 4, 5] as const) : ([2, 3, 6, 7] as const))))
              .simd(STORE, 4, 16 * j);
          }
          for (let r = 0; r < 4; r++) f.inc(`a${r}`, (g) => g.i32(16));
          f.inc("d", (g) => g.i32(64));
        },
      );
    },
  );
  return f;
}

/**
 * `packat(src, ld, dst, t0, t1, k)`: transposed A (row p of the copy holds A's column p, `ld`
 * bytes apart): for tiles t in [t0, t1) and p < k, the 4 floats at `src + p·ld + 16t` go to
 * `dst + (t·k + p)·16`.
 */
function packatFn(): FnBuilder {
  const f = new FnBuilder(["src", "ld", "dst", "t0", "t1", "k"]);
  for (const l of ["t", "p", "s", "d"]) f.local(l, "i32");
  f.loop(
    "t",
    (g) => g.get("t0"),
    (g) => g.get("t1"),
    (g) => g.i32(1),
    () => {
      f.get("src").get("t").i32(16).mul().add().set("s");
      f.get("dst").get("t").get("k").mul().i32(16).mul().add().set("d");
      f.loop(
        "p",
        (g) => g.i32(0),
        (g) => g.get("k"),
        (g) => g.i32(1),
        () => {
          f.get("d").get("s").simd(LOAD, 2, 0).simd(STORE, 4, 0);
          f.inc("s", (g) => g.get("ld")).inc("d", (g) => g.i32(16));
        },
      );
    },
  );
  return f;
}

const instances = new WeakMap<WebAssembly.Memory, { packar: PackFn; packat: PackFn } | null>();

function packers(mem: WebAssembly.Memory, sharedPages: number): { packar: PackFn; packat: PackFn } | null {
  let p = instances.get(mem);
  if (p !== undefined) return p;
  p = null;
  if (MR === 4) {
    try {
      const shared = typeof SharedArrayBuffer !== "undefined" && mem.buffer instanceof SharedArrayBuffer;
      const fns = [
        { name: "packar", fn: packarFn() },
        { name: "packat", fn: packatFn() },
      ];
      const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(fns, shared ? sharedPages : undefined) as BufferSource), { env: { mem } });
      p = { packar: inst.exports.packar as PackFn, packat: inst.exports.packat as PackFn };
    } catch {
      p = null; // the JS packer does the work
    }
  }
  instances.set(mem, p);
  return p;
}

/** Bytes of wasm memory `packATilesWasm` needs for its raw copy of an m×k A (0: it packs in JS). */
export function rawABytes(A: Strided, m: number, k: number): number {
  if (MR !== 4 || !(A.data instanceof Float32Array) || m < 4) return 0;
  if (A.cs === 1 && k >= 4) return m * k * 4 + 64;
  if (A.rs === 1 && A.cs !== 1) return m * k * 4 + 64;
  return 0;
}

/**
 * Packs row tiles [t0, t1) of A (m×k) at float `at` of `f` (as `packATiles` does) with the wasm
 * routines, after copying A to byte `raw` of the same memory (`rawABytes` bytes; the copy is made
 * when t0 is 0, so chunks must come in order from 0). Returns false (nothing done) when A's
 * layout or the runtime does not allow it.
 */
export function packATilesWasm(
  mem: WebAssembly.Memory,
  sharedPages: number,
  f: Float32Array,
  A: Strided,
  m: number,
  k: number,
  at: number,
  raw: number,
  t0: number,
  t1: number,
  js: (t0: number, t1: number) => void,
): boolean {
  if (rawABytes(A, m, k) === 0 || raw % 16 !== 0 || at % 4 !== 0) return false;
  const p = packers(mem, sharedPages);
  if (!p) return false;
  const ad = A.data as Float32Array;
  const full = Math.floor(m / 4); // tiles with four real rows
  const r = raw >> 2;
  if (A.cs === 1) {
    // row-major: copy rows [4·t0, min(4·t1, m)) compacted to stride k
    const [i0, i1] = [t0 * 4, Math.min(t1 * 4, m)];
    if (A.rs === k) f.set(ad.subarray(A.off + i0 * k, A.off + i1 * k), r + i0 * k);
    else for (let i = i0; i < i1; i++) f.set(ad.subarray(A.off + i * A.rs, A.off + i * A.rs + k), r + i * k);
    const k4 = k & ~3;
    const e = Math.min(t1, full);
    if (e > t0) p.packar(raw, k * 4, at * 4, t0, e, k, k4);
    if (k4 < k)
      for (let t = t0; t < e; t++) for (let q = k4; q < k; q++) for (let rr = 0; rr < 4; rr++) f[at + (t * k + q) * 4 + rr] = f[r + (t * 4 + rr) * k + q]!;
    if (t1 > full) js(Math.max(t0, full), t1);
    return true;
  }
  // transposed (A.rs = 1): line p of A's storage holds A[·][p]; copied whole on the first chunk, stride m
  if (t0 === 0) {
    if (A.cs === m) f.set(ad.subarray(A.off, A.off + k * m), r);
    else for (let q = 0; q < k; q++) f.set(ad.subarray(A.off + q * A.cs, A.off + q * A.cs + m), r + q * m);
  }
  const e = Math.min(t1, full);
  if (e > t0) p.packat(raw, m * 4, at * 4, t0, e, k);
  if (t1 > full) js(Math.max(t0, full), t1);
  return true;
}

/**
 * Copies `rows` rows of `n` elements, `lds` apart in `src` from `s`, to consecutive rows of `dst`
 * from `d`. Narrow rows (a padded 10-column product) go element by element: a view per row would
 * allocate ≈ 100 bytes each (25 KB of the 129 KB of JS objects an MNIST MLP step allocated).
 */
export function copyRows(src: Float32Array, s: number, lds: number, dst: Float32Array | Int32Array | Uint8Array, d: number, n: number, rows: number): void {
  if (n >= 64) {
    for (let i = 0; i < rows; i++, s += lds, d += n) dst.set(src.subarray(s, s + n), d);
    return;
  }
  for (let i = 0; i < rows; i++, s += lds - n) for (let j = 0; j < n; j++) dst[d++] = src[s++]!;
}
