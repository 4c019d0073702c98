/**
 * The user-facing Tensor: an immutable handle on a lazy graph node. Reading data realizes the
 * pending graph on the current backend; the handle then points at the realized buffer, so the
 * history behind it can be collected. A read also keeps the values of tensors it computes that
 * other pending work shares (eager without recomputation, see `realizeAll`).
 */
import type { DType, TypedArray } from "./dtype.js";
import type { Shape } from "./shape.js";
import { sizeOf } from "./shape.js";
import type { Node, Storage } from "./node.js";
import { bufferNode, topoSort } from "./node.js";
import { backendInstance, getBackend } from "./backend.js";
import { formatTensor } from "./inspect.js";

/** Nested JS arrays of numbers (the shape of `array()`). */
export type NestedArray = number | boolean | NestedArray[];

/**
 * Realized results of pending nodes, per backend: structurally equal lazy tensors (hash-consed to
 * one node) share a result, but only on the backend that computed it.
 */
const realizedByBackend = new Map<string, WeakMap<Node, Node>>();
function realizedOf(): WeakMap<Node, Node> {
  const name = getBackend();
  let m = realizedByBackend.get(name);
  if (!m) realizedByBackend.set(name, (m = new WeakMap()));
  return m;
}

/** Thrown when a traced (abstract) value is read inside grad/jit/vmap. */
export class ConcretizationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConcretizationError";
  }
}

const disposeSym: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for("Symbol.dispose");

/** An immutable n-dimensional array backed by a lazy graph node. */
export class Tensor {
  #node: Node;
  /** Why the data can no longer be used (disposed, donated), once it cannot. */
  #gone: string | undefined;

