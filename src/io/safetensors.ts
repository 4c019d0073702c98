/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] },
 * "__metadata__"?: { string: string } }` padded with spaces to 8-byte alignment, then the data
 * buffer, which the offsets must tile exactly (no overlap, no hole, nothing past the end).
 * Tree paths become names joined with "." ("layers.0.w"); when names alone cannot rebuild the
 * tree, its exact structure is stored in `__metadata__["tenfold.tree"]` (see structure.ts).
 * Loading uses that structure, or else rebuilds the nesting from the names (numeric segments as
 * arrays, gaps as `{}`). Parsing returns an `Either`; the public functions throw `IoError`.
 */
import * as E from "fp-ts/lib/Either.js";
import { pipe } from "fp-ts/lib/function.js";
import type { DType, TypedArray } from "../core/dtype.js";
import { DTYPES as DTYPE_NAMES } from "../core/dtype.js";
import { Tensor } from "../core/tensor.js";
import type { PyTree } from "../core/tree.js";
import { fromTypedArray } from "../ops/creation.js";
import { astype } from "../ops/elementwise.js";
import type { ElementType, Result } from "./common.js";
import { bytesOf, decode, fail, numel, orThrow, targetDType } from "./common.js";
import type { SNode } from "./structure.js";
import { describeTree, isPlain, parseStructure, rebuild, TREE_KEY } from "./structure.js";

const DTYPES: Readonly<Record<string, ElementType>> = {
  F32: { kind: "f", size: 4 },
  I32: { kind: "i", size: 4 },
  BOOL: { kind: "b", size: 1 },
  F64: { kind: "f", size: 8 },
  F16: { kind: "f", size: 2 },
  BF16: { kind: "bf", size: 2 },
  I64: { kind: "i", size: 8 },
  U32: { kind: "u", size: 4 },
  I16: { kind: "i", size: 2 },
  U16: { kind: "u", size: 2 },
  I8: { kind: "i", size: 1 },
  U8: { kind: "u", size: 1 },
};

const MAX_HEADER = 100_000_000;

/** One tensor entry of a parsed header. */
interface Entry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

interface Parsed {
  readonly entries: readonly Entry[];
  readonly metadata: Readonly<Record<string, string>> | undefined;
  readonly dataStart: number;
}

/** Options of `saveSafetensors`. */
export interface SaveSafetensorsOptions {
  /** Free-form string metadata, stored under `__metadata__`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

type Leaf = readonly [path: string, value: Tensor];

/** @internal One leaf ready to write: entry name, file dtype code, shape and bytes. */
export interface Encoded {
  readonly name: string;
  readonly code: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

function fileTensor(x: Tensor): { code: string; t: Tensor } {
  if (x.dtype === "float32") return { code: "F32", t: x };
  if (x.dtype === "int32") return { code: "I32", t: x };
  if (x.dtype === "bool") return { code: "BOOL", t: x };
  // PRNG keys as uint32 (where the build has that dtype) keep their bits
  if ((x.dtype as string) === "uint32") return { code: "U32", t: x };
  return { code: "F32", t: astype(x, "float32") };
}

/** @internal a leaf to write: a number (0-d F64) or a tensor with its file code. */
export type Item = { readonly name: string; readonly num: number } | { readonly name: string; readonly code: string; readonly t: Tensor };

/** @internal a JS number as a 0-d F64 entry. */
export function numberLeaf(name: string, v: number): Encoded {
  return { name, code: "F64", shape: [], data: new Uint8Array(new Float64Array([v]).buffer) };
}

/**
 * @internal Describes a tree for writing: its named leaves (tensors and numbers) with their file
 * codes, and the metadata (user entries plus the structure when names alone do not rebuild it).
 */
export function prepare(
  t: unknown,
  fn: string,
  metadata: Readonly<Record<string, string>> | undefined,
  always: boolean,
): { meta: Record<string, string> | undefined; items: Item[] } {
  if (metadata && TREE_KEY in metadata) throw new TypeError(`${fn}: metadata key "${TREE_KEY}" is reserved (it holds the tree structure)`);
  if (metadata && !Object.values(metadata).every((v) => typeof v === "string")) throw new TypeError(`${fn}: metadata values must be strings`);
  const d = describeTree(t, fn);
  const meta: Record<string, string> | undefined = d.needsStructure || always ? { ...metadata, [TREE_KEY]: JSON.stringify(d.node) } : metadata;
  const items = d.leaves.map((l): Item => (typeof l.value === "number" ? { name: l.name, num: l.value } : { name: l.name, ...fileTensor(l.value) }));
  return { meta, items };
}

/** @internal Writes the header and the data of encoded leaves into safetensors bytes. */
export function assemble(leaves: readonly Encoded[], metadata: Readonly<Record<string, string>> | undefined): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const l of leaves) {
    const end = offset + l.data.byteLength;
    Object.defineProperty(header, l.name, { value: { dtype: l.code, shape: l.shape, data_offsets: [offset, end] }, enumerable: true });
    offset = end;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(json.length + pad).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const l of leaves) {
    out.set(l.data, at);
    at += l.data.byteLength;
  }
  return out;
}

/**
 * Serializes a pytree to safetensors bytes. Names are the tree paths joined with "." and tensors
 * are stored in tree order (float32 as F32, int32 as I32, bool as BOOL, float16 widened to F32).
 * When the names alone cannot rebuild the tree (empty `{}`/`[]` nodes such as the params of
 * `nn.sequential`'s parameter-free layers, JS numbers, `null`, strings, booleans, keys with ".",
 * float16), the exact structure goes into `__metadata__["tenfold.tree"]` so `loadSafetensors`
 * restores it; numbers are stored as 0-d F64 tensors and read back exactly. Reads the data
 * synchronously (use `save` from `tenfold/io` on WebGPU).
 * @example
 * ```ts
 * import { nn, random, tensor } from "tenfold";
 * import { saveSafetensors, loadSafetensors } from "tenfold/io";
 * const bytes = saveSafetensors({ layers: [{ w: tensor([[1, 2]]), b: tensor([0]) }] });
 * const back = loadSafetensors(bytes) as { layers: { w: unknown }[] };
 * console.log(Object.keys(back.layers[0]!)); // ["w", "b"]
 * const mlp = nn.sequential(nn.dense(2, 3), nn.relu, nn.dense(3, 1));
 * const p = loadSafetensors(saveSafetensors(mlp.init(random.key(0)))) as object[];
 * console.log(p.length, p[1]); // 3 {}
 * ```
 */
export function saveSafetensors(t: unknown, options: SaveSafetensorsOptions = {}): Uint8Array {
  const { meta, items } = prepare(t, "saveSafetensors", options.metadata, false);
  const leaves = items.map((it): Encoded => {
    if ("num" in it) return numberLeaf(it.name, it.num);
    return { name: it.name, code: it.code, shape: it.t.shape, data: bytesOf(it.t.dataSync()) };
  });
  return assemble(leaves, meta);
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function parseEntry(name: string, v: unknown, dataLen: number): Result<Entry> {
  if (!isPlain(v)) return fail(`safetensors: entry "${name}" is not an object`);
  const { dtype, shape, data_offsets: offs } = v;
  if (typeof dtype !== "string" || !(dtype in DTYPES)) {
    return fail(`safetensors: entry "${name}" has unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPES).join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) return fail(`safetensors: entry "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isCount) || (offs[0] as number) > (offs[1] as number)) {
    return fail(`safetensors: entry "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
  }
  const [begin, end] = offs as [number, number];
  const want = numel(shape as number[]) * DTYPES[dtype]!.size;
  if (end - begin !== want) {
    return fail(
      `safetensors: entry "${name}" (${dtype}, shape [${shape.join(", ")}]) needs ${want} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`,
    );
  }
  if (end > dataLen) return fail(`safetensors: entry "${name}" ends at byte ${end}, past the data buffer (${dataLen} bytes; file truncated?)`);
  return E.right({ name, dtype, shape: shape as number[], begin, end });
}

