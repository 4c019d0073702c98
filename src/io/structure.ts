/**
 * The pytree structure of a safetensors file, kept in its `__metadata__` under `tenfold.tree` so
 * a load restores the exact tree: empty `{}`/`[]` nodes, `null`/strings/booleans, JS numbers
 * (stored as 0-d F64 entries and read back exactly), keys containing "." and dtypes the file
 * format does not name (float16 is stored as F32). Tensor names are the tree paths joined with
 * "." (`layers.0.w`), so other frameworks read the same names; a tree whose names alone rebuild
 * it (nested objects/arrays of float32/int32/bool tensors) gets no structure entry.
 */
import * as E from "fp-ts/lib/Either.js";
import { Tensor } from "../core/tensor.js";
import type { PyTree } from "../core/tree.js";
import type { Result } from "./common.js";
import { fail } from "./common.js";

/** The `__metadata__` key holding the tree structure (a JSON string). */
export const TREE_KEY = "tenfold.tree";

/**
 * @internal A structure node: `t` a tensor entry (with its tenfold dtype `d` when the file dtype
 * does not say it), `n` a JS number (0-d F64 entry), `a` an array, `o` an object (ordered
 * key/node pairs), `s` a null/string/boolean, `u` undefined.
 */
export type SNode =
  | { readonly t: string; readonly d?: string }
  | { readonly n: string }
  | { readonly a: readonly SNode[] }
  | { readonly o: readonly (readonly [string, SNode])[] }
  | { readonly s: null | string | boolean }
  | { readonly u: 1 };

/** @internal One stored value: its entry name and the tensor or number. */
export interface NamedLeaf {
  readonly name: string;
  readonly value: Tensor | number;
}

/** @internal A described tree: leaves in tree order, the structure, and whether names alone rebuild it. */
export interface Described {
  readonly leaves: readonly NamedLeaf[];
  readonly node: SNode;
  readonly needsStructure: boolean;
}

/** @internal a plain object (not a class instance). */
export function isPlain(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const p = Object.getPrototypeOf(x) as unknown;
  return p === Object.prototype || p === null;
}

const NATIVE = new Set(["float32", "int32", "bool"]);
const INDEX = /^(0|[1-9]\d*)$/;

/**
 * @internal Walks a pytree into named leaves and its structure. Throws `TypeError` (naming `fn`)
 * for values that are not pytree nodes (functions, class instances, symbols, bigints).
 */
export function describeTree(t: unknown, fn: string): Described {
  const leaves: NamedLeaf[] = [];
  const used = new Set<string>();
  let needs = false;
  const nameOf = (path: string, root: string): string => {
    let name = path === "" ? root : path;
    if (used.has(name)) {
      needs = true;
      let k = 2;
      while (used.has(`${name}~${k}`)) k++;
      name = `${name}~${k}`;
    }
    used.add(name);
    return name;
  };
  const rec = (x: unknown, path: string): SNode => {
    if (x instanceof Tensor) {
      const name = nameOf(path, "tensor");
      leaves.push({ name, value: x });
      if (path === "") needs = true;
      if (NATIVE.has(x.dtype)) return { t: name };
      needs = true;
      return { t: name, d: x.dtype };
    }
    if (typeof x === "number") {
      needs = true;
      const name = nameOf(path, "value");
      leaves.push({ name, value: x });
      return { n: name };
    }
    const join = (k: string): string => (path === "" ? k : `${path}.${k}`);
    if (Array.isArray(x)) {
      if (x.length === 0) needs = true;
      return { a: Array.from(x, (v: unknown, i) => rec(v, join(String(i)))) };
    }
    if (isPlain(x)) {
      const keys = Object.keys(x);
      if (keys.length === 0 || keys.every((k) => INDEX.test(k))) needs = true;
      if (keys.some((k) => k === "" || k.includes(".") || k.includes("~"))) needs = true;
      return { o: keys.map((k) => [k, rec(x[k], join(k))] as const) };
    }
    needs = true;
    if (x === undefined) return { u: 1 };
    if (x === null || typeof x === "string" || typeof x === "boolean") return { s: x };
    const what =
      typeof x === "function"
        ? "a function"
        : typeof x === "object"
          ? `a ${(x.constructor as { name?: string } | undefined)?.name ?? "object"}`
          : `a ${typeof x}`;
    throw new TypeError(`${fn}: unsupported value at "${path}" (${what}); a tree holds tensors, numbers, arrays, plain objects, null, strings and booleans`);
  };
  const node = rec(t, "");
  return { leaves, node, needsStructure: needs };
}

