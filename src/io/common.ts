/**
 * Shared pieces of tenfold/io: the `IoError` class, `Either` helpers for the fallible parsing
 * boundary, and decoding of raw little/big-endian element bytes into tenfold's dtypes (with the
 * conversions for file dtypes tenfold does not hold natively: f64, f16, bf16 -> float32; i64, i16,
 * u16, i8, u8 -> int32).
 */
import * as E from "fp-ts/lib/Either.js";
import type { DType, TypedArray } from "../core/dtype.js";

/** A file that cannot be read: truncated, corrupt, or with a header that contradicts its data. */
export class IoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IoError";
  }
}

/** @internal */
export type Result<T> = E.Either<IoError, T>;

/** @internal a failed result. */
export function fail<T>(message: string): Result<T> {
  return E.left(new IoError(message));
}

/** @internal unwraps a result, throwing its IoError. */
export function orThrow<T>(r: Result<T>): T {
  if (E.isLeft(r)) throw r.left;
  return r.right;
}

/** Element kinds found in files: kind letter (f, i, u, b) and byte size. */
export interface ElementType {
  readonly kind: "f" | "bf" | "i" | "u" | "b";
  readonly size: number;
}

/** @internal the tenfold dtype an element type loads as. */
export function targetDType(t: ElementType): DType {
  return t.kind === "b" ? "bool" : t.kind === "f" || t.kind === "bf" ? "float32" : "int32";
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * @internal Decodes `count` elements at `bytes[offset..]` into a fresh typed array of the target
 * dtype. Fails for integers that do not fit int32 and for bool bytes other than 0/1.
 */
export function decode(bytes: Uint8Array, offset: number, count: number, t: ElementType, littleEndian: boolean, what: string): Result<TypedArray> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, count * t.size);
  const le = littleEndian;
  if (t.kind === "b") {
    const out = bytes.slice(offset, offset + count);
    for (let i = 0; i < count; i++) if (out[i]! > 1) return fail(`${what}: bool element ${i} has byte value ${out[i]} (must be 0 or 1)`);
    return E.right(out);
  }
  if (t.kind === "f" || t.kind === "bf") {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      if (t.kind === "bf") out[i] = new Float32Array(new Uint32Array([dv.getUint16(2 * i, le) << 16]).buffer)[0]!;
      else if (t.size === 4) out[i] = dv.getFloat32(4 * i, le);
      else if (t.size === 8) out[i] = dv.getFloat64(8 * i, le);
      else out[i] = f16(dv.getUint16(2 * i, le));
    }
    return E.right(out);
  }
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let v: number;
    if (t.size === 8) {
      const b = t.kind === "i" ? dv.getBigInt64(8 * i, le) : dv.getBigUint64(8 * i, le);
      if (b > 2147483647n || b < -2147483648n) return fail(`${what}: element ${i} (${b}) does not fit in int32`);
      v = Number(b);
    } else if (t.size === 4) v = t.kind === "i" ? dv.getInt32(4 * i, le) : dv.getUint32(4 * i, le);
    else if (t.size === 2) v = t.kind === "i" ? dv.getInt16(2 * i, le) : dv.getUint16(2 * i, le);
    else v = t.kind === "i" ? dv.getInt8(i) : dv.getUint8(i);
    if (v > 2147483647) return fail(`${what}: element ${i} (${v}) does not fit in int32`);
    out[i] = v;
  }
  return E.right(out);
}

/** @internal the raw bytes of a typed array (little-endian host order). */
export function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** @internal product of a shape (1 for scalars). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
