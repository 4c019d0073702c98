/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0 read; 1.0 written, byte for byte as
 * `numpy.save` writes it). Native dtypes '<f4', '<i4', '|b1'; '<f8', '<f2' load as float32 and
 * '<i8', '<i2', '<u2', '|i1', '|u1' as int32 (big-endian '>' variants too). Fortran-order arrays
 * are transposed into C order.
 */
import * as E from "fp-ts/lib/Either.js";
import type { Tensor } from "../core/tensor.js";
import { fromTypedArray } from "../ops/creation.js";
import { astype } from "../ops/elementwise.js";
import { permuteDims } from "../ops/shape.js";
import type { ElementType, Result } from "./common.js";
import { bytesOf, decode, fail, numel, orThrow, targetDType } from "./common.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface NpyHeader {
  readonly type: ElementType;
  readonly littleEndian: boolean;
  readonly fortran: boolean;
  readonly shape: readonly number[];
  readonly dataStart: number;
}

function pyShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/**
 * Serializes a tensor as a version 1.0 `.npy` file ('<f4', '<i4' or '|b1'; other dtypes are
 * stored as float32), identical to `numpy.save` output for the same array.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { saveNpy, loadNpy } from "tenfold/io";
 * const bytes = saveNpy(tensor([[1, 2], [3, 4]]));
 * console.log(bytes.length); // 144: a 128-byte header, then 16 bytes of data
 * console.log(loadNpy(bytes).arraySync()); // [[1, 2], [3, 4]]
 * ```
 */
export function saveNpy(x: Tensor): Uint8Array {
  const t = x.dtype === "float32" || x.dtype === "int32" || x.dtype === "bool" ? x : astype(x, "float32");
  const descr = t.dtype === "float32" ? "<f4" : t.dtype === "int32" ? "<i4" : "|b1";
  const shape = t.shape;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${pyShape(shape)}, }`;
  // numpy leaves room to grow the first axis in place (GROWTH_AXIS_MAX_DIGITS = 21)
  if (shape.length > 0) header += " ".repeat(Math.max(0, 21 - String(shape[0]).length));
  const hlen = header.length + 1;
  const v1 = hlen + (64 - ((10 + hlen) % 64)) < 65536;
  const prefix = v1 ? 10 : 12;
  const padlen = 64 - ((prefix + hlen) % 64);
  const total = hlen + padlen;
  const data = bytesOf(t.dataSync());
  const out = new Uint8Array(prefix + total + data.length);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (v1) dv.setUint16(8, total, true);
  else dv.setUint32(8, total, true);
  const text = header + " ".repeat(padlen) + "\n";
  for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i);
  out.set(data, prefix + total);
  return out;
}

const TYPES: Readonly<Record<string, ElementType>> = {
  f4: { kind: "f", size: 4 },
  f8: { kind: "f", size: 8 },
  f2: { kind: "f", size: 2 },
  i4: { kind: "i", size: 4 },
  i8: { kind: "i", size: 8 },
  i2: { kind: "i", size: 2 },
  u2: { kind: "u", size: 2 },
  i1: { kind: "i", size: 1 },
  u1: { kind: "u", size: 1 },
  b1: { kind: "b", size: 1 },
};

/** @internal Parses and validates an .npy header against the file's length. */
export function parseNpy(bytes: Uint8Array): Result<NpyHeader> {
  if (bytes.length < 10) return fail(`npy: file has ${bytes.length} bytes, too short for the header (truncated?)`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) return fail("npy: not an .npy file (bad magic string; expected \\x93NUMPY)");
  const major = bytes[6]!;
  if (major < 1 || major > 3) return fail(`npy: unsupported format version ${major}.${bytes[7]}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.length < prefix) return fail("npy: truncated header length");
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataStart = prefix + hlen;
  if (dataStart > bytes.length) return fail(`npy: header length ${hlen} exceeds the file (${bytes.length} bytes; truncated?)`);
  const raw = bytes.subarray(prefix, dataStart);
  const text = major === 3 ? new TextDecoder().decode(raw) : String.fromCharCode(...raw);
  const descr = /'descr'\s*:\s*'([<>|=])([a-z])(\d+)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shapeM) return fail(`npy: cannot parse header ${JSON.stringify(text.trim())}`);
  const code = `${descr[2]}${descr[3]}`;
  const type = TYPES[code];
  if (!type) return fail(`npy: unsupported dtype '${descr[1]}${code}' (supported: ${Object.keys(TYPES).join(", ")})`);
  const dims = shapeM[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (!dims.every((d) => /^\d+$/.test(d))) return fail(`npy: invalid shape (${shapeM[1]})`);
  const shape = dims.map(Number);
  const need = numel(shape) * type.size;
  const have = bytes.length - dataStart;
  if (have !== need) return fail(`npy: shape (${shape.join(", ")}) of '${descr[1]}${code}' needs ${need} data bytes, the file has ${have}${have < need ? " (truncated?)" : ""}`);
  return E.right({ type, littleEndian: descr[1] !== ">", fortran: fortran[1] === "True", shape, dataStart });
}

/**
 * Loads a `.npy` file as a tensor. Throws `IoError` for a truncated or corrupt file, or when
 * the header's shape and dtype do not match the data length.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { saveNpy, loadNpy } from "tenfold/io";
 * const x = loadNpy(saveNpy(tensor(new Int32Array([1, 2, 3]))));
 * console.log(x.dtype, x.arraySync()); // "int32" [1, 2, 3]
 * ```
 */
export function loadNpy(bytes: Uint8Array): Tensor {
  const h = orThrow(parseNpy(bytes));
  const data = orThrow(decode(bytes, h.dataStart, numel(h.shape), h.type, h.littleEndian, "npy"));
  const dtype = targetDType(h.type);
  if (!h.fortran) return fromTypedArray(data, h.shape, dtype);
  const rev = [...h.shape].reverse();
  return permuteDims(fromTypedArray(data, rev, dtype), rev.map((_, i) => rev.length - 1 - i));
}
