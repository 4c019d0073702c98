/** Tensor creation: from JS data (realized buffers) or as lazy constants (iota, fills). */
import type { DType, TypedArray } from "../core/dtype.js";
import { allocArray, checkDType } from "../core/dtype.js";
import { DTypeError, ShapeError, ValueError, fmtShape } from "../core/errors.js";
import { bufferNode } from "../core/node.js";
import type { Shape } from "../core/shape.js";
import { checkShape, sizeOf } from "../core/shape.js";
import type { NestedArray } from "../core/tensor.js";
import { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor, bind, broadcastTo_, cast, constant } from "./base.js";

/** Options for `tensor`. */
export interface TensorOptions {
  /** Element type; float32 unless the data is all booleans (bool). */
  readonly dtype?: DType;
  /** Shape, required with a flat TypedArray or flat array. */
  readonly shape?: readonly number[];
}

function inferShape(data: NestedArray, path: number[] = []): number[] {
  if (!Array.isArray(data)) return [];
  if (data.length === 0) return [0];
  return [data.length, ...inferShape(data[0]!, [...path, 0])];
}

function flatten(data: NestedArray, shape: number[], out: number[], dim: number, path: number[], kinds: Set<string>): void {
  if (dim === shape.length) {
    if (Array.isArray(data)) throw new ShapeError(`tensor: ragged nested array: expected a number at index [${path.join(", ")}], got an array`);
    if (typeof data === "boolean") kinds.add("bool");
    else if (typeof data === "number") kinds.add("number");
    else throw new DTypeError(`tensor: expected numbers or booleans, got ${typeof data} at index [${path.join(", ")}]`);
    out.push(Number(data));
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    const got = Array.isArray(data) ? `length ${data.length}` : "a number";
    throw new ShapeError(`tensor: ragged nested array: expected length ${shape[dim]} at index [${path.join(", ")}], got ${got}`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!(i in data))
      throw new ShapeError(`tensor: the array has a hole (an empty slot) at index [${[...path, i].join(", ")}]; every entry must be a number or a boolean`);
    flatten(data[i]!, shape, out, dim + 1, [...path, i], kinds);
  }
}

/** Throws a ValueError unless every value fits int32 (NaN, ±Infinity and overflow are rejected). */
function checkInt32(op: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= -2147483648 && v < 2147483648)) {
      throw new ValueError(`${op}: value ${v} at flat index ${i} does not fit int32 (range [-2147483648, 2147483647]); use dtype "float32"`);
    }
  }
}

/** Wraps a typed array as a realized tensor (the array is copied). */
export function fromTypedArray(arr: TypedArray, shape: Shape, dtype: DType): Tensor {
  const out = allocArray(dtype, arr.length);
  out.set(arr);
  return new Tensor(bufferNode({ host: out, device: new Map() }, [...shape], dtype));
}

/**
 * Creates a tensor from nested arrays, a TypedArray (with a shape), or a scalar. Numbers default
 * to float32, booleans to bool.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * const x = tensor([[1, 2], [3, 4]]);
 * console.log(x.shape, x.dtype); // [2, 2] "float32"
 * const y = tensor(new Int32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
 * console.log(y.dtype); // "int32"
 * ```
 */
export function tensor(data: NestedArray | TypedArray | Tensor, options: TensorOptions | readonly number[] = {}): Tensor {
  const opts: TensorOptions = Array.isArray(options) ? { shape: options as number[] } : (options as TensorOptions);
  const dtype = opts.dtype === undefined ? undefined : checkDType(opts.dtype, "tensor");
  if (data instanceof Tensor) return dtype ? cast(data, dtype) : data;
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const shape = opts.shape ? checkShape("tensor", opts.shape) : [arr.length];
    if (sizeOf(shape) !== arr.length) throw new ShapeError(`tensor: shape ${fmtShape(shape)} needs ${sizeOf(shape)} elements, the array has ${arr.length}`);
    const d = dtype ?? (arr instanceof Int32Array ? "int32" : arr instanceof Uint8Array ? "bool" : "float32");
    if (d === "int32" && !(arr instanceof Int32Array)) checkInt32("tensor", arr);
    return fromTypedArray(arr, shape, d);
  }
  const shape = inferShape(data);
  const flat: number[] = [];
  const kinds = new Set<string>();
  flatten(data, shape, flat, 0, [], kinds);
  const d = dtype ?? (kinds.size === 1 && kinds.has("bool") ? "bool" : "float32");
  let finalShape = shape;
  if (opts.shape) {
    finalShape = checkShape("tensor", opts.shape);
    if (sizeOf(finalShape) !== flat.length)
      throw new ShapeError(`tensor: shape ${fmtShape(finalShape)} needs ${sizeOf(finalShape)} elements, the data has ${flat.length}`);
  }
  if (d === "int32") checkInt32("tensor", flat);
  const arr = allocArray(d, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i]!;
    arr[i] = d === "int32" ? Math.trunc(v) : d === "bool" ? (v ? 1 : 0) : v;
  }
  return new Tensor(bufferNode({ host: arr, device: new Map() }, finalShape, d));
}

