// Differential test of the scalar semantics (core/semantics.ts): every elementwise primitive and
// dtype, evaluated by its definition (`scalarFn`, computed here element by element) and by every
// backend: reference, CPU eager and jitted (sizes that hit the JS kernels, the Wasm SIMD kernels
// with a tail, and the threaded SIMD path) and WebGPU (lavapipe). Inputs mix special values (NaN,
// ±Inf, ±0, denormals, int32 extremes, rounding ties) with random ones, and the empty shape.
// Results must be bit-identical, or within the per-primitive bound of `boundOf` (docs/semantics.md).
// Runs: PROPS_RUNS (default 1) fast-check runs per primitive and typing; seeds are printed.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { DType, Tensor } from "../../src/index.js";
import { bind } from "../../src/ops/base.js";
import type { ElementwisePrim, Params } from "../../src/core/primitives.js";
import { boundOf, scalarFn, storeAs } from "../../src/core/semantics.js";
import type { SemanticsBackend } from "../../src/core/semantics.js";
import { hasSimdLanes, setSimdMinElements } from "../../src/backends/cpu/simd.js";
import { probeWebGpu } from "../webgpu/gpu.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 1);
const gpu = await probeWebGpu();
/** Whether WebGPU stores float16 as f16 here (shader-f16); else float16 is float32 there too. */
let f16Storage = false;
if (gpu) {
  await tf.setBackend("webgpu");
  const h = await tf.multiply(tf.tensor([1 + 2 ** -12], { dtype: "float16" }), 1).data();
  f16Storage = h[0] === 1;
  await tf.setBackend("cpu");
}

/** One typing of a primitive: operand dtypes (in order), params. */
interface Case {
  readonly prim: ElementwisePrim;
  readonly ins: readonly DType[];
  readonly params: Params<ElementwisePrim>;
  /** Operand value generators by position (default: by dtype). */
  readonly gen?: readonly ("any" | "mask" | "small")[];
}

const F: DType = "float32";
const I: DType = "int32";
const B: DType = "bool";
const H: DType = "float16";
const UNARY_F = ["neg", "exp", "log", "expm1", "log1p", "sin", "cos", "tanh", "sqrt", "floor", "round", "erf"] as const;
const BINARY = ["add", "mul", "div", "pow", "max", "min", "eq", "ne", "lt", "le"] as const;
const CASES: Case[] = [
  ...UNARY_F.map((prim): Case => ({ prim, ins: [F], params: {} })),
  ...(["neg", "floor", "round"] as const).map((prim): Case => ({ prim, ins: [I], params: {} })),
  ...BINARY.map((prim): Case => ({ prim, ins: [F, F], params: {} })),
  ...BINARY.map((prim): Case => ({ prim, ins: [I, I], params: {}, ...(prim === "pow" ? { gen: ["any", "small"] as const } : {}) })),
  ...(["add", "mul", "max", "min", "eq", "ne", "lt", "le"] as const).map((prim): Case => ({ prim, ins: [B, B], params: {} })),
  { prim: "where", ins: [B, F, F], params: {} },
  { prim: "where", ins: [B, I, I], params: {} },
  { prim: "where", ins: [B, B, B], params: {} },
  ...(
    [
      [F, I],
      [F, B],
      [I, F],
      [I, B],
      [B, F],
      [B, I],
    ] as const
  ).map(([from, to]): Case => ({ prim: "cast", ins: [from], params: { dtype: to } })),
  // float16: operands computed in float32; WebGPU (shader-f16) stores results as float16.
  ...(["neg", "exp", "log", "sqrt", "tanh", "floor", "round"] as const).map((prim): Case => ({ prim, ins: [H], params: {} })),
  ...(["add", "mul", "div", "max", "min", "pow", "lt", "eq"] as const).map((prim): Case => ({ prim, ins: [H, H], params: {} })),
  { prim: "where", ins: [B, H, H], params: {} },
  ...(
    [
      [H, I],
      [H, F],
      [F, H],
      [I, H],
    ] as const
  ).map(([from, to]): Case => ({ prim: "cast", ins: [from], params: { dtype: to } })),
  { prim: "shrl", ins: [I], params: { bits: 7 } },
  { prim: "threefry", ins: [I, I, I, I], params: { lane: 1 } },
];

