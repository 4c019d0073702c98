/**
 * Pytrees: nested plain objects and arrays whose leaves are tensors or numbers. `null`,
 * `undefined` and strings are kept in the structure but are not leaves.
 */
import { produce } from "immer";
import { Tensor } from "./tensor.js";

/** A pytree of leaves `L`. */
export type PyTree<L = Tensor | number> = L | null | undefined | string | readonly PyTree<L>[] | { readonly [k: string]: PyTree<L> };

/** The structure of a pytree, without its leaves. */
export type TreeDef =
  | { readonly kind: "leaf" }
  | { readonly kind: "static"; readonly value: null | undefined | string | boolean }
  | { readonly kind: "array"; readonly children: readonly TreeDef[] }
  | { readonly kind: "object"; readonly keys: readonly string[]; readonly children: readonly TreeDef[] };

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

function isLeaf(x: unknown): boolean {
  return x instanceof Tensor || typeof x === "number";
}

/**
 * Splits a tree into its leaves (depth first, object keys in insertion order) and structure.
 * @example
 * ```ts
 * import { tree, tensor } from "tenfold";
 * const [leaves, def] = tree.flatten({ w: tensor([1]), b: [2, 3] });
 * console.log(leaves.length); // 3
 * console.log(tree.unflatten(def, [4, 5, 6])); // { w: 4, b: [5, 6] }
 * ```
 */
export function flatten<L = Tensor | number>(t: unknown, isLeafFn: (x: unknown) => boolean = isLeaf): [L[], TreeDef] {
  const leaves: L[] = [];
  const rec = (x: unknown): TreeDef => {
    if (isLeafFn(x)) {
      leaves.push(x as L);
      return { kind: "leaf" };
    }
    if (Array.isArray(x)) return { kind: "array", children: x.map(rec) };
    if (isPlainObject(x)) {
      const keys = Object.keys(x);
      return { kind: "object", keys, children: keys.map((k) => rec(x[k])) };
    }
    if (x === null || x === undefined || typeof x === "string" || typeof x === "boolean") return { kind: "static", value: x };
    throw new TypeError(`tree: unsupported pytree node ${describeNode(x)} (use nested arrays/objects of tensors and numbers)`);
  };
  const def = rec(t);
  return [leaves, def];
}

function describeNode(x: unknown): string {
  if (typeof x === "function") return "function";
  if (typeof x === "object" && x !== null) return (x.constructor as { name?: string } | undefined)?.name ?? "object";
  return typeof x;
}

/**
 * Rebuilds a tree from its structure and leaves.
 * @example
 * ```ts
 * import { tree } from "tenfold";
 * const [, def] = tree.flatten([1, { a: 2 }]);
 * console.log(tree.unflatten(def, [10, 20])); // [10, { a: 20 }]
 * ```
 */
export function unflatten<L>(def: TreeDef, leaves: readonly L[]): PyTree<L> {
  let i = 0;
  const rec = (d: TreeDef): PyTree<L> => {
    switch (d.kind) {
      case "leaf":
        if (i >= leaves.length) throw new Error(`tree.unflatten: too few leaves (${leaves.length}) for the structure`);
        return leaves[i++]!;
      case "static":
        return d.value as PyTree<L>;
      case "array":
        return d.children.map(rec);
      case "object": {
        const o: Record<string, PyTree<L>> = {};
        d.keys.forEach((k, j) => (o[k] = rec(d.children[j]!)));
        return o;
      }
    }
  };
  const out = rec(def);
  if (i !== leaves.length) throw new Error(`tree.unflatten: ${leaves.length} leaves for a structure with ${i}`);
  return out;
}

/** Number of leaves in a structure. */
export function numLeaves(def: TreeDef): number {
  switch (def.kind) {
    case "leaf":
      return 1;
    case "static":
      return 0;
    case "array":
    case "object":
      return def.children.reduce((a, c) => a + numLeaves(c), 0);
  }
}

/** Whether two structures are the same, without building their keys (as strict as `treeKey`, or stricter: it tells null from undefined). */
export function sameTreeDef(a: TreeDef, b: TreeDef): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "leaf":
      return true;
    case "static":
      return a.value === (b as typeof a).value;
    case "array":
    case "object": {
      const o = b as typeof a;
      if (a.children.length !== o.children.length) return false;
      if (a.kind === "object" && !a.keys.every((k, i) => k === (o as typeof a).keys[i])) return false;
      return a.children.every((c, i) => sameTreeDef(c, o.children[i]!));
    }
  }
}

/** A canonical string of a structure (for caches and error messages). */
export function treeKey(def: TreeDef): string {
  switch (def.kind) {
    case "leaf":
      return "*";
    case "static":
      return JSON.stringify(def.value ?? null);
    case "array":
      return `[${def.children.map(treeKey).join(",")}]`;
    case "object":
      return `{${def.keys.map((k, i) => `${JSON.stringify(k)}:${treeKey(def.children[i]!)}`).join(",")}}`;
  }
}

/**
 * The leaves of a tree, in flatten order.
 * @example
 * ```ts
 * import { tree } from "tenfold";
 * console.log(tree.leaves({ a: 1, b: [2, 3] })); // [1, 2, 3]
 * ```
 */
export function leaves<L = Tensor | number>(t: unknown): L[] {
  return flatten<L>(t)[0];
}

/**
 * Maps `f` over the leaves of one or more trees of the same structure.
 * @example
 * ```ts
 * import { tree } from "tenfold";
 * console.log(tree.map((a: number, b: number) => a + b, { x: 1, y: [2] }, { x: 10, y: [20] })); // { x: 11, y: [22] }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function map<R = Tensor>(f: (...leaves: any[]) => R, t: unknown, ...rest: unknown[]): PyTree<R> {
  const [ls, def] = flatten(t);
  const others = rest.map((r, k) => {
    const [l2, d2] = flatten(r);
    if (treeKey(d2) !== treeKey(def)) {
      throw new Error(`tree.map: tree ${k + 1} has structure ${treeKey(d2)}, expected ${treeKey(def)}`);
    }
    return l2;
  });
  return unflatten(
    def,
    ls.map((l, i) => f(l, ...others.map((o) => o[i]))),
  );
}

/**
 * A copy of `t` with the value at `path` replaced (immer: unchanged branches are shared).
 * @example
 * ```ts
 * import { tree } from "tenfold";
 * const p = { layers: [{ w: 1 }, { w: 2 }] };
 * console.log(tree.at(p, ["layers", 1, "w"], 5)); // { layers: [{ w: 1 }, { w: 5 }] }
 * console.log(p.layers[1]!.w); // 2 (the original is untouched)
 * ```
 */
export function at<T>(t: T, path: readonly (string | number)[], value: unknown): T {
  if (path.length === 0) return value as T;
  return produce(t, (draft: unknown) => {
    let cur = draft as Record<string | number, unknown>;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i]!;
      if (typeof cur[k] !== "object" || cur[k] === null) throw new Error(`tree.at: no subtree at ${JSON.stringify(path.slice(0, i + 1))}`);
      cur = cur[k] as Record<string | number, unknown>;
    }
    const last = path[path.length - 1]!;
    if (!(last in cur)) throw new Error(`tree.at: no entry at ${JSON.stringify(path)}`);
    cur[last] = value;
  });
}