/**
 * A 0-d tensor.
 * @example
 * ```ts
 * import { scalar } from "tenfold";
 * console.log(scalar(3).shape); // []
 * ```
 */
export function scalar(value: number | boolean, options: { dtype?: DType } = {}): Tensor {
  return tensor(value, options);
}

/**
 * A tensor filled with one value (a lazy constant: no memory until used).
 * @example
 * ```ts
 * import { full } from "tenfold";
 * console.log(full([2], 7).arraySync()); // [7, 7]
 * ```
 */
export function full(shape: readonly number[], value: number | boolean, options: { dtype?: DType } = {}): Tensor {
  return fill("full", shape, value, options.dtype);
}

/** `full` for a public creation function `op` (errors name `op`). */
function fill(op: string, shape: readonly number[], value: number | boolean, dtype: DType | undefined): Tensor {
  const s = checkShape(op, shape);
  if (typeof value !== "number" && typeof value !== "boolean") {
    throw new DTypeError(`${op}: value must be a number or a boolean, got ${typeof value} ${JSON.stringify(value)}`);
  }
  const d = dtype ? checkDType(dtype, op) : typeof value === "boolean" ? "bool" : "float32";
  if (d === "int32") checkInt32(op, [Number(value)]);
  return broadcastTo_(constant(Number(value), d), s);
}

/**
 * Zeros.
 * @example
 * ```ts
 * import { zeros } from "tenfold";
 * console.log(zeros([2, 2]).arraySync()); // [[0, 0], [0, 0]]
 * ```
 */
export function zeros(shape: readonly number[], options: { dtype?: DType } = {}): Tensor {
  return fill("zeros", shape, 0, options.dtype ?? "float32");
}

/**
 * Ones.
 * @example
 * ```ts
 * import { ones } from "tenfold";
 * console.log(ones([3]).arraySync()); // [1, 1, 1]
 * ```
 */
export function ones(shape: readonly number[], options: { dtype?: DType } = {}): Tensor {
  return fill("ones", shape, 1, options.dtype ?? "float32");
}

/**
 * Zeros with the shape (and dtype, unless given) of `x`.
 * @example
 * ```ts
 * import { zerosLike, tensor } from "tenfold";
 * console.log(zerosLike(tensor([1, 2])).arraySync()); // [0, 0]
 * ```
 */
export function zerosLike(x: TensorLike, options: { dtype?: DType } = {}): Tensor {
  const t = asTensor(x, "zerosLike");
  return fill("zerosLike", t.shape, 0, options.dtype ?? t.dtype);
}

/**
 * Ones shaped like `x`.
 * @example
 * ```ts
 * import { onesLike, tensor } from "tenfold";
 * console.log(onesLike(tensor([1, 2])).arraySync()); // [1, 1]
 * ```
 */
export function onesLike(x: TensorLike, options: { dtype?: DType } = {}): Tensor {
  const t = asTensor(x, "onesLike");
  return fill("onesLike", t.shape, 1, options.dtype ?? t.dtype);
}

/**
 * A fill shaped like `x`.
 * @example
 * ```ts
 * import { fullLike, tensor } from "tenfold";
 * console.log(fullLike(tensor([1, 2]), 5).arraySync()); // [5, 5]
 * ```
 */