const SPECIAL_F = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1.5,
  2.5,
  -2.5,
  1e-45,
  -1e-45,
  1e-40,
  1.1754943508222875e-38,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  2147483520,
  2147483648,
  -2147483648,
  3e9,
  -3e9,
  1e-7,
  88.5,
  -103,
  20,
  0.1,
  Math.PI,
];
const SPECIAL_I = [0, 1, -1, 2, -2, 2147483647, -2147483648, 65536, 46341, 7, -7, 31, 255];

const f32 = fc.float({ noDefaultInfinity: false }).map((v) => Math.fround(v));
const gens = {
  float: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_F) },
    { weight: 4, arbitrary: f32 },
    { weight: 3, arbitrary: fc.double({ min: -30, max: 30, noNaN: true }).map(Math.fround) },
  ),
  int: fc.oneof(fc.constantFrom(...SPECIAL_I), fc.integer({ min: -2147483648, max: 2147483647 }), fc.integer({ min: -100, max: 100 })),
  small: fc.integer({ min: -4, max: 40 }),
  bool: fc.constantFrom(0, 1),
};
function gen(d: DType, kind: "any" | "mask" | "small" = "any"): fc.Arbitrary<number> {
  if (kind === "small") return gens.small;
  return d === "bool" ? gens.bool : d === "int32" ? gens.int : d === "float16" ? gens.float.map(f16round) : gens.float;
}

/** Rounds to the nearest float16 (ties to even), as a number. */
function f16round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const q = 2 ** (e - 10);
  const m = a / q;
  let r = Math.round(m);
  if (Math.abs(m - Math.trunc(m)) === 0.5 && r % 2 === 1) r -= 1;
  const v = r * q;
  return Math.sign(x) * (v >= 65520 ? Infinity : v);
}

/** Sizes: empty, JS kernels, the SIMD path with a tail (threshold lowered), the threaded path. */
const SIZES = [0, 1, 37, 4096 + 13, (1 << 18) + 4];
setSimdMinElements(1024);

const ulpOf = (x: number): number => {
  const a = Math.abs(x);
  if (a < 1.1754943508222875e-38) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
};

/** Checks `got` against `want` under the bound; returns a description of the first mismatch. */
function mismatch(
  prim: ElementwisePrim,
  outT: DType,
  backend: SemanticsBackend | "reference",
  want: ArrayLike<number>,
  got: ArrayLike<number>,
  ins: readonly ArrayLike<number>[],
  f16 = false,
): string | undefined {
  if (want.length !== got.length) return `length ${got.length} vs ${want.length}`;
  const bound = backend === "reference" ? { ulp: 0 } : boundOf(prim, backend);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Object.is(w, g) || (Number.isNaN(w) && Number.isNaN(g))) continue;
    if (bound.domain !== undefined && ins.some((a) => Math.abs(a[i]!) > bound.domain!) && Number.isNaN(w) === Number.isNaN(g) && Math.abs(g) <= 1) continue;
    if (outT === "float16" && backend === "webgpu" && f16) {
      const h = f16round(w);
      if (Object.is(h, g) || (bound.ulp > 0 && Number.isFinite(h) && Math.abs(h - g) <= 2 ** -10 * Math.max(Math.abs(h), 2 ** -14) + (bound.abs ?? 0)))
        continue;
    }
    if ((outT === "float32" || outT === "float16") && bound.ulp > 0 && Number.isFinite(w) && Number.isFinite(g)) {
      const err = Math.abs(w - g);
      if (err <= bound.ulp * ulpOf(w) || (bound.abs !== undefined && err <= bound.abs)) continue;
    }
    return `element ${i}: inputs (${ins.map((a) => a[i]).join(", ")}) want ${Object.is(w, -0) ? "-0" : w}, got ${Object.is(g, -0) ? "-0" : g} (bound ${JSON.stringify(bound)})`;
  }
  return undefined;
}

