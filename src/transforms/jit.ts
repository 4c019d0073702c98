/**
 * jit: trace once per signature (tree structure, shapes, dtypes, static arguments), cache the graph
 * and the backend's compiled program (an LRU of `cacheSize` signatures per function), and run it
 * directly on later calls; donated arguments (`donateArgnums`) are freed when the call returns.
 * Called inside another transform (on traced values), a jitted function inlines its graph.
 */
import { backendInstance, getBackend, lowerWith } from "../core/backend.js";
import { LruCache } from "../core/lru.js";
import type { Graph } from "../core/graph.js";
import type { Storage } from "../core/node.js";
import { bufferNode } from "../core/node.js";
import { Tensor, realizeAll } from "../core/tensor.js";
import type { TreeDef } from "../core/tree.js";
import { numLeaves, sameTreeDef, treeKey } from "../core/tree.js";
import { ValueError } from "../core/errors.js";
import type { Lowered } from "../scheduler/lower.js";
import { applyGraph, flattenArgs, rebuild, traceFlat } from "./trace.js";

/** Options of `jit`. */
export interface JitOptions {
  /** Arguments treated as compile-time constants (part of the cache key, compared by value). */
  readonly staticArgnums?: number | readonly number[];
  /** Log each (re)trace and its reason: `true` for console.log, or a function. */
  readonly debug?: boolean | ((message: string) => void);
  /**
   * Arguments whose buffers the call may free (as JAX's `donate_argnums`): every tensor in them is
   * released when the call returns, so a step like `w = step(w, x)` keeps device memory flat
   * without waiting for the garbage collector. Reading a donated tensor afterwards throws. On the
   * CPU backend an output of a donated tensor's size is written over its array when nothing else
   * can see it (never an array handed out by `dataSync`), so an optimizer update runs in place.
   */
  readonly donateArgnums?: number | readonly number[];
  /** Signatures (traces and compiled programs) cached per function, least recently used evicted (default 64). */
  readonly cacheSize?: number;
}

/** Default `cacheSize` of `jit`: traced signatures kept per function. */
export const JIT_CACHE_SIZE = 64;

/** Cache counters of a jitted function. */
export interface JitStats {
  /** Traces made so far (a signature evicted and seen again is traced again). */
  readonly traces: number;
  /** Signatures cached now. */
  readonly cached: number;
  /** Most signatures cached. */
  readonly capacity: number;
  /** Signatures evicted so far. */
  readonly evictions: number;
}

/** A jitted function. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Jitted<F extends (...args: any[]) => any> = F & {
  /** The optimized schedule for these arguments. */
  lower(...args: Parameters<F>): Lowered;
  /** How many times the function has been traced. */
  readonly traceCount: number;
  /** Trace cache counters (bounded by `cacheSize`). */
  readonly stats: JitStats;
  /** The traced graph for these arguments. */
  graph(...args: Parameters<F>): Graph;
};

interface Entry {
  readonly graph: Graph;
  readonly outDef: TreeDef;
  readonly compiled: Map<string, (inputs: readonly Storage[], reuse?: readonly boolean[]) => Storage[]>;
}

