/**
 * fast-check arbitraries of `tenfold/laws` (`arb`): shapes, broadcast-compatible shape tuples,
 * dtypes and tensors. Re-exported by laws/index.ts.
 */
import fc from "fast-check";
import type { DType } from "../src/index.js";
import { Tensor, tensor } from "../src/index.js";

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

/** Options of `arb.shape`. */
export interface ShapeOptions {
  /** Smallest rank (default 0). */
  readonly minRank?: number;
  /** Largest rank (default 3). */
  readonly maxRank?: number;
  /** Smallest dimension (default 1; pass 0 to allow empty tensors). */
  readonly minDim?: number;
  /** Largest dimension (default 4). */
  readonly maxDim?: number;
}

/** Options of `arb.tensor`. */
export interface TensorArbOptions {
  /** A fixed shape or an arbitrary of shapes (default `arb.shape()`). */
  readonly shape?: readonly number[] | fc.Arbitrary<readonly number[]>;
  /** Element type (default float32); a fixed dtype or an arbitrary of dtypes. */
  readonly dtype?: DType | fc.Arbitrary<DType>;
  /** Smallest value (default -1 for floats, -10 for int32). */
  readonly min?: number;
  /** Largest value (default 1 for floats, 10 for int32). */
  readonly max?: number;
}

function shapeArb(opts: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const minRank = opts.minRank ?? 0;
  const maxRank = opts.maxRank ?? Math.max(3, minRank);
  const minDim = opts.minDim ?? 1;
  const maxDim = opts.maxDim ?? Math.max(4, minDim);
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

function valuesArb(dtype: DType, n: number, min: number | undefined, max: number | undefined): fc.Arbitrary<number[]> {
  switch (dtype) {
    case "bool":
      return fc.array(fc.boolean(), { minLength: n, maxLength: n }).map((bs) => bs.map((b) => (b ? 1 : 0)));
    case "int32":
      return fc.array(fc.integer({ min: Math.ceil(min ?? -10), max: Math.floor(max ?? 10) }), { minLength: n, maxLength: n });
    case "float32":
    case "float16": {
      const lo = Math.fround(min ?? -1);
      const hi = Math.fround(max ?? 1);
      return fc
        .array(fc.float({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n })
        .map((vs) => vs.map((v) => (Object.is(v, -0) ? 0 : v)));
    }
  }
}

function tensorOf(values: readonly number[], shape: readonly number[], dtype: DType): Tensor {
  const arr = dtype === "int32" ? Int32Array.from(values) : dtype === "bool" ? Uint8Array.from(values) : Float32Array.from(values);
  return tensor(arr, { shape: [...shape], dtype });
}

function tensorArb(opts: TensorArbOptions = {}): fc.Arbitrary<Tensor> {
  const shapes: fc.Arbitrary<readonly number[]> =
    opts.shape === undefined
      ? shapeArb()
      : Array.isArray(opts.shape)
        ? fc.constant(opts.shape as readonly number[])
        : (opts.shape as fc.Arbitrary<readonly number[]>);
  const dtypes: fc.Arbitrary<DType> =
    opts.dtype === undefined ? fc.constant<DType>("float32") : typeof opts.dtype === "string" ? fc.constant(opts.dtype) : opts.dtype;
  return fc.tuple(shapes, dtypes).chain(([shape, dtype]) => valuesArb(dtype, sizeOf(shape), opts.min, opts.max).map((vs) => tensorOf(vs, shape, dtype)));
}

/**
 * `n` shapes that broadcast together (NumPy rules): a common shape with some leading axes dropped
 * and some dimensions set to 1 in each member.
 */
function broadcastableShapesArb(n: number, opts: ShapeOptions = {}): fc.Arbitrary<number[][]> {
  return shapeArb(opts).chain((base) => {
    const one = fc
      .tuple(fc.integer({ min: 0, max: base.length }), fc.array(fc.boolean(), { minLength: base.length, maxLength: base.length }))
      .map(([drop, ones]) => base.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
    return fc.array(one, { minLength: n, maxLength: n });
  });
}

/**
 * fast-check arbitraries for tenfold values.
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { add } from "tenfold";
 * import { arb, allClose } from "tenfold/laws";
 * fc.assert(fc.property(arb.tensor({ shape: [2, 3] }), arb.tensor({ shape: [2, 3] }), (a, b) => allClose(add(a, b), add(b, a))), { numRuns: 20 });
 * ```
 */
export const arb = {
  /** Shapes (arrays of dimensions). */
  shape: shapeArb,
  /** Tensors of a fixed or arbitrary shape and dtype with values in `[min, max]`. */
  tensor: tensorArb,
  /** `n` mutually broadcastable shapes. */
  broadcastableShapes: broadcastableShapesArb,
  /** One of the portable dtypes: float32, int32, bool. */
  dtype: fc.constantFrom<DType>("float32", "int32", "bool"),
  /** One of the float dtypes tenfold differentiates (float32). */
  floatDtype: fc.constant<DType>("float32"),
};
