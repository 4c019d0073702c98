/**
 * Graph nodes: immutable, with shape and dtype inferred when built; hash-consed while tracing and
 * deduplicated by `cse` before realization (the common-subexpression elimination of the design).
 * A call primitive is one multi-output (tuple) node whose outputs are read through `proj` nodes.
 */
import type { DType, TypedArray } from "./dtype.js";
import type { Shape } from "./shape.js";
import type { CallPrim, Params, Primitive } from "./primitives.js";
import { INFER } from "./infer.js";
import type { Aval } from "./infer.js";

/**
 * Where realized data lives. `host` is a typed array in JS memory (reference and CPU backends);
 * device backends keep a handle and read back asynchronously.
 */
export interface Storage {
  /** Host copy, when one exists. */
  host?: TypedArray;
  /** Device copies, by backend name. */
  readonly device: Map<string, DeviceHandle>;
  /**
   * A small object referenced only by this storage, so it is collected with it: backends register
   * it (never the storage) with a FinalizationRegistry. V8 keeps registered targets alive through
   * minor GCs; registering the storage would keep its array alive until a major GC, so a loop
   * dropping 16 MB results would pile them up and take fresh, page-faulting memory every call.
   */
  anchor?: object;
  /**
   * Whether the host array may be seen through anything but the one node bound to this storage:
   * handed to the user (`dataSync`, `data`), shared with another storage (`devicePut`, a program
   * returning an input), or bound to a second node. A jitted call never writes a donated input's
   * array in place when this is set (see `Tensor._reusable`).
   */
  shared?: boolean;
  /** Whether a node was bound to this storage (a second binding sets `shared`). */
  bound?: boolean;
}

/** Binds a node to `s`: the second binding marks the storage shared. */
function bind(s: Storage): void {
  if (s.bound) s.shared = true;
  s.bound = true;
}

/** The storage's anchor (see `Storage.anchor`), made on first use. */
export function anchorOf(s: Storage): object {
  return (s.anchor ??= {});
}

/** A buffer owned by a device backend. */
export interface DeviceHandle {
  readonly backend: string;
  /** Releases the device memory now (idempotent). */
  free(): void;
}

let nextId = 1;
/** A fresh id for nodes, placeholders and calls. */
export function freshId(): number {
  return nextId++;
}

/**
 * A graph node: a discriminated union on `prim`, so `if (n.prim === "scan") n.params.numCarry`
 * narrows `params` with no cast and `switch (n.prim)` can be checked exhaustive. `Node<P>` is the
 * node of one primitive (or of a union of primitives); plain `Node` (every edge: inputs, graph
 * outputs, maps) is the union over all primitives.
 */
export type Node<P extends Primitive = Primitive> = { [Q in P]: NodeOf<Q> }[P];

/** The union of the nodes of every primitive (same as `Node`). */
export type AnyNode = Node;

/** One node of the lazy graph, of primitive P (use `Node<P>`; constructed only in this file). */
export class NodeOf<P extends Primitive> {
  constructor(
    readonly id: number,
    readonly prim: P,
    readonly params: Params<P>,
    readonly inputs: readonly Node[],
    readonly shape: Shape,
    readonly dtype: DType,
    readonly storage: Storage | undefined,
    /** Longest path to a leaf: used to realize very deep lazy chains before they grow unbounded. */
    readonly depth: number,
    /** Whether a tracing placeholder lies below (the value is abstract). */
    readonly traced: boolean = prim === "input",
    /**
     * The outputs of a multi-output (tuple) node, a call primitive: one node computes them all and
     * `proj` nodes read them. A tuple node reports shape `[]` and dtype `float32` itself; reading
     * it as an ordinary operand is an internal error (see `makeNode`).
     */
    readonly avals?: readonly Aval[],
  ) {}

  /** Consumers built on this node so far (outside traces): work a read may share with later reads. */
  uses = 0;
  /** Whether a Tensor handle was made for this node (a value the user can read again). */
  wrapped = false;
  /**
   * Tensor handles made on this node (never decremented: a count that only errs high). A buffer
   * made for a pending node starts with the pending node's count (its tensors move to it).
   */
  handles = 0;
  /** Whether a traced node reads this (untraced) node: a constant captured by a trace, read by compiled programs later. */
  pinned = false;
  /** @internal The last topoSort walk that visited this node (see topoSort). */
  mark = 0;
  /** @internal paramKey of the params once asked (null: not spellable; see paramKeyOf). */
  pkey: string | null | undefined = undefined;