  /** @internal Wraps a graph node; use `tensor()` and the ops to make tensors. */
  constructor(node: Node) {
    if (node.avals) throw new Error(`internal: a tensor of the multi-output ${node.prim} node #${node.id}; its outputs are read through proj nodes`);
    this.#node = node.isBuffer() ? node : (realizedOf().get(node) ?? node);
    this.#node.handles++;
    if (!this.#node.isBuffer() && !this.#node.traced) this.#node.wrapped = true;
  }

  /** @internal The graph node behind this tensor. */
  get node(): Node {
    if (this.#gone) throw new Error(`this tensor was ${this.#gone}: its data can no longer be used`);
    const r = this.#node.isBuffer() ? undefined : realizedOf().get(this.#node);
    if (r) this.#node = r;
    return this.#node;
  }

  /** The shape, known without computing anything. */
  get shape(): number[] {
    return [...this.#node.shape];
  }
  /** The element type. */
  get dtype(): DType {
    return this.#node.dtype;
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.#node.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return sizeOf(this.#node.shape);
  }
  /** Whether the data is computed and held in a buffer. */
  get isRealized(): boolean {
    return this.node.isBuffer();
  }

  /** Realizes the tensor (computes its pending graph) and returns its buffer node. */
  realize(): Node<"buffer"> {
    realizeAll([this]);
    return this.node as Node<"buffer">;
  }

  /**
   * The data as a typed array (Float32Array, Int32Array, or Uint8Array for bool), on any backend.
   * @example
   * ```ts
   * import { tensor, add } from "tenfold";
   * console.log(await add(tensor([1, 2]), 1).data()); // Float32Array [2, 3]
   * ```
   */
  async data(): Promise<TypedArray> {
    const n = this.realize();
    (n.storage as Storage).shared = true; // the caller holds the array now
    return readStorage(n, false);
  }

  /**
   * The data as a typed array, synchronously (CPU and reference backends only). On the CPU and
   * reference backends this is the tensor's own storage: treat it as read-only (tensors are
   * immutable, and backends may keep copies of it, e.g. in wasm memory or on the GPU).
   * @example
   * ```ts
   * import { tensor } from "tenfold";
   * console.log(tensor([[1, 2], [3, 4]]).dataSync()); // Float32Array [1, 2, 3, 4]
   * ```
   */
  dataSync(): TypedArray {
    const n = this.realize();
    (n.storage as Storage).shared = true; // the caller holds the array now
    return readStorageSync(n);
  }

  /** The data without handing the array out (for reads that copy it: arrays, items). */
  #read(): TypedArray {
    return readStorageSync(this.realize());
  }

  /**
   * @internal Whether a jitted call may write its outputs into this tensor's host array when it is
   * donated: the array is seen only through this tensor (one handle on one node bound to the
   * storage, never handed out or shared), no pending op reads it and no trace captured it.
   */
  _reusable(): boolean {
    const n = this.#node;
    const s = n.storage;
    return (
      this.#gone === undefined &&
      n.isBuffer() &&
      s !== undefined &&
      s.host !== undefined &&
      !s.shared &&
      n.handles === 1 &&
      n.uses === 0 &&
      !n.pinned &&
      [...s.device.keys()].every((d) => d === "cpu")
    );
  }

  /**
   * The data as nested JS arrays (a number for a scalar; booleans for bool tensors).
   * @example
   * ```ts
   * import { eye } from "tenfold";
   * console.log(await eye(2).array()); // [[1, 0], [0, 1]]
   * ```
   */
  async array(): Promise<NestedArray> {
    return toNested(await readStorage(this.realize(), false), this.#node.shape, this.dtype);
  }

  /** `array()`, synchronously (CPU and reference backends only). */
  arraySync(): NestedArray {
    return toNested(this.#read(), this.#node.shape, this.dtype);
  }

  /**
   * The single value of a size-1 tensor.
   * @example
   * ```ts
   * import { tensor, sum } from "tenfold";
   * console.log(await sum(tensor([1, 2, 3])).item()); // 6
   * ```
   */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor has ${this.size} elements (shape [${this.shape.join(", ")}]); item() needs exactly one`);
    return (await readStorage(this.realize(), false))[0]!;
  }

  /** `item()`, synchronously (CPU and reference backends only). */
  itemSync(): number {
    if (this.size !== 1) throw new Error(`itemSync: tensor has ${this.size} elements (shape [${this.shape.join(", ")}]); itemSync() needs exactly one`);
    return this.#read()[0]!;
  }

  /** Releases device memory now. Reading the tensor afterwards throws. */
  dispose(): void {
    this.#release("disposed");
  }

  /** @internal Frees the buffers of an input donated to a jitted call (`donateArgnums`). */
  _donate(fn: string): void {
    this.#release(`donated to ${fn} (donateArgnums), which reused or freed its buffer; use the call's result instead`);
  }

  #release(why: string): void {
    if (this.#gone) return;
    const n = this.#node;
    if (n.storage) for (const h of n.storage.device.values()) h.free();
    this.#gone = why;
  }

  /** `using t = ...` support: disposes at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * NumPy-like text with dtype, shape and device, e.g.
   * `tensor([1, 2], dtype=float32, shape=[2], device=cpu)`; never computes anything: a pending
   * tensor prints as `tensor(<lazy>, ...)`. Also used by `console.log` and `util.inspect`.
   * @example
   * ```ts
   * import { tensor, add } from "tenfold";
   * console.log(String(tensor([1, 2]))); // tensor([1, 2], dtype=float32, shape=[2], device=cpu)
   * console.log(String(add(tensor([1, 2]), 1))); // tensor(<lazy>, ...)
   * ```
   */
  toString(): string {
    return formatTensor(this);
  }

  /** @internal Points this tensor at a realized node. */
  _setRealized(n: Node): void {
    realizedOf().set(this.#node, n);
    this.#node = n;
  }
}
Object.defineProperty(Tensor.prototype, disposeSym, { value: Tensor.prototype.dispose });
// One brand for every copy of the library loaded in a process (ESM and CJS builds, two installs):
// `isTensor` and `instanceof Tensor` check the registry symbol, not the class identity.
const TENSOR_BRAND = Symbol.for("tenfold.Tensor");
Object.defineProperty(Tensor.prototype, TENSOR_BRAND, { value: true });
Object.defineProperty(Tensor, Symbol.hasInstance, { value: (x: unknown): boolean => isTensor(x) });
Object.defineProperty(Tensor.prototype, Symbol.for("nodejs.util.inspect.custom"), {
  value(this: Tensor): string {
    return this.toString();
  },
});

/**
 * Whether `x` is a tenfold tensor, from this copy of the library or another (the ESM and CJS
 * builds share one brand, `Symbol.for("tenfold.Tensor")`).
 * @example
 * ```ts
 * import { isTensor, tensor } from "tenfold";
 * console.log(isTensor(tensor([1])), isTensor([1])); // true false
 * ```
 */
export function isTensor(x: unknown): x is Tensor {
  return typeof x === "object" && x !== null && (x as { [TENSOR_BRAND]?: unknown })[TENSOR_BRAND] === true;
}

/** Primitives never worth keeping on their own: leaves and views (recomputed inside kernels for free). */
const CHEAP = new Set(["const", "iota", "buffer", "input", "reshape", "broadcast", "permute", "slice", "flip", "pad", "barrier", "stopGradient"]);

/** Primitives too costly to compute again for another reduction of the same tensor. */
const COSTLY = new Set(["matmul"]);
/** Reductions: a tensor a read reduces is likely reduced again (sum then mean, max then argmax). */
const REDUCTIONS = new Set(["sum", "rmax", "rmin", "prod", "argmax", "cumsum"]);

/**
 * The pending tensors a read computes anyway and that may be read or used again: nodes below the
 * requested ones that have a Tensor handle, are not free views, and either have consumers
 * outside the requested graph (e.g. the parameters and activations of an eager training step,
 * read through the loss, that the update of the parameters reuses) or are reduced by the read
 * and computed through a matmul (a later reduction of the same tensor would redo it). A matmul
 * feeding only elementwise work keeps its fused epilogue. They are realized with the read, so no
 * later read computes them again, and an eager loop that reads only its loss does constant work
 * per step. Deterministic: it depends on the graph, never on the garbage collector.
 */
function sharedWork(roots: readonly Node[]): Node[] {
  const order = topoSort(roots);
  const inside = new Map<number, number>();
  const reduced = new Set<number>();
  const costly = new Set<number>();
  for (const n of order) {
    for (const i of n.inputs) {
      inside.set(i.id, (inside.get(i.id) ?? 0) + 1);
      if (REDUCTIONS.has(n.prim)) reduced.add(i.id);
      if (costly.has(i.id)) costly.add(n.id);
    }
    if (COSTLY.has(n.prim)) costly.add(n.id);
  }
  const requested = new Set(roots.map((r) => r.id));
  const keep = new Set<Node>();
  for (const n of order) {
    if (!n.wrapped || n.traced || requested.has(n.id)) continue;
    // A view (e.g. the reshape around a matmul) keeps the value it is a view of.
    let s = n;
    while (CHEAP.has(s.prim) && s.inputs.length === 1) s = s.inputs[0]!;
    if (CHEAP.has(s.prim) || s.traced || requested.has(s.id)) continue;
    if ((reduced.has(n.id) && costly.has(s.id)) || n.uses > (inside.get(n.id) ?? 0)) keep.add(s);
  }
  return [...keep];
}

/**
 * Realizes several tensors in one backend run (their graphs are scheduled together), with the
 * shared pending work below them (`sharedWork`). Each shared node becomes its buffer in place, so
 * consumers built earlier read the value instead of computing it again, and the history behind
 * it can be collected. The requested nodes are mapped to their buffers per backend (another
 * backend computes its own, which differential tests rely on).
 */
export function realizeAll(ts: readonly Tensor[]): void {
  const pending: [Tensor, number][] = [];
  const nodes: Node[] = [];
  const seen = new Map<number, number>();
  for (const t of ts) {
    const n = t.node;
    if (n.isBuffer()) continue;
    if (n.traced) {
      throw new ConcretizationError(
        `cannot read the data of a traced tensor (shape [${n.shape.join(", ")}], ${n.dtype}): inside grad/jit/vmap values are abstract. ` +
          "Move data-dependent JS logic (if, item(), data()) out of the transformed function, or use where().",
      );
    }
    let k = seen.get(n.id);
    if (k === undefined) {
      k = nodes.length;
      seen.set(n.id, k);
      nodes.push(n);
    }
    pending.push([t, k]);
  }
  if (!nodes.length) return;
  const extra = sharedWork(nodes);
  const storages = backendInstance().run([...nodes, ...extra]);
  const made = nodes.map((n, i) => bufferNode(storages[i]!, n.shape, n.dtype));
  // Every tensor of a pending node moves to its buffer (now, or when next used).
  made.forEach((m, i) => (m.handles = nodes[i]!.handles));
  for (const [t, k] of pending) t._setRealized(made[k]!);
  // Realized consumers no longer need their inputs: they stop counting as shared work.
  for (const n of [...nodes, ...extra]) for (const i of n.inputs) i.uses--;
  extra.forEach((n, i) => n._become(storages[nodes.length + i]!));
}

function readStorageSync(n: Node): TypedArray {
  const s = n.storage as Storage;
  if (s.host) return s.host;
  const [name] = [...s.device.keys()];
  return backendInstance(name).readSync(s, n);
}

async function readStorage(n: Node, _sync: boolean): Promise<TypedArray> {
  const s = n.storage as Storage;
  if (s.host) return s.host;
  const [name] = [...s.device.keys()];
  return backendInstance(name).read(s, n);
}

function toNested(data: TypedArray, shape: Shape, dtype: DType): NestedArray {
  const conv = (v: number): number | boolean => (dtype === "bool" ? v !== 0 : v);
  if (shape.length === 0) return conv(data[0]!);
  const rec = (dim: number, off: number): NestedArray[] => {
    const n = shape[dim]!;
    const stride = sizeOf(shape.slice(dim + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) {
      out.push(dim === shape.length - 1 ? conv(data[off + i]!) : rec(dim + 1, off + i * stride));
    }
    return out;
  };
  return rec(0, 0);
}