function parseNode(x: unknown, at: string): Result<SNode> {
  if (!isPlain(x)) return fail(`safetensors: ${TREE_KEY} metadata has an invalid node at ${at}`);
  if (typeof x.t === "string") return x.d === undefined || typeof x.d === "string" ? E.right(x as SNode) : fail(`safetensors: ${TREE_KEY}: bad dtype at ${at}`);
  if (typeof x.n === "string") return E.right(x as SNode);
  if (x.u === 1) return E.right({ u: 1 });
  if ("s" in x && (x.s === null || typeof x.s === "string" || typeof x.s === "boolean")) return E.right({ s: x.s });
  if (Array.isArray(x.a)) {
    const out: SNode[] = [];
    for (const [i, c] of (x.a as unknown[]).entries()) {
      const r = parseNode(c, `${at}[${i}]`);
      if (E.isLeft(r)) return r;
      out.push(r.right);
    }
    return E.right({ a: out });
  }
  if (Array.isArray(x.o)) {
    const out: [string, SNode][] = [];
    for (const kv of x.o as unknown[]) {
      if (!Array.isArray(kv) || kv.length !== 2 || typeof kv[0] !== "string")
        return fail(`safetensors: ${TREE_KEY} metadata has an invalid object entry at ${at}`);
      const r = parseNode(kv[1], `${at}.${kv[0]}`);
      if (E.isLeft(r)) return r;
      out.push([kv[0], r.right]);
    }
    return E.right({ o: out });
  }
  return fail(`safetensors: ${TREE_KEY} metadata has an unknown node kind at ${at}: ${JSON.stringify(x).slice(0, 80)}`);
}

/** @internal Parses the structure string of the metadata. */
export function parseStructure(text: string): Result<SNode> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`safetensors: ${TREE_KEY} metadata is not valid JSON (${(e as Error).message})`);
  }
  return parseNode(json, "root");
}

/** @internal How a rebuild gets a leaf: a tensor (already in its tenfold dtype) or an exact number. */
export interface LeafSource {
  tensor(name: string, dtype: string | undefined): Result<Tensor>;
  number(name: string): Result<number>;
}

/**
 * @internal Rebuilds the tree from its structure, checking that every entry of the file is used
 * exactly once (`names`: all entry names of the file).
 */
export function rebuild(node: SNode, names: readonly string[], src: LeafSource): Result<PyTree<Tensor | number>> {
  const seen = new Set<string>();
  const known = new Set(names);
  const take = (name: string): Result<string> => {
    if (!known.has(name)) return fail(`safetensors: ${TREE_KEY} metadata names entry "${name}", which the file does not have`);
    if (seen.has(name)) return fail(`safetensors: ${TREE_KEY} metadata uses entry "${name}" twice`);
    seen.add(name);
    return E.right(name);
  };
  const rec = (n: SNode): Result<PyTree<Tensor | number>> => {
    if ("t" in n) return E.chain((name: string) => src.tensor(name, n.d))(take(n.t));
    if ("n" in n) return E.chain((name: string) => src.number(name))(take(n.n));
    if ("u" in n) return E.right(undefined);
    if ("s" in n) return E.right(n.s as unknown as PyTree<Tensor | number>); // booleans are kept as static nodes, like tree.flatten
    if ("a" in n) {
      const out: PyTree<Tensor | number>[] = [];
      for (const c of n.a) {
        const r = rec(c);
        if (E.isLeft(r)) return r;
        out.push(r.right);
      }
      return E.right(out);
    }
    const obj: Record<string, PyTree<Tensor | number>> = {};
    for (const [k, c] of n.o) {
      const r = rec(c);
      if (E.isLeft(r)) return r;
      Object.defineProperty(obj, k, { value: r.right, enumerable: true, writable: true, configurable: true });
    }
    return E.right(obj);
  };
  const r = rec(node);
  if (E.isLeft(r)) return r;
  const extra = names.filter((n) => !seen.has(n));
  if (extra.length) return fail(`safetensors: entries ${extra.map((n) => `"${n}"`).join(", ")} are not in the ${TREE_KEY} metadata`);
  return r;
}
