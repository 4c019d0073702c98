/**
 * A tiny WebAssembly emitter (module bytes written by hand, no toolchain) and the SIMD kernels
 * the CPU backend generates with it at run time. Only what the kernels need: i32/v128 locals,
 * structured loops, 128-bit SIMD loads/stores/arithmetic, and an imported memory.
 */

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;

/** SIMD opcodes (after the 0xfd prefix). */
const SIMD = { load: 0, load32Splat: 9, store: 11, const: 12, f32x4Splat: 19, f32x4Add: 228, f32x4Mul: 230, relaxedMadd: 261 } as const;

/** A function body under construction: locals are declared by name, code is a byte list. */
export class FnBuilder {
  readonly code: number[] = [];
  readonly #locals: number[] = [];
  readonly #names = new Map<string, number>();

  constructor(readonly params: readonly string[]) {
    params.forEach((p, i) => this.#names.set(p, i));
  }

  /** Declares a local (i32, f32, f64 or v128). */
  local(name: string, type: "i32" | "f32" | "f64" | "v128"): this {
    this.#names.set(name, this.params.length + this.#locals.length);
    this.#locals.push(type === "i32" ? I32 : type === "f32" ? F32 : type === "f64" ? F64 : V128);
    return this;
  }

  /** LEB128 index of a local (for code assembled outside the builder). */
  localIndex(name: string): number[] {
    return uleb(this.#ix(name));
  }

  #ix(name: string): number {
    const i = this.#names.get(name);
    if (i === undefined) throw new Error(`wasm: unknown local ${name}`);
    return i;
  }

  get(name: string): this {
    this.code.push(0x20, ...uleb(this.#ix(name)));
    return this;
  }
  set(name: string): this {
    this.code.push(0x21, ...uleb(this.#ix(name)));
    return this;
  }
  i32(v: number): this {
    this.code.push(0x41, ...sleb(v));
    return this;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  add(): this {
    return this.op(0x6a);
  }
  mul(): this {
    return this.op(0x6c);
  }
  simd(op: number, ...imm: number[]): this {
    this.code.push(0xfd, ...uleb(op), ...imm);
    return this;
  }
  /** name = name + (i32 expression pushed by `e`). */
  inc(name: string, e: (f: this) => void): this {
    this.get(name);
    e(this);
    return this.add().set(name);
  }
  /** for (v = start; v < end; v += step) body — start/end/step push one i32 each. */
  loop(v: string, start: (f: this) => void, end: (f: this) => void, step: (f: this) => void, body: () => void): this {
    start(this);
    this.set(v);
    this.op(0x02, 0x40, 0x03, 0x40);
    this.get(v);
    end(this);
    this.op(0x4e, 0x0d, 0x01); // i32.ge_s; br_if 1
    body();
    this.inc(v, step);
    this.op(0x0c, 0x00, 0x0b, 0x0b); // br 0; end; end
    return this;
  }

  /** The function's code-section entry. */
  bytes(): number[] {
    const groups: number[] = [];
    let count = 0;
    for (let i = 0; i < this.#locals.length; ) {
      let j = i;
      while (j < this.#locals.length && this.#locals[j] === this.#locals[i]) j++;
      groups.push(...uleb(j - i), this.#locals[i]!);
      count++;
      i = j;
    }
    const body = [...uleb(count), ...groups, ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

/**
 * A module importing `env.mem` and exporting `fns` (all params i32, no results). With
 * `sharedMax` (pages), the imported memory is a shared memory of that maximum (threads).
 */
export function moduleBytes(fns: readonly { name: string; fn: FnBuilder }[], sharedMax?: number): Uint8Array {
  const limits = sharedMax ? [0x03, 0x01, ...uleb(sharedMax)] : [0x00, 0x01];
  const types = fns.flatMap(({ fn }) => [0x60, ...uleb(fn.params.length), ...fn.params.map(() => I32), 0x00]);
  const out = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(fns.length), ...types]),
    ...section(2, [0x01, ...name("env"), ...name("mem"), 0x02, ...limits]),
    ...section(3, [...uleb(fns.length), ...fns.flatMap((_, i) => uleb(i))]),
    ...section(7, [...uleb(fns.length), ...fns.flatMap((f, i) => [...name(f.name), 0x00, ...uleb(i)])]),
    ...section(10, [...uleb(fns.length), ...fns.flatMap((f) => f.fn.bytes())]),
  ];
  return new Uint8Array(out);
}

/** Whether the runtime validates a module using `f32x4.relaxed_madd`. */
export function hasRelaxedSimd(): boolean {
  const f = new FnBuilder([]).local("v", "v128");
  f.get("v").get("v").get("v").simd(SIMD.relaxedMadd).set("v");
  try {
    return WebAssembly.validate(moduleBytes([{ name: "t", fn: f }]) as BufferSource);
  } catch {
    return false;
  }
}

let relaxed: boolean | undefined;
/**
 * Whether the SIMD kernels use relaxed SIMD (FMA, `f32x4.relaxed_madd`): detected once, at the
 * first kernel, from the runtime (Node 22+, current browsers; Node 20 with V8's
 * --experimental-wasm-relaxed-simd); TENFOLD_RELAXED=0 keeps the plain SIMD path (for comparison;
 * the bench reports which path ran). It fuses the gemm's multiply-adds and the polynomial steps of
 * exp, tanh, log, log1p, expm1 and erf (simd-lanes.ts); both paths stay within the ulp bounds of
 * docs/semantics.md (tested in the relaxed-simd test project).
 */
export function relaxedSimd(): boolean {
  if (relaxed !== undefined) return relaxed;
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  relaxed = proc?.env?.TENFOLD_RELAXED !== "0" && hasRelaxedSimd();
  return relaxed;
}

/** Whether the runtime has WebAssembly SIMD at all. */
export function hasSimd(): boolean {
  if (typeof WebAssembly === "undefined") return false;
  const f = new FnBuilder([]).local("v", "v128");
  f.get("v").get("v").simd(SIMD.f32x4Add).set("v");
  try {
    return WebAssembly.validate(moduleBytes([{ name: "t", fn: f }]) as BufferSource);
  } catch {
    return false;
  }
}

/** Register tile of the SIMD matmul: MR rows × NR columns (NR/4 f32x4 vectors per row). */
export const MR = 4;
export const NR = 8;
const MR0 = MR;
const NR0 = NR;

/**
 * The register tile's K loop: for p < `kl` (a local), acc(r, v) += A[ap][p][r] · B[bp][p][v·4..]
 * over MR rows and NR columns, reading and advancing the locals `ap` and `bp` (locals `p`, `a`,
 * `b0..`). Not unrolled: V8's code for a 2× or 4× unrolled body measured slower (58 → 36 GF/s).
 */
export function microLoop(f: FnBuilder, kl: string, fma: boolean, MR: number, NR: number, acc: (r: number, v: number) => string): void {
  const NV = NR / 4;
  f.loop("p", (g) => g.i32(0), (g) => g.get(kl), (g) => g.i32(1), () => {
    for (let v = 0; v < NV; v++) f.get("bp").simd(SIMD.load, 4, ...uleb(v * 16)).set(`b${v}`);
    for (let r = 0; r < MR; r++) {
      f.get("ap").simd(SIMD.load32Splat, 2, ...uleb(r * 4)).set("a");
      for (let v = 0; v < NV; v++) {
        if (fma) f.get("a").get(`b${v}`).get(acc(r, v)).simd(SIMD.relaxedMadd);
        else f.get(acc(r, v)).get("a").get(`b${v}`).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add);
        f.set(acc(r, v));
      }
    }
    f.inc("ap", (g) => g.i32(MR * 4)).inc("bp", (g) => g.i32(NR * 4));
  });
}

/**
 * The SIMD gemm over packed operands, as a wasm function
 * `gemm(pa, pb, pc, mt, np, k, kc, mb, ldc)` (byte addresses; ldc in bytes):
 * A is packed as MR-row tiles `pa[tile][p][MR]`, B as NR-column panels `pb[panel][p][NR]`, C is
 * row-major with `ldc` bytes per row. Loops: K blocks of `kc` (the B micro-panel stays in L1),
 * M blocks of `mb` tiles (the A block stays in L2), B panels, A tiles, then the MR×NR register
 * tile over the K block (FMA via relaxed SIMD when `fma`).
 */
export function gemmFn(fma: boolean, MR = MR0, NR = NR0): FnBuilder {
  const f = new FnBuilder(["pa", "pb", "pc", "mt", "np", "k", "kc", "mb", "ldc"]);
  for (const l of ["kb", "kl", "ib", "ie", "jp", "it", "ap", "bp", "cp", "p", "bp0"]) f.local(l, "i32");
  const NV = NR / 4;
  const acc = (r: number, v: number): string => `c${r}_${v}`;
  for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.local(acc(r, v), "v128");
  for (let v = 0; v < NV; v++) f.local(`b${v}`, "v128");
  f.local("a", "v128");
  const rowPtr = (r: number): void => {
    f.get("cp");
    if (r > 0) f.get("ldc").i32(r).mul().add();
  };
  f.loop("kb", (g) => g.i32(0), (g) => g.get("k"), (g) => g.get("kc"), () => {
    // kl = min(kc, k - kb)
    f.get("kc").get("k").get("kb").op(0x6b).get("kc").get("k").get("kb").op(0x6b).op(0x48).op(0x1b).set("kl");
    f.loop("ib", (g) => g.i32(0), (g) => g.get("mt"), (g) => g.get("mb"), () => {
      // ie = min(ib + mb, mt)
      f.get("ib").get("mb").add().get("mt").get("ib").get("mb").add().get("mt").op(0x48).op(0x1b).set("ie");
      f.loop("jp", (g) => g.i32(0), (g) => g.get("np"), (g) => g.i32(1), () => {
        // bp0 = pb + (jp·k + kb)·NR·4
        f.get("pb").get("jp").get("k").mul().get("kb").add().i32(NR * 4).mul().add().set("bp0");
        f.loop("it", (g) => g.get("ib"), (g) => g.get("ie"), (g) => g.i32(1), () => {
          f.get("pa").get("it").get("k").mul().get("kb").add().i32(MR * 4).mul().add().set("ap");
          f.get("bp0").set("bp");
          f.get("pc").get("it").i32(MR).mul().get("ldc").mul().add().get("jp").i32(NR * 4).mul().add().set("cp");
          // Accumulators: zero on the first K block, else the partial sums in C.
          f.get("kb").op(0x45, 0x04, 0x40); // i32.eqz; if
          for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.simd(SIMD.const, ...new Array<number>(16).fill(0)).set(acc(r, v));
          f.op(0x05); // else
          for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) {
            rowPtr(r);
            f.simd(SIMD.load, 4, ...uleb(v * 16)).set(acc(r, v));
          }
          f.op(0x0b);
          microLoop(f, "kl", fma, MR, NR, acc);
          for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) {
            rowPtr(r);
            f.get(acc(r, v)).simd(SIMD.store, 4, ...uleb(v * 16));
          }
        });
      });
    });
  });
  return f;
}

/** Lane bits of a gather code's mask, as the bytes of an i32x4 constant. */
const GATHER_BITS = [1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0];

/**
 * One step of the table gather: reads the i32 code `c = [tab]` and stores at `out` the f32x4
 * loaded from byte `inp + 4·(c >> 4)` with lane l zeroed unless bit l of `c & 15` is set
 * (branchless; code 0 stores zeros when `inp` points 16 bytes before a zero-padded input).
 * Uses the locals `c` (i32) and `msk` (v128); does not advance the pointers.
 */
export function emitGather(f: FnBuilder, tab: string, inp: string, out: string, side?: string): void {
  f.get(tab).op(0x28, 2, 0).set("c"); // i32.load
  if (side) {
    // A negative code ~e names entry e of the side table: 4 i32 values v (input index + 1, or
    // 0 for a zero), one per lane: v ? f32 at inp + 12 + 4·v : 0.
    f.get("c").i32(0).op(0x48, 0x04, 0x40); // if c < 0
    f.get(side).get("c").i32(-1).op(0x73).i32(4).op(0x74).add().set("c"); // c = side + (~c << 4)
    for (let l = 0; l < 4; l++) {
      f.get(out);
      f.get(inp).get("c").op(0x28, 2, l * 4).i32(2).op(0x74).add().op(0x2a, 2, 12); // f32.load
      f.op(0x43, 0, 0, 0, 0); // f32.const 0
      f.get("c").op(0x28, 2, l * 4).op(0x1b); // select(v != 0)
      f.op(0x38, 2, l * 4); // f32.store
    }
    f.op(0x05);
  }
  // msk = (splat(c) & bits) == bits
  f.get("c").simd(17).simd(SIMD.const, ...GATHER_BITS).simd(78).simd(SIMD.const, ...GATHER_BITS).simd(55).set("msk");
  f.get(out);
  f.get(inp).get("c").i32(2).op(0x75).i32(-4).op(0x71).add().simd(SIMD.load, 2, 0);
  f.get("msk").simd(78).simd(SIMD.store, 4, 0); // v128.and; v128.store
  if (side) f.op(0x0b);
}

/**
 * The table-driven gemm (implicit im2col), as a wasm function
 * `tgemm(pa, tab, side, inp, pc, mt, j0, np, k, kc, ldc, ppi, img, m, last, tp, ins, ains, scratch)`: for each of the
 * `np` column panels J = j0, j0+1, ..., the NR-column B panel (k rows) is first gathered into
 * `scratch` from the input at `inp + (J / ppi)·ins` by the panel's 2·k table codes at
 * `tab + (J % tp)·k·2·4` (see `emitGather`, with the side table at `side`), then multiplied
 * by every MR-row tile of the packed A at `pa + (J / ppi)·ains` (as `gemmFn`, K blocks of `kc`). Panels are grouped by image: panel J is column panel `J % ppi` of image `J / ppi`,
 * whose C block starts at `pc + (J / ppi)·img` with `ldc` bytes per row; only rows < m and, in
 * an image's last panel, the first `last` columns are stored (C has no padding). Byte
 * addresses; `scratch` holds k·NR·4 bytes of panel plus an MR·NR·4-byte tile.
 */
export function tgemmFn(fma: boolean): FnBuilder {
  const f = new FnBuilder(["pa", "tab", "side", "inp", "pc", "mt", "j0", "np", "k", "kc", "ldc", "ppi", "img", "m", "last", "tp", "ins", "ains", "scratch"]);
  for (const l of ["jp", "J", "t", "o", "i", "c", "q", "cp0", "kb", "kl", "it", "ap", "bp", "cp", "p", "cols", "tile", "x", "src", "pai"]) f.local(l, "i32");
  const NV = NR / 4;
  const acc = (r: number, v: number): string => `c${r}_${v}`;
  for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.local(acc(r, v), "v128");
  for (let v = 0; v < NV; v++) f.local(`b${v}`, "v128");
  f.local("a", "v128").local("msk", "v128");
  // tile = scratch + k·NR·4
  f.get("scratch").get("k").i32(NR * 4).mul().add().set("tile");
  f.loop("jp", (g) => g.i32(0), (g) => g.get("np"), (g) => g.i32(1), () => {
    f.get("j0").get("jp").add().set("J");
    // Gather the panel: 2·k codes from tab + (J % tp)·k·8, input at inp + (J / ppi)·ins.
    f.get("tab").get("J").get("tp").op(0x70).get("k").mul().i32(NV * 4).mul().add().set("t");
    f.get("inp").get("J").get("ppi").op(0x6e).get("ins").mul().add().set("src");
    f.get("pa").get("J").get("ppi").op(0x6e).get("ains").mul().add().set("pai");
    f.get("scratch").set("o");
    f.loop("i", (g) => g.i32(0), (g) => g.get("k").i32(NV).mul(), (g) => g.i32(1), () => {
      emitGather(f, "t", "src", "o", "side");
      f.inc("t", (g) => g.i32(4)).inc("o", (g) => g.i32(16));
    });
    // q = J % ppi; cp0 = pc + (J / ppi)·img + q·NR·4; cols = q == ppi - 1 ? last : NR
    f.get("J").get("ppi").op(0x70).set("q");
    f.get("pc").get("J").get("ppi").op(0x6e).get("img").mul().add().get("q").i32(NR * 4).mul().add().set("cp0");
    f.get("last").i32(NR).get("q").get("ppi").i32(1).op(0x6b).op(0x46).op(0x1b).set("cols");
    f.loop("kb", (g) => g.i32(0), (g) => g.get("k"), (g) => g.get("kc"), () => {
      f.get("kc").get("k").get("kb").op(0x6b).get("kc").get("k").get("kb").op(0x6b).op(0x48).op(0x1b).set("kl");
      f.loop("it", (g) => g.i32(0), (g) => g.get("mt"), (g) => g.i32(1), () => {
        f.get("pai").get("it").get("k").mul().get("kb").add().i32(MR * 4).mul().add().set("ap");
        f.get("scratch").get("kb").i32(NR * 4).mul().add().set("bp");
        f.get("cp0").get("it").i32(MR).mul().get("ldc").mul().add().set("cp");
        // Accumulators: zero on the first K block, else the partial sums in C (rows and
        // columns that are not stored read whatever lies there and are never written back).
        f.get("kb").op(0x45, 0x04, 0x40);
        for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.simd(SIMD.const, ...new Array<number>(16).fill(0)).set(acc(r, v));
        f.op(0x05);
        for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) {
          f.get("cp");
          if (r > 0) f.get("ldc").i32(r).mul().add();
          f.simd(SIMD.load, 2, ...uleb(v * 16)).set(acc(r, v));
        }
        f.op(0x0b);
        microLoop(f, "kl", fma, MR, NR, acc);
        for (let r = 0; r < MR; r++) {
          // if (it·MR + r < m)
          f.get("it").i32(MR).mul().i32(r).add().get("m").op(0x48, 0x04, 0x40);
          f.get("cp");
          if (r > 0) f.get("ldc").i32(r).mul().add();
          f.set("x");
          f.get("cols").i32(NR).op(0x46, 0x04, 0x40); // if cols == NR: full-width stores
          for (let v = 0; v < NV; v++) f.get("x").get(acc(r, v)).simd(SIMD.store, 2, ...uleb(v * 16));
          f.op(0x05); // else: through the tile, `cols` floats
          for (let v = 0; v < NV; v++) f.get("tile").get(acc(r, v)).simd(SIMD.store, 2, ...uleb(v * 16));
          f.loop("i", (g) => g.i32(0), (g) => g.get("cols"), (g) => g.i32(1), () => {
            f.get("x").get("i").i32(2).op(0x74).add(); // x + 4i
            f.get("tile").get("i").i32(2).op(0x74).add().op(0x2a, 2, 0); // f32.load
            f.op(0x38, 2, 0); // f32.store
          });
          f.op(0x0b, 0x0b);
        }
      });
    });
  });
  return f;
}

/**
 * B packing for a row-major B (unit column stride), as a wasm function
 * `packb(src, ld, dst, np, k)`: for each of the `np` full NR-column panels jp and row p < k,
 * copies the NR floats at `src + p·ld + jp·NR·4` to `dst + (jp·k + p)·NR·4` (byte addresses,
 * `ld` bytes per row of B).
 */
export function packbFn(): FnBuilder {
  const f = new FnBuilder(["src", "ld", "dst", "np", "k"]);
  for (const l of ["jp", "p", "s"]) f.local(l, "i32");
  f.loop("jp", (g) => g.i32(0), (g) => g.get("np"), (g) => g.i32(1), () => {
    f.get("src").get("jp").i32(NR * 4).mul().add().set("s");
    f.loop("p", (g) => g.i32(0), (g) => g.get("k"), (g) => g.i32(1), () => {
      for (let v = 0; v < NR / 4; v++) f.get("dst").get("s").simd(SIMD.load, 2, ...uleb(v * 16)).simd(SIMD.store, 4, ...uleb(v * 16));
      f.inc("s", (g) => g.get("ld")).inc("dst", (g) => g.i32(NR * 4));
    });
  });
  return f;
}
