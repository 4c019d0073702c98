/**
 * The backend contract and registry. A backend turns a set of pending nodes into Storage
 * (dispatching kernels), and reads Storage back. `reference` is the slow oracle, `cpu` the fast
 * default, `webgpu` the device backend (registered when `tenfold/webgpu` loads).
 */
import type { TypedArray } from "./dtype.js";
import type { Node, Storage } from "./node.js";
import type { Graph } from "./graph.js";

/** What a backend implements. */
export interface Backend {
  readonly name: string;
  /** Computes `nodes` (leaves are buffers and consts); returns one Storage per node. */
  run(nodes: readonly Node[]): Storage[];
  /** Reads realized data (async: works on every backend). */
  read(storage: Storage, node: Node): Promise<TypedArray>;
  /** Reads realized data synchronously; device backends throw. */
  readSync(storage: Storage, node: Node): TypedArray;
  /**
   * Compiles a traced graph once (jit caches the result per backend): the returned function maps
   * input storages to output storages.
   */
  compile?(graph: Graph): (inputs: readonly Storage[]) => Storage[];
  /** Copies storage onto this backend (no-op when already there). */
  adopt?(storage: Storage, node: Node): void;
  /** False when the backend can no longer work (a lost GPU device): `setBackend` then recreates it. */
  readonly alive?: boolean;
}

type Factory = () => Backend | Promise<Backend>;
const factories = new Map<string, Factory>();
const instances = new Map<string, Backend>();
let current: string = "cpu";

/** Registers a backend factory under a name (used by backends themselves). */
export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory);
  instances.delete(name);
}

/** Drops a cached backend instance, so the next `setBackend` creates a fresh one. */
export function resetBackendInstance(name: string): void {
  instances.delete(name);
}

/**
 * Selects the backend that realizes pending graphs.
 * @example
 * ```ts
 * import { setBackend, getBackend } from "tenfold";
 * await setBackend("reference");
 * console.log(getBackend()); // "reference"
 * await setBackend("cpu");
 * ```
 */
export async function setBackend(name: "cpu" | "webgpu" | "reference" | (string & {})): Promise<void> {
  if (name === "webgpu" && !factories.has("webgpu")) {
    // Loaded on demand: importing it registers the backend.
    await import("../backends/webgpu/index.js");
  }
  const f = factories.get(name);
  if (!f) throw new Error(`setBackend: unknown backend "${name}" (known: ${[...factories.keys()].join(", ")})`);
  if (!instances.has(name) || instances.get(name)!.alive === false) instances.set(name, await f());
  current = name;
}

/**
 * The name of the current backend.
 * @example
 * ```ts
 * import { getBackend } from "tenfold";
 * console.log(getBackend()); // "cpu"
 * ```
 */
export function getBackend(): string {
  return current;
}

/** The current backend instance (created synchronously when its factory allows). */
export function backendInstance(name: string = current): Backend {
  let b = instances.get(name);
  if (!b) {
    const f = factories.get(name);
    if (!f) throw new Error(`backend "${name}" is not registered`);
    const made = f();
    if (made instanceof Promise) throw new Error(`backend "${name}" must be initialized with await setBackend("${name}")`);
    b = made;
    instances.set(name, b);
  }
  return b;
}