  /** Whether this node is a realized buffer. */
  isBuffer(): this is Node<"buffer"> {
    return this.prim === "buffer";
  }

  /**
   * @internal Turns a computed node into the buffer holding its value, in place: every consumer
   * built on it (and every tensor of it) now reads the buffer, and its history can be collected.
   */
  _become(storage: Storage): void {
    const m = this as unknown as { prim: Primitive; params: Params<"buffer">; inputs: readonly Node[]; storage: Storage; depth: number };
    m.prim = "buffer";
    m.params = { dtype: this.dtype, shape: this.shape };
    m.inputs = [];
    m.storage = storage;
    bind(storage);
    m.depth = 0;
    this.pkey = undefined;
  }
}

/**
 * Hash-consing tables, one per active trace (innermost last). Inside a trace, building a node
 * structurally equal to one already built returns that node. Outside traces nodes are fresh, and
 * `cse` merges equal subexpressions right before a graph is realized. Strong maps scoped to a trace
 * (rather than a global table of WeakRefs) matter: a WeakRef keeps its target alive until the
 * current synchronous job ends, so a global weak table would pin every node, and the buffers
 * behind them, of a long synchronous training loop.
 */
const tables: Map<string, Node>[] = [];

/** Runs `f` with a hash-consing scope (used while tracing). */
export function withNodeTable<T>(f: () => T): T {
  tables.push(new Map());
  try {
    return f();
  } finally {
    tables.pop();
  }
}

/** paramKey's results by params object (params are never mutated; null: not spellable). */
const paramKeys = new WeakMap<object, string | null>();

/**
 * A node's params as a string key (hash-consing, the eager plan cache): -0 and non-finite numbers
 * kept, calls by id. Undefined when they hold a function, which the key cannot spell. Plain data
 * (most params: `{}`, `{ shape }`, `{ value, dtype }`) is spelled directly, the same string
 * JSON.stringify gives, without memoizing; the rest through JSON.stringify once per params object.
 */
export function paramKey(params: object): string | undefined {
  const quick = plainKey(params, 0);
  if (quick !== undefined) return quick;
  const memo = paramKeys.get(params);
  if (memo !== undefined) return memo ?? undefined;
  let plain = true;
  const key = JSON.stringify(params, (_k, v: unknown) => {
    const n = numberKey(v);
    if (n !== undefined) return n;
    if (isCall(v)) return `call#${String(v.id)}`;
    if (typeof v === "function") plain = false;
    return v;
  });
  paramKeys.set(params, plain ? key : null);
  return plain ? key : undefined;
}

/** A call in params (a `call`/custom-rule primitive's body), which keys spell by its id. */
function isCall(v: unknown): v is { id: number } {
  return typeof v === "object" && v !== null && "id" in v && ("graph" in v || "fwd" in v);
}

/** A number the key spells as a string (JSON has no -0 or non-finite numbers; a -0 literal must not merge with +0). */
function numberKey(v: unknown): string | undefined {
  if (typeof v !== "number") return undefined;
  if (!Number.isFinite(v)) return String(v);
  return Object.is(v, -0) ? "-0" : undefined;
}

/**
 * paramKey's string for plain data (numbers, strings, booleans, null, arrays and plain objects of
 * them, a few levels deep), exactly as its JSON.stringify spells it; undefined for anything else
 * (a call, a function, a typed array, undefined), which takes the general path.
 */
