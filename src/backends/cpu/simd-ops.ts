/**
 * The building blocks of the Wasm SIMD kernels' lane code: the SIMD opcode table, multiply-add
 * steps (fused with relaxed SIMD), and the table of v128 constants in the SIMD memory.
 */
import type { FnBuilder } from "./wasm.js";
import { relaxedSimd, uleb } from "./wasm.js";

/** SIMD opcodes used here (after 0xfd). */
export const OP = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  f32Extract: 0x1f,
  f64Extract: 0x21,
  f32Eq: 0x41,
  f32Ne: 0x42,
  f32Lt: 0x43,
  f32Ge: 0x46,
  and: 0x4e,
  or: 0x50,
  bitselect: 0x52,
  anyTrue: 0x53,
  store32Lane: 0x5a,
  store64Lane: 0x5b,
  i32Bitmask: 0xa4,
  i32MaxU: 0xb9,
  i32GtS: 0x3b,
  promoteLow: 0x5f,
  nearest: 0x6a,
  floor: 0x68,
  i32Shl: 0xab,
  i32ShrS: 0xac,
  i32Add: 0xae,
  i32Sub: 0xb1,
  abs: 0xe0,
  neg: 0xe1,
  sqrt: 0xe3,
  add: 0xe4,
  sub: 0xe5,
  mul: 0xe6,
  div: 0xe7,
  min: 0xe8,
  max: 0xe9,
  pmin: 0xea,
  pmax: 0xeb,
  f64Add: 0xf0,
  truncSat: 0xf8,
  convertS: 0xfa,
  madd: 0x105,
  nmadd: 0x106,
} as const;

/** An operand of fmaStep / fnmadd: a v128 local by name, or a splatted float32 constant. */
export type Operand = string | number;
export const push = (f: FnBuilder, K: Consts, v: Operand): unknown => (typeof v === "string" ? f.get(v) : K.push(v));

/**
 * Stack [a] → a·b + c: one `f32x4.relaxed_madd` (FMA, one rounding) where the runtime has relaxed
 * SIMD (see relaxedSimd), else mul then add (each rounded: the plain path's exact old code).
 */
export function fmaStep(f: FnBuilder, K: Consts, b: Operand, c: Operand): void {
  push(f, K, b);
  if (relaxedSimd()) {
    push(f, K, c);
    f.simd(OP.madd);
  } else {
    f.simd(OP.mul);
    push(f, K, c);
    f.simd(OP.add);
  }
}

/** Pushes c − a·b: one `f32x4.relaxed_nmadd` with relaxed SIMD, else mul then sub. */
export function fnmadd(f: FnBuilder, K: Consts, a: Operand, b: Operand, c: Operand): void {
  const fma = relaxedSimd();
  for (const v of fma ? [a, b, c] : [c, a, b]) push(f, K, v);
  if (fma) f.simd(OP.nmadd);
  else f.simd(OP.mul).simd(OP.sub);
}

export const f32x4 = (v: number): number[] => [...new Uint8Array(new Float32Array([v, v, v, v]).buffer)];
export const i32x4 = (v: number): number[] => [...new Uint8Array(new Int32Array([v, v, v, v]).buffer)];

/** Bytes at the start of the SIMD memory holding the kernels' v128 constants (see Consts). */
export const CONST_BYTES = 65536;
/** Slot (16 bytes each) of every constant written to a SIMD memory so far. */
const constSlots = new WeakMap<WebAssembly.Memory, Map<string, number>>();

/**
 * Constants in `mem`'s table (cpuCacheStats): only the lane code's own (polynomial coefficients,
 * masks; not values from user graphs, which are v128.const), so bounded by this file, well under
 * the CONST_BYTES / 16 slots.
 */
export function constTableSize(mem: WebAssembly.Memory | null): number {
  return (mem && constSlots.get(mem)?.size) ?? 0;
}

/**
 * The v128 constants of a kernel, each in a slot of a table at the start of the SIMD memory: a
 * loop's are loaded from it into locals before the loop (`hoisting`), other uses load from it at
 * each use (one load instruction). V8 turns a `v128.const` (or a local set to one) back into a
 * constant and rematerializes it at every use (three instructions: a 64-bit move, a move to xmm,
 * a shuffle); a local loaded from memory stays a register value (spilled to the stack when the
 * 16 xmm registers run out, still measured faster than a table load at every use). A full table
 * (never seen: the lane code has well under a hundred distinct constants) falls back to
 * `v128.const`.
 */
export class Consts {
  readonly #slots: Map<string, number>;
  /** Constants read from locals instead (see hoist): key → local. */
  readonly #held = new Map<string, string>();
  readonly #declared = new Set<string>();
  constructor(
    readonly f: FnBuilder,
    readonly mem: WebAssembly.Memory,
  ) {
    let m = constSlots.get(mem);
    if (!m) constSlots.set(mem, (m = new Map()));
    this.#slots = m;
  }
  /**
   * Loads the constants `vs` (`[value, int]`) into locals here, and has push read them from those
   * locals until `release`: for a short loop with few constants (a split exp's, see simd-exp.ts),
   * where they stay in registers, instead of a load at every use.
   */
  hoist(vs: readonly (readonly [number, boolean])[]): void {
    for (const [v, int] of vs) {
      const key = Consts.#key(v, int);
      if (this.#held.has(key)) continue;
      const name = `k_${key.replace(/[^\w]/g, "_")}`;
      if (!this.#declared.has(name)) {
        this.f.local(name, "v128");
        this.#declared.add(name);
      }
      this.push(v, int).set(name);
      this.#held.set(key, name);
    }
  }
  /** Ends a `hoist`: constants are loaded at each use again. */
  release(): void {
    this.#held.clear();
  }
  #seen: [number, boolean][] | undefined;
  /**
   * Emits `loop` with the constants it uses loaded into locals just before it (see hoist): once
   * to find them, then again reading the locals. V8 keeps them in registers or spills them to
   * the stack, either way cheaper than a load from the table at every use (one thread, 4M
   * elements: log 17.5 → 11.0 ms, log1p 21.7 → 12.9, expm1 25.4 → 18.6, tanh 12.1 → 10.3; the
   * split exp's loops 87 → 64 and 120 → 97 instructions per step).
   */
  hoisting(loop: () => void): void {
    const mark = this.f.code.length;
    this.#seen = [];
    loop();
    const seen = this.#seen;
    this.#seen = undefined;
    this.f.code.length = mark;
    this.hoist(seen.filter(([v, i], k) => seen.findIndex(([w, j]) => Object.is(v, w) && i === j) === k));
    loop();
    this.release();
  }
  static #key(v: number, int: boolean): string {
    return `${int ? "i" : "f"}${Object.is(v, -0) ? "-0" : v}`;
  }
  /** Pushes the f32x4 (or, with `int`, i32x4) splat of v. */
  push(v: number, int = false): FnBuilder {
    const key = Consts.#key(v, int);
    const held = this.#held.get(key);
    if (held !== undefined) return this.f.get(held);
    this.#seen?.push([v, int]);
    const bytes = int ? i32x4(v) : f32x4(v);
    let slot = this.#slots.get(key);
    if (slot === undefined && this.#slots.size < CONST_BYTES / 16) {
      slot = this.#slots.size;
      new Uint8Array(this.mem.buffer, slot * 16, 16).set(bytes);
      this.#slots.set(key, slot);
    }
    if (slot === undefined) return this.f.simd(OP.const, ...bytes);
    return this.f.i32(0).simd(OP.load, 4, ...uleb(slot * 16));
  }
}