export function fullLike(x: TensorLike, value: number | boolean, options: { dtype?: DType } = {}): Tensor {
  const t = asTensor(x, "fullLike");
  return fill("fullLike", t.shape, value, options.dtype ?? t.dtype);
}

/** Index along `axis` of a new tensor (a lazy constant). */
export function iota(shape: readonly number[], axis: number, dtype: DType = "int32"): Tensor {
  return bind("iota", { shape: checkShape("iota", shape), axis, dtype }, []);
}

/**
 * Evenly spaced values in `[start, stop)`: `arange(stop)` or `arange(start, stop, step)`.
 * @example
 * ```ts
 * import { arange } from "tenfold";
 * console.log(arange(4).arraySync()); // [0, 1, 2, 3]
 * console.log(arange(1, 2, 0.25).arraySync()); // [1, 1.25, 1.5, 1.75]
 * ```
 */
export function arange(start: number, stop?: number, step = 1, options: { dtype?: DType } = {}): Tensor {
  const [a, b] = stop === undefined ? [0, start] : [start, stop];
  if (typeof step !== "number" || step === 0 || !Number.isFinite(step))
    throw new ShapeError(`arange: step must be a finite nonzero number, got ${String(step)}`);
  if (typeof a !== "number" || typeof b !== "number" || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw new ShapeError(`arange: start and stop must be finite numbers, got ${String(a)} and ${String(b)}`);
  }
  const n = Math.max(0, Math.ceil((b - a) / step));
  const d = options.dtype ? checkDType(options.dtype, "arange") : "float32";
  checkShape("arange", [n]);
  const i = iota([n], 0, d === "int32" ? "int32" : "float32");
  let r = bind("add", {}, [bind("mul", {}, [i, broadcastTo_(constant(step, i.dtype), [n])]), broadcastTo_(constant(a, i.dtype), [n])]);
  if (i.dtype === "float32" && n > 0) {
    // the first value is exactly `start` (0 * negative step would give -0, as JAX does not)
    const first = bind("eq", {}, [i, broadcastTo_(constant(0, "float32"), [n])]);
    r = bind("where", {}, [first, broadcastTo_(constant(a === 0 ? 0 : a, "float32"), [n]), r]);
  }
  return cast(r, d);
}

/**
 * `num` evenly spaced values from `start` to `stop` (inclusive unless `endpoint: false`).
 * @example
 * ```ts
 * import { linspace } from "tenfold";
 * console.log(linspace(0, 1, 5).arraySync()); // [0, 0.25, 0.5, 0.75, 1]
 * ```
 */
export function linspace(start: number, stop: number, num = 50, options: { endpoint?: boolean; dtype?: DType } = {}): Tensor {
  if (!Number.isInteger(num) || num < 0) throw new ShapeError(`linspace: num must be a non-negative integer, got ${num}`);
  checkShape("linspace", [num]);
  const endpoint = options.endpoint ?? true;
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  const i = iota([num], 0, "float32");
  let r = bind("add", {}, [bind("mul", {}, [i, broadcastTo_(constant(step, "float32"), [num])]), broadcastTo_(constant(start, "float32"), [num])]);
  if (endpoint && num > 1) {
    // exact endpoint, as NumPy
    const last = bind("eq", {}, [i, broadcastTo_(constant(num - 1, "float32"), [num])]);
    r = bind("where", {}, [last, broadcastTo_(constant(stop, "float32"), [num]), r]);
  }
  return cast(r, options.dtype ?? "float32");
}

/**
 * Identity matrix (`n`×`m`, ones on diagonal `k`).
 * @example
 * ```ts
 * import { eye } from "tenfold";
 * console.log(eye(2).arraySync()); // [[1, 0], [0, 1]]
 * ```
 */
export function eye(n: number, m?: number, options: { k?: number; dtype?: DType } = {}): Tensor {
  const cols = m ?? n;
  const shape = checkShape("eye", [n, cols]);
  const r = iota(shape, 0);
  const c = iota(shape, 1);
  const k = options.k ?? 0;
  const on = bind("eq", {}, [bind("add", {}, [r, broadcastTo_(constant(k, "int32"), shape)]), c]);
  return cast(on, options.dtype ?? "float32");
}
