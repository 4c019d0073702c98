/**
 * The user-facing Tensor: an immutable handle on a lazy graph node. Reading data realizes the
 * pending graph on the current backend; the handle then points at the realized buffer, so the
 * history behind it can be collected.
 */
import type { DType, TypedArray } from "./dtype.js";
import type { Shape } from "./shape.js";
import { sizeOf } from "./shape.js";
import type { Node, Storage } from "./node.js";
import { bufferNode, cse } from "./node.js";
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
  #disposed = false;

  /** @internal Wraps a graph node; use `tensor()` and the ops to make tensors. */
  constructor(node: Node) {
    this.#node = node.isBuffer() ? node : (realizedOf().get(node) ?? node);
  }

  /** @internal The graph node behind this tensor. */
  get node(): Node {
    if (this.#disposed) throw new Error("this tensor was disposed: its data can no longer be used");
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
    return readStorageSync(n);
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
    return toNested(await this.data(), this.#node.shape, this.dtype);
  }

  /** `array()`, synchronously (CPU and reference backends only). */
  arraySync(): NestedArray {
    return toNested(this.dataSync(), this.#node.shape, this.dtype);
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
    return (await this.data())[0]!;
  }

  /** `item()`, synchronously (CPU and reference backends only). */
  itemSync(): number {
    if (this.size !== 1) throw new Error(`itemSync: tensor has ${this.size} elements (shape [${this.shape.join(", ")}]); itemSync() needs exactly one`);
    return this.dataSync()[0]!;
  }

  /** Releases device memory now. Reading the tensor afterwards throws. */
  dispose(): void {
    const n = this.#node;
    if (n.storage) for (const h of n.storage.device.values()) h.free();
    this.#disposed = true;
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

/** Realizes several tensors in one backend run (their graphs are scheduled together). */
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
  const storages = backendInstance().run(cse(nodes));
  const made = nodes.map((n, i) => bufferNode(storages[i]!, n.shape, n.dtype));
  for (const [t, k] of pending) t._setRealized(made[k]!);
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