function tile(base: readonly number[], n: number): number[] {
  return Array.from({ length: n }, (_, i) => base[i % base.length]!);
}

function typed(d: DType, v: readonly number[]): Float32Array | Int32Array | Uint8Array {
  return d === "bool" ? Uint8Array.from(v) : d === "int32" ? Int32Array.from(v) : Float32Array.from(v);
}

/** The definition, element by element. */
function expected(c: Case, outT: DType, ins: readonly (Float32Array | Int32Array | Uint8Array)[]): number[] {
  const inT = c.prim === "where" ? c.ins[1]! : c.ins[0]!;
  const f = scalarFn(c.prim, inT, outT, c.params);
  const n = ins[0]!.length;
  return Array.from({ length: n }, (_, i) => storeAs(outT, f(ins[0]![i]!, ins[1]?.[i] ?? 0, ins[2]?.[i] ?? 0, ins[3]?.[i] ?? 0)));
}

const apply = (c: Case, xs: readonly Tensor[]): Tensor => bind(c.prim, c.params, xs);

/** Runs the case on the current backend, eager or jitted. */
async function run(c: Case, ins: readonly (Float32Array | Int32Array | Uint8Array)[], jitted: boolean): Promise<{ out: ArrayLike<number>; dtype: DType }> {
  const ts = ins.map((a, k) => tf.tensor(a, { dtype: c.ins[k]!, shape: [a.length] }));
  const y = jitted ? tf.jit((...xs: Tensor[]) => apply(c, xs))(...ts) : apply(c, ts);
  return { out: await y.data(), dtype: y.dtype };
}

const label = (c: Case): string => `${c.prim}(${c.ins.join(", ")})${"dtype" in c.params ? `->${String(c.params.dtype)}` : ""}`;

describe("scalar semantics: every backend agrees with core/semantics.ts", () => {
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  for (const c of CASES) {
    it(
      label(c),
      async () => {
        const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
        console.log(`${label(c)}: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
        const arb = fc.tuple(...c.ins.map((d, k) => fc.array(gen(d, c.gen?.[k]), { minLength: 24, maxLength: 48 })));
        let first = true;
        await fc.assert(
          fc.asyncProperty(arb, async (bases) => {
            // The SIMD sizes once per case (tiled from the same values), small ones every run; the
            // threaded size only where SIMD kernels exist (float32 operands of a SIMD primitive).
            const simd = c.ins.every((d, k) => d === "float32" || (k === 0 && (c.prim === "where" || c.prim === "cast"))) && hasSimdLanes(c.prim);
            const sizes = first ? SIZES.slice(0, simd ? 5 : 4) : SIZES.slice(0, 3);
            first = false;
            for (const n of sizes) {
              const ins = bases.map((b, k) => typed(c.ins[k]!, tile(b, n)));
              const targets: [string, SemanticsBackend | "reference", boolean][] = [
                ["reference", "reference", false],
                ["cpu", n >= 1024 ? "wasm" : "js", false],
                ["cpu", n >= 1024 ? "wasm" : "js", true],
                ...(gpu ? [["webgpu", "webgpu", false] as [string, SemanticsBackend, boolean]] : []),
              ];
              for (const [backend, kind, jitted] of targets) {
                await tf.setBackend(backend);
                const { out, dtype } = await run(c, ins, jitted);
                const want = expected(c, dtype, ins);
                const bad = mismatch(c.prim, dtype, kind, want, out, ins, f16Storage);
                expect(bad, `${label(c)} on ${backend}${jitted ? " (jit)" : ""}, n = ${n}: ${bad}`).toBeUndefined();
              }
            }
          }),
          { numRuns: RUNS, seed },
        );
      },
      120_000,
    );
  }
});