function staticKey(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Compiles `f`: traced once per signature, then cached.
 * @example
 * ```ts
 * import { jit, add, multiply, tensor } from "tenfold";
 * const f = jit((x) => add(multiply(x, x), 1));
 * console.log(f(tensor([1, 2])).arraySync()); // [2, 5]
 * console.log(f(tensor([3, 4])).arraySync(), f.traceCount); // [10, 17] 1
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function jit<F extends (...args: any[]) => any>(f: F, options: JitOptions = {}): Jitted<F> {
  const statics = new Set(typeof options.staticArgnums === "number" ? [options.staticArgnums] : (options.staticArgnums ?? []));
  const donated = new Set(typeof options.donateArgnums === "number" ? [options.donateArgnums] : (options.donateArgnums ?? []));
  for (const i of donated) {
    if (!Number.isInteger(i) || i < 0) throw new RangeError(`jit: donateArgnums must be argument indices (integers >= 0), got ${i}`);
    if (statics.has(i)) throw new RangeError(`jit: argument ${i} is in both staticArgnums and donateArgnums`);
  }
  const cache = new LruCache<string, Entry>(options.cacheSize ?? JIT_CACHE_SIZE);
  const name = f.name || "f";
  const log = options.debug === true ? (m: string) => console.log(m) : options.debug || undefined;
  let traces = 0;
  let lastParts: string[] | undefined;
  // The last call's signature (no static arguments): a call with the same structure, dtypes and
  // shapes takes its entry without building the key's strings (a training step's call allocated
  // 28 KB of keys and flattened trees, and young allocation sets how often V8 scavenges).
  let last: { def: TreeDef; dtypes: string[]; shapes: (readonly number[])[]; key: string; entry: Entry } | undefined;
  const sameAvals = (leaves: readonly Tensor[], l: NonNullable<typeof last>): boolean =>
    leaves.length === l.dtypes.length &&
    leaves.every((t, i) => {
      const [s, o] = [t.shape, l.shapes[i]!];
      return t.dtype === l.dtypes[i] && (s === o || (s.length === o.length && s.every((d, j) => d === o[j])));
    });

  for (const s of statics) if (!Number.isInteger(s)) throw new ValueError(`jit: staticArgnums must be integers, got ${String(s)}`);
  /** The call's entry, its flat tensor leaves, and where each argument's leaves start (`starts[args.length]`: the end). */
  const prepare = (args: unknown[]): { entry: Entry; leaves: Tensor[]; starts: number[] } => {
    for (const s of statics) {
      if (s >= args.length || s < 0) {
        throw new ValueError(
          `jit(${name}): staticArgnums ${s} is out of range: the call has ${args.length} argument(s), so allowed indices are 0 to ${args.length - 1}`,
        );
      }
    }
    const dyn = args.map((a, i) => (statics.has(i) ? null : a));
    const a = flattenArgs(dyn, `jit(${name})`);
    const starts = [0];
    for (const c of a.def.kind === "array" ? a.def.children : []) starts.push(starts[starts.length - 1]! + numLeaves(c));
    if (last && sameTreeDef(a.def, last.def) && sameAvals(a.leaves, last) && cache.get(last.key) === last.entry) {
      return { entry: last.entry, leaves: a.leaves, starts };
    }
    const parts = args.map((arg, i) => {
      if (statics.has(i)) return `static=${staticKey(arg)}`;
      const sub = flattenArgs([arg], `jit(${name})`);
      const avals = sub.leaves.map((t) => `${t.dtype}[${t.shape.join(",")}]`).join(", ");
      return sub.def.kind === "array" && sub.def.children[0]?.kind === "leaf" ? avals : `${treeKey(sub.def)} with ${avals}`;
    });
    const key = parts.join("|");
    let entry = cache.get(key);
    if (!entry) {
      if (log) {
        if (!lastParts) log(`jit(${name}): tracing for the first time`);
        else {
          const i = parts.findIndex((p, k) => p !== lastParts![k]);
          const why =
            i < 0
              ? `the number of arguments changed (${lastParts.length} -> ${parts.length})`
              : statics.has(i)
                ? `static argument ${i} changed value: ${lastParts[i] ?? "none"} -> ${parts[i]}`
                : `argument ${i} changed: ${lastParts[i] ?? "none"} -> ${parts[i]}`;
          log(`jit(${name}): re-tracing because ${why}`);
        }
      }
      traces++;
      const tr = traceFlat(
        (xs) => {
          const d = rebuild(a.def, xs) as unknown[];
          return f(...args.map((arg, i) => (statics.has(i) ? arg : d[i])));
        },
        a.leaves.map((t) => ({ shape: t.shape, dtype: t.dtype })),
        `jit(${name})`,
      );
      entry = { graph: tr.graph, outDef: tr.outDef, compiled: new Map() };
      cache.set(key, entry);
    }
    lastParts = parts;
    last = statics.size ? undefined : { def: a.def, dtypes: a.leaves.map((t) => t.dtype), shapes: a.leaves.map((t) => t.shape), key, entry };
    return { entry, leaves: a.leaves, starts };
  };

  /** Frees the donated arguments' buffers, except any an output still uses. */
  const donate = (leaves: readonly Tensor[], starts: readonly number[], outs: readonly Tensor[]): void => {
    if (!donated.size) return;
    const keep = new Set(outs.map((t) => t.node.storage));
    const seen = new Set<Tensor>(); // a tensor passed in two donated arguments is donated once
    for (const i of donated) {
      for (let j = starts[i]!; j < starts[i + 1]!; j++) {
        const t = leaves[j]!;
        if (seen.has(t)) continue;
        seen.add(t);
        if (!keep.has(t.node.storage)) t._donate(`jit(${name})`);
      }
    }
  };

  /**
   * Which leaves' host arrays the call may overwrite with outputs: donated tensors that nothing
   * else can see (`Tensor._reusable`) and whose storage no other argument passes in.
   */
  const reusable = (leaves: readonly Tensor[], starts: readonly number[]): boolean[] => {
    const mine = new Set<Tensor>();
    for (const i of donated) for (let j = starts[i]!; j < starts[i + 1]!; j++) mine.add(leaves[j]!);
    const count = new Map<unknown, number>();
    for (const t of leaves) count.set(t.node.storage, (count.get(t.node.storage) ?? 0) + 1);
    return leaves.map((t) => mine.has(t) && count.get(t.node.storage) === 1 && t._reusable());
  };

  const g = (...args: unknown[]): unknown => {
    for (const i of donated) {
      if (i >= args.length) throw new RangeError(`jit(${name}): donateArgnums ${i} is out of range for a call with ${args.length} arguments`);
    }
    const { entry, leaves, starts } = prepare(args);
    if (leaves.some((t) => t.node.traced)) return rebuild(entry.outDef, applyGraph(entry.graph, leaves));
    realizeAll(leaves);
    const backend = backendInstance();
    if (!backend.compile) {
      const outs = applyGraph(entry.graph, leaves);
      realizeAll(outs);
      donate(leaves, starts, outs);
      return rebuild(entry.outDef, outs);
    }
    let exec = entry.compiled.get(getBackend());
    if (!exec) {
      exec = backend.compile(entry.graph);
      entry.compiled.set(getBackend(), exec);
    }
    const stores = exec(
      leaves.map((t) => t.node.storage!),
      donated.size ? reusable(leaves, starts) : undefined,
    );
    const outs = stores.map((s, i) => new Tensor(bufferNode(s, entry.graph.outputs[i]!.shape, entry.graph.outputs[i]!.dtype)));
    donate(leaves, starts, outs);
    return rebuild(entry.outDef, outs);
  };
  Object.defineProperty(g, "traceCount", { get: () => traces });
  Object.defineProperty(g, "stats", { get: (): JitStats => ({ traces, cached: cache.size, capacity: cache.capacity, evictions: cache.evictions }) });
  Object.defineProperty(g, "lower", { value: (...args: unknown[]) => lowerWith(prepare(args).entry.graph) as Lowered });
  Object.defineProperty(g, "graph", { value: (...args: unknown[]) => prepare(args).entry.graph });
  return g as unknown as Jitted<F>;
}

/**
 * The traced graph of `f` for the given arguments: `.toString()` is a jaxpr-like text IR and
 * `.toDot()` Graphviz source.
 * @example
 * ```ts
 * import { makeGraph, add, exp, tensor } from "tenfold";
 * const g = makeGraph((x) => exp(add(x, 1)))(tensor([1, 2]));
 * console.log(g.toString().includes("exp")); // true
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function makeGraph<F extends (...args: any[]) => any>(f: F): (...args: Parameters<F>) => Graph {
  return (...args) => {
    const a = flattenArgs(args, "makeGraph");
    return traceFlat(
      (xs) => f(...(rebuild(a.def, xs) as unknown[])),
      a.leaves.map((t) => ({ shape: t.shape, dtype: t.dtype })),
      "makeGraph",
    ).graph;
  };
}