function plainKey(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case "number": {
      const n = numberKey(v);
      return n === undefined ? String(v) : `"${n}"`;
    }
    case "string":
      return JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "object": {
      if (v === null) return "null";
      if (depth > 4) return undefined;
      if (Array.isArray(v)) {
        let out = "[";
        for (let i = 0; i < v.length; i++) {
          const e = plainKey(v[i], depth + 1);
          if (e === undefined) return undefined;
          out += i ? `,${e}` : e;
        }
        return `${out}]`;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype || "toJSON" in v || isCall(v)) return undefined;
      let out = "{";
      let first = true;
      for (const k of Object.keys(v)) {
        const e = plainKey((v as Record<string, unknown>)[k], depth + 1);
        if (e === undefined) return undefined;
        out += `${first ? "" : ","}${JSON.stringify(k)}:${e}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      return undefined;
  }
}

/**
 * paramKey of a node's params, computed once per node (hash-consing and the eager plan cache both
 * key every pending node of a realized graph).
 */
export function paramKeyOf(n: Node): string | undefined {
  if (n.pkey === undefined) n.pkey = paramKey(n.params) ?? null;
  return n.pkey ?? undefined;
}

/** The hash-consing key of `prim(params)(inputs)`, from its params' key (undefined: never equal to another node). */
function nodeKey(prim: string, pkey: string | undefined, inputs: readonly Node[]): string {
  let key = `${prim}|${pkey ?? `fn#${freshId()}`}|`;
  for (let i = 0; i < inputs.length; i++) key += i ? `,${inputs[i]!.id}` : `${inputs[i]!.id}`;
  return key;
}

function freshNode<P extends Primitive>(prim: P, params: Params<P>, inputs: readonly Node[], shape: Shape, dtype: DType, avals?: readonly Aval[]): Node {
  let depth = 0;
  let traced = false;
  for (const i of inputs) {
    depth = Math.max(depth, i.depth + 1);
    traced ||= i.traced;
  }
  // The one widening of the graph: TypeScript cannot show that a NodeOf<P> for a generic P is a member of the union.
  return new NodeOf(freshId(), prim, params, inputs, shape, dtype, undefined, depth, traced, avals) as Node;
}

/** Throws when a tuple node is read by anything but `proj` (an internal error of a rule or pass). */
function checkOperands(prim: Primitive, inputs: readonly Node[]): void {
  if (prim === "proj") return;
  for (const i of inputs) {
    if (i.avals) {
      throw new Error(`internal: ${prim} reads the multi-output ${i.prim} node #${i.id} as an operand; its outputs are read through proj nodes`);
    }
  }
}

/**
 * Builds the node `prim(params)(inputs)` (inside a trace: finds an equal one). Shape and dtype
 * inference run here, so errors surface at the op call.
 */
export function makeNode<P extends Primitive>(prim: P, params: Params<P>, inputs: readonly Node[]): Node {
  checkOperands(prim, inputs);
  const { shape, dtype, avals } = INFER[prim](params, inputs);
  if (!tables.length) {
    const n = freshNode(prim, params, inputs, shape, dtype, avals);
    for (const i of inputs) {
      if (!n.traced) i.uses++;
      else if (!i.traced) i.pinned = true;
    }
    return n;
  }
  const pkey = paramKey(params);
  const key = nodeKey(prim, pkey, inputs);
  for (let i = tables.length - 1; i >= 0; i--) {
    const hit = tables[i]!.get(key);
    if (hit) return hit;
  }
  const node = freshNode(prim, params, inputs, shape, dtype, avals);
  node.pkey = pkey ?? null;
  if (node.traced) for (const i of inputs) if (!i.traced) i.pinned = true;
  tables[tables.length - 1]!.set(key, node);
  return node;
}

/** Whether `n` is a multi-output (tuple) node: a call primitive, read through `proj`. */
export function isTuple(n: Node): n is Node<CallPrim> {
  return n.avals !== undefined;
}

/** Output `index` of the tuple node `call` (a `proj` node). */
export function proj(call: Node, index: number): Node {
  return makeNode("proj", { index }, [call]);
}

/** Every output of the tuple node `call`, as `proj` nodes. */
export function projections(call: Node): Node[] {
  const avals = call.avals;
  if (!avals) throw new Error(`internal: ${call.prim} node #${call.id} is not a multi-output call`);
  return avals.map((_, i) => proj(call, i));
}

/** Builds the call `prim(params)(inputs)` (one tuple node) and returns its outputs as `proj` nodes. */
export function makeCall<P extends CallPrim>(prim: P, params: Params<P>, inputs: readonly Node[]): Node[] {
  return projections(makeNode(prim, params, inputs));
}

