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

/** A parsed header value: a string, a boolean or a tuple of integers (as decimal strings). */
type PyValue = { readonly str: string } | { readonly bool: boolean } | { readonly tuple: readonly string[] };

/**
 * Parses the header's Python dict literal (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`)
 * without regular expressions over the whole text: a duplicated key is an error (numpy would
 * silently take the last), as are keys other than descr, fortran_order and shape.
 */
function parseDict(text: string): Result<Map<string, PyValue>> {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const bad = (what: string): Result<never> => fail(`loadNpy: malformed header at character ${i} (${what}): ${JSON.stringify(text.slice(0, 120).trim())}`);
  const str = (): string | undefined => {
    const q = text[i];
    if (q !== "'" && q !== '"') return undefined;
    const end = text.indexOf(q, i + 1);
    if (end < 0) return undefined;
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const out = new Map<string, PyValue>();
  ws();
  if (text[i++] !== "{") return bad("expected '{'");
  for (;;) {
    ws();
    if (text[i] === "}") {
      i++;
      break;
    }
    const key = str();
    if (key === undefined) return bad("expected a quoted key");
    ws();
    if (text[i++] !== ":") return bad(`expected ':' after '${key}'`);
    ws();
    let value: PyValue;
    const s = str();
    if (s !== undefined) value = { str: s };
    else if (text.startsWith("True", i) || text.startsWith("False", i)) {
      value = { bool: text[i] === "T" };
      i += value.bool ? 4 : 5;
    } else if (text[i] === "(") {
      const end = text.indexOf(")", i);
      if (end < 0) return bad("unterminated shape tuple");
      const items = text
        .slice(i + 1, end)
        .split(",")
        .map((d) => d.trim());
      if (items.length > 1 && items[items.length - 1] === "") items.pop();
      if (items.length === 1 && items[0] === "") items.pop();
      value = { tuple: items };
      i = end + 1;
    } else return bad(`unsupported value for '${key}'`);
    if (out.has(key)) return fail(`loadNpy: header has the key '${key}' twice (a well-formed .npy header names each key once)`);
    out.set(key, value);
    ws();
    if (text[i] === ",") i++;
    else if (text[i] !== "}") return bad("expected ',' or '}'");
  }
  ws();
  if (i !== text.length) return bad("text after the dict");
  const keys = [...out.keys()].sort().join(", ");
  if (keys !== "descr, fortran_order, shape") return fail(`loadNpy: header keys must be exactly descr, fortran_order, shape; got ${keys}`);
  return E.right(out);
}

/** Validates shape entries: non-negative integers whose product is a safe integer (at most 2^53 - 1). */
function parseShape(items: readonly string[]): Result<number[]> {
  const shape: number[] = [];
  let total = 1n;
  for (const d of items) {
    const m = /^(-?\d+)L?$/.exec(d);
    if (!m) return fail(`loadNpy: shape entry '${d}' is not an integer`);
    const v = BigInt(m[1]!);
    if (v < 0n) return fail(`loadNpy: shape entry ${d} is negative`);
    total *= v;
    shape.push(Number(v));
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) return fail(`loadNpy: shape (${items.join(", ")}) has ${total} elements, more than 2^53 - 1`);
  return E.right(shape);
}

/** Latin-1 text of header bytes, in chunks (spreading a large header into one call would overflow the stack). */
function latin1(raw: Uint8Array): string {
  let s = "";
  for (let i = 0; i < raw.length; i += 8192) s += String.fromCharCode(...raw.subarray(i, i + 8192));
  return s;
}

/** @internal Parses and validates an .npy header against the file's length. */
export function parseNpy(bytes: Uint8Array): Result<NpyHeader> {
  if (bytes.length < 10) return fail(`loadNpy: file has ${bytes.length} bytes, too short for the header (truncated?)`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) return fail("loadNpy: not an .npy file (bad magic string; expected \\x93NUMPY)");
  const major = bytes[6]!;
  if (major < 1 || major > 3) return fail(`loadNpy: unsupported format version ${major}.${bytes[7]}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.length < prefix) return fail("loadNpy: truncated header length");
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataStart = prefix + hlen;
  if (dataStart > bytes.length) return fail(`loadNpy: header length ${hlen} exceeds the file (${bytes.length} bytes; truncated?)`);
  const raw = bytes.subarray(prefix, dataStart);
  const text = major === 3 ? new TextDecoder().decode(raw) : latin1(raw);
  const dict = parseDict(text);
  if (E.isLeft(dict)) return dict;
  const descr = dict.right.get("descr")!;
  const fortran = dict.right.get("fortran_order")!;
  const shapeV = dict.right.get("shape")!;
  if (!("str" in descr)) return fail("loadNpy: header 'descr' must be a dtype string such as '<f4' (structured dtypes are not supported)");
  if (!("bool" in fortran)) return fail("loadNpy: header 'fortran_order' must be True or False");
  if (!("tuple" in shapeV)) return fail("loadNpy: header 'shape' must be a tuple of integers");
  const dm = /^([<>|=])([a-z])(\d+)$/.exec(descr.str);
  const code = dm ? `${dm[2]}${dm[3]}` : descr.str;
  const type = TYPES[code];
  if (!dm || !type) return fail(`loadNpy: unsupported dtype '${descr.str}' (supported: ${Object.keys(TYPES).join(", ")})`);
  const sh = parseShape(shapeV.tuple);
  if (E.isLeft(sh)) return sh;
  const shape = sh.right;
  const need = numel(shape) * type.size;
  const have = bytes.length - dataStart;
  if (have !== need)
    return fail(`loadNpy: shape (${shape.join(", ")}) of '${descr.str}' needs ${need} data bytes, the file has ${have}${have < need ? " (truncated?)" : ""}`);
  return E.right({ type, littleEndian: dm[1] !== ">", fortran: fortran.bool, shape, dataStart });
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
  const data = orThrow(decode(bytes, h.dataStart, numel(h.shape), h.type, h.littleEndian, "loadNpy"));
  const dtype = targetDType(h.type);
  if (!h.fortran) return fromTypedArray(data, h.shape, dtype);
  const rev = [...h.shape].reverse();
  return permuteDims(
    fromTypedArray(data, rev, dtype),
    rev.map((_, i) => rev.length - 1 - i),
  );
}