/** @internal Parses and validates the header; reads no tensor data. */
export function parseSafetensors(bytes: Uint8Array): Result<Parsed> {
  if (bytes.length < 8) return fail(`safetensors: file has ${bytes.length} bytes, fewer than the 8-byte header length (truncated?)`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) return fail(`safetensors: header length ${n} exceeds the ${bytes.length - 8} bytes after it (truncated or corrupt)`);
  if (n > BigInt(MAX_HEADER)) return fail(`safetensors: header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  const dataStart = 8 + Number(n);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    return fail("safetensors: header is not valid UTF-8");
  }
  if (!text.startsWith("{")) return fail(`safetensors: header must start with "{", got ${JSON.stringify(text.slice(0, 16))}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`safetensors: header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlain(json)) return fail("safetensors: header is not a JSON object");
  const dataLen = bytes.length - dataStart;
  let metadata: Record<string, string> | undefined;
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (!isPlain(v) || !Object.values(v).every((s) => typeof s === "string")) return fail("safetensors: __metadata__ must map strings to strings");
      metadata = v as Record<string, string>;
      continue;
    }
    const e = parseEntry(name, v, dataLen);
    if (E.isLeft(e)) return e;
    entries.push(e.right);
  }
  const sorted = entries
    .map((e, i) => [e, i] as const)
    .sort((a, b) => a[0].begin - b[0].begin || a[0].end - b[0].end || a[1] - b[1])
    .map(([e]) => e);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) return fail(`safetensors: entry "${e.name}" [${e.begin}, ${e.end}] overlaps the previous tensor (which ends at ${at})`);
    if (e.begin > at) return fail(`safetensors: the data buffer has a hole at bytes [${at}, ${e.begin}) before entry "${e.name}"`);
    at = e.end;
  }
  if (at !== dataLen) return fail(`safetensors: ${dataLen - at} trailing bytes after the last tensor (data buffer ${dataLen} bytes, tensors cover ${at})`);
  return E.right({ entries: sorted, metadata, dataStart });
}

interface TrieNode {
  leaf?: Tensor;
  readonly children: Map<string, TrieNode>;
}

function buildTree(leaves: readonly Leaf[]): Result<PyTree<Tensor>> {
  const root: TrieNode = { children: new Map() };
  for (const [name, t] of leaves) {
    const segs = name.split(".");
    if (segs.some((s) => s === "")) return fail(`safetensors: name ${JSON.stringify(name)} has an empty path segment`);
    let node = root;
    for (const s of segs) {
      if (node.leaf) return fail(`safetensors: name "${name}" goes through a tensor (a name is both a tensor and a prefix)`);
      let c = node.children.get(s);
      if (!c) node.children.set(s, (c = { children: new Map() }));
      node = c;
    }
    if (node.leaf || node.children.size) return fail(`safetensors: name "${name}" is both a tensor and a prefix of other names`);
    node.leaf = t;
  }
  const convert = (node: TrieNode, path: string): Result<PyTree<Tensor>> => {
    if (node.leaf) return E.right(node.leaf);
    const keys = [...node.children.keys()];
    const numeric = keys.length > 0 && keys.every((k) => /^(0|[1-9]\d*)$/.test(k));
    const kids: [string, PyTree<Tensor>][] = [];
    for (const k of keys) {
      const r = convert(node.children.get(k)!, path ? `${path}.${k}` : k);
      if (E.isLeft(r)) return r;
      kids.push([k, r.right]);
    }
    if (!numeric) return E.right(Object.fromEntries(kids));
    const arr: PyTree<Tensor>[] = [];
    for (const [k, v] of kids) arr[Number(k)] = v;
    // a hole is a parameter-free entry, as layer 1 (ReLU) of a PyTorch nn.Sequential "0.weight", "2.weight"
    for (let i = 0; i < arr.length; i++) if (!(i in arr)) arr[i] = {};
    return E.right(arr);
  };
  return convert(root, "");
}

function decodeEntry(bytes: Uint8Array, p: Parsed, e: Entry): Result<Tensor> {
  const t = DTYPES[e.dtype]!;
  return E.map((d: TypedArray) => fromTypedArray(d, e.shape, targetDType(t)))(
    decode(bytes, p.dataStart + e.begin, numel(e.shape), t, true, `safetensors: entry "${e.name}"`),
  );
}

function withStructure(bytes: Uint8Array, p: Parsed, node: SNode): Result<PyTree<Tensor | number>> {
  const byName = new Map(p.entries.map((e) => [e.name, e]));
  return rebuild(
    node,
    p.entries.map((e) => e.name),
    {
      tensor: (name, dtype) => {
        const e = byName.get(name)!;
        if (dtype !== undefined && !(DTYPE_NAMES as readonly string[]).includes(dtype))
          return fail(`safetensors: entry "${name}" has unknown tenfold dtype "${dtype}" in ${TREE_KEY}`);
        if (e.dtype === "U32" && dtype === "uint32") {
          const raw = bytes.slice(p.dataStart + e.begin, p.dataStart + e.end);
          return E.right(fromTypedArray(new Uint32Array(raw.buffer) as unknown as TypedArray, e.shape, dtype as DType));
        }
        return E.map((x: Tensor) => (dtype === undefined || dtype === x.dtype ? x : astype(x, dtype as DType)))(decodeEntry(bytes, p, e));
      },
      number: (name) => {
        const e = byName.get(name)!;
        if (e.shape.length !== 0) return fail(`safetensors: entry "${name}" holds a number but has shape [${e.shape.join(", ")}]`);
        if (e.dtype === "F64") return E.right(new DataView(bytes.buffer, bytes.byteOffset + p.dataStart + e.begin, 8).getFloat64(0, true));
        return E.map((d: TypedArray) => d[0]!)(decode(bytes, p.dataStart + e.begin, 1, DTYPES[e.dtype]!, true, `safetensors: entry "${name}"`));
      },
    },
  );
}

/** @internal Parses, decodes and rebuilds the tree (by the stored structure when present), all as an Either. */
export function readSafetensors(bytes: Uint8Array): Result<{ tree: PyTree<Tensor | number>; metadata: Readonly<Record<string, string>> | undefined }> {
  return pipe(
    parseSafetensors(bytes),
    E.chain((p) => {
      const structure = p.metadata?.[TREE_KEY];
      if (structure !== undefined) {
        return pipe(
          parseStructure(structure),
          E.chain((node) => withStructure(bytes, p, node)),
          E.map((tree) => ({ tree, metadata: p.metadata })),
        );
      }
      const leaves: Leaf[] = [];
      for (const e of p.entries) {
        const d = decodeEntry(bytes, p, e);
        if (E.isLeft(d)) return d;
        leaves.push([e.name, d.right]);
      }
      return pipe(
        buildTree(leaves),
        E.map((tree) => ({ tree, metadata: p.metadata })),
      );
    }),
  );
}

/**
 * Loads a safetensors file into a pytree. A file written by tenfold with its structure in
 * `__metadata__["tenfold.tree"]` comes back exactly (empty nodes, numbers, null, dtypes). Otherwise
 * dotted names become nested objects, numeric segments arrays, and gaps in numeric names `{}`
 * (a PyTorch `nn.Sequential` file: `0.weight`, `2.weight` loads as `[{ weight }, {}, { weight }]`).
 * F32/I32/BOOL load as float32/int32/bool; F64, F16 and BF16 convert to float32, and I64, U32,
 * I16, U16, I8, U8 to int32 (a value outside int32 is an error). Throws `IoError` for a
 * truncated or corrupt file or a header that contradicts the data, before loading anything.
 * @example
 * ```ts
 * import { isTensor, tensor } from "tenfold";
 * import { saveSafetensors, loadSafetensors } from "tenfold/io";
 * const p = loadSafetensors(saveSafetensors({ w: tensor([1, 2]), steps: [tensor([3])] }));
 * console.log(JSON.stringify(p, (_k, v: unknown) => (isTensor(v) ? v.arraySync() : v))); // {"w":[1,2],"steps":[[3]]}
 * try {
 *   loadSafetensors(new Uint8Array([1, 2, 3]));
 * } catch (e) {
 *   console.log((e as Error).name); // "IoError"
 * }
 * ```
 */
export function loadSafetensors(bytes: Uint8Array): PyTree<Tensor | number> {
  return orThrow(readSafetensors(bytes)).tree;
}

/**
 * The `__metadata__` of a safetensors file (undefined when absent); validates the whole header.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { saveSafetensors, safetensorsMetadata } from "tenfold/io";
 * const bytes = saveSafetensors({ w: tensor([1]) }, { metadata: { format: "pt" } });
 * console.log(safetensorsMetadata(bytes)); // { format: "pt" }
 * ```
 */
export function safetensorsMetadata(bytes: Uint8Array): Readonly<Record<string, string>> | undefined {
  return orThrow(parseSafetensors(bytes)).metadata;
}