/**
 * Common-subexpression elimination: rebuilds `outputs` so that structurally equal nodes are one
 * node (scalar literals merge by value). Run on every graph before it is realized or compiled.
 */
export function cse(outputs: readonly Node[]): Node[] {
  const canon = new Map<string, Node>();
  const memo = new Map<number, Node>();
  for (const n of topoSort(outputs)) {
    const leafById = n.prim === "buffer" || n.prim === "input";
    const ins = n.inputs.map((i) => memo.get(i.id)!);
    const key = leafById ? `#${n.id}` : nodeKey(n.prim, paramKeyOf(n), ins);
    let c = canon.get(key);
    if (!c) {
      if (ins.every((x, k) => x === n.inputs[k])) c = n;
      else {
        c = freshNode(n.prim, n.params, ins, n.shape, n.dtype, n.avals);
        c.pkey = n.pkey;
      }
      canon.set(key, c);
    }
    memo.set(n.id, c);
  }
  return outputs.map((o) => memo.get(o.id)!);
}

/**
 * The longest path from `n` to a leaf through pending nodes, recomputed: a node's `depth` is set
 * when it is built, and a pending input realized since (it became a buffer: depth 0) leaves it
 * stale and too high. Refreshes the depth of every pending node below `n` on the way.
 */
export function refreshDepth(n: Node): number {
  for (const m of topoSort([n], (x) => x.depth === 0)) {
    let d = 0;
    for (const i of m.inputs) d = Math.max(d, i.depth + 1);
    (m as { depth: number }).depth = d;
  }
  return n.depth;
}

/** A realized buffer node holding `storage` (never hash-consed: data identity is the node). */
export function bufferNode(storage: Storage, shape: Shape, dtype: DType): Node<"buffer"> {
  bind(storage);
  return new NodeOf(freshId(), "buffer", { dtype, shape }, [], shape, dtype, storage, 0);
}

/** A fresh placeholder node for tracing. */
export function inputNode(shape: Shape, dtype: DType): Node<"input"> {
  return new NodeOf(freshId(), "input", { id: freshId(), dtype, shape }, [], shape, dtype, undefined, 0);
}

/** Narrows a node to a primitive. */
export function isPrim<P extends Primitive>(n: Node, p: P): n is Extract<Node, { readonly prim: P }> {
  return n.prim === p;
}

/** Narrows a node to one of the primitives of `prims` (e.g. `REDUCTION_PRIMS`). */
export function isPrimIn<P extends Primitive>(n: Node, prims: ReadonlySet<P>): n is Extract<Node, { readonly prim: P }> {
  return (prims as ReadonlySet<Primitive>).has(n.prim);
}

/** Nodes reachable from `outputs`, in topological order (inputs before users). */
export function topoSort(outputs: readonly Node[], stopAt?: (n: Node) => boolean): Node[] {
  if (walking) throw new Error("internal: topoSort called from a stopAt callback (its visit marks would clash)");
  walking = true;
  // Visited: a node's mark equals this walk's number (no set of ids to hash). An explicit stack
  // (graphs can be deeper than the call stack): the node, its next input, and whether its inputs
  // are walked at all (stopAt asked once per node).
  const walk = ++walks;
  const order: Node[] = [];
  const nodes: Node[] = [];
  const next: number[] = [];
  try {
    for (const o of outputs) {
      if (o.mark === walk) continue;
      o.mark = walk;
      nodes.push(o);
      next.push(stopAt?.(o) ? o.inputs.length : 0);
      while (nodes.length) {
        const top = nodes.length - 1;
        const n = nodes[top]!;
        const i = next[top]!;
        if (i < n.inputs.length) {
          next[top] = i + 1;
          const c = n.inputs[i]!;
          if (c.mark !== walk) {
            c.mark = walk;
            nodes.push(c);
            next.push(stopAt?.(c) ? c.inputs.length : 0);
          }
        } else {
          nodes.pop();
          next.pop();
          order.push(n);
        }
      }
    }
  } finally {
    walking = false;
  }
  return order;
}

/** Walks topoSort has started (each marks the nodes it visits with its number), and whether one runs. */
let walks = 0;
let walking = false;
