/**
 * The backend contract and registry. A backend turns a set of pending nodes into Storage
 * (dispatching kernels), and reads Storage back. `reference` is the slow oracle, `cpu` the fast
 * default, `webgpu` the device backend (registered when `tenfold/webgpu` loads). `core` imports
 * nothing above it: backends register themselves from their entry points, and an entry point may
 * register a lazy loader (the root `tenfold` entry does so for `webgpu`), which `setBackend` awaits.
 */
import type { TypedArray } from "./dtype.js";
import type { Node, Storage } from "./node.js";
import type { Graph } from "./graph.js";
import type { MemoryStats } from "./memory.js";

/** What a backend implements. */
export interface Backend {
  readonly name: string;
  /**
   * Computes `nodes` (leaves are buffers and consts); returns one Storage per node. The graph comes
   * as built: structurally equal subexpressions may repeat, and the backend merges them (`cse` in
   * core/node.ts) where it plans or evaluates the graph.
   */
  run(nodes: readonly Node[]): Storage[];
  /** Reads realized data (async: works on every backend). */
  read(storage: Storage, node: Node): Promise<TypedArray>;
  /** Reads realized data synchronously; device backends throw. */
  readSync(storage: Storage, node: Node): TypedArray;
  /**
   * Compiles a traced graph once (jit caches the result per backend): the returned function maps
   * input storages to output storages. `reuse[i]` marks a donated input whose host array the
   * call may overwrite with an output of the same size (nothing else can see it; see
   * `Tensor._reusable`); backends that cannot use it ignore it.
   */
  compile?(graph: Graph): (inputs: readonly Storage[], reuse?: readonly boolean[]) => Storage[];
  /** Copies storage onto this backend (no-op when already there). */
  adopt?(storage: Storage, node: Node): void;
  /** False when the backend can no longer work (a lost GPU device): `setBackend` then recreates it. */
  readonly alive?: boolean;
  /** Memory counters (live buffers and bytes, pool, budget, program cache). */
  memoryStats?(): MemoryStats;
}

type Factory = () => Backend | Promise<Backend>;
const factories = new Map<string, Factory>();
/** Loaders of backends not imported yet: importing the module registers its factory. */
const loaders = new Map<string, () => Promise<unknown>>();
const instances = new Map<string, Backend>();
let current: string = "cpu";
/** setBackend calls so far (see setBackend: the latest wins). */
let selections = 0;

/** Registers a backend factory under a name (used by backends themselves). */
export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory);
  instances.delete(name);
}

/**
 * Registers a loader for a backend whose module is imported on demand: `setBackend(name)` awaits
 * `load()` (which must call `registerBackend(name, ...)`) the first time the backend is selected.
 * @example
 * ```ts
 * import { registerBackendLoader, getBackend } from "tenfold";
 * // What the root `tenfold` entry does: `await setBackend("webgpu")` imports it on first use.
 * registerBackendLoader("webgpu", () => import("tenfold/webgpu"));
 * console.log(getBackend()); // "cpu"
 * ```
 */
export function registerBackendLoader(name: string, load: () => Promise<unknown>): void {
  if (!factories.has(name)) loaders.set(name, load);
}

/** The names of registered backends (loaded or loadable). */
export function knownBackends(): string[] {
  return [...new Set([...factories.keys(), ...loaders.keys()])];
}

/** Drops a cached backend instance, so the next `setBackend` creates a fresh one. */
export function resetBackendInstance(name: string): void {
  instances.delete(name);
}

/**
 * Selects the backend that realizes pending graphs. A backend whose module is loaded and whose
 * instance is created synchronously (`cpu`, `reference`) is selected before this returns, so code
 * that does not await the promise already runs on it; `webgpu` (an adapter request) and backends
 * loaded on demand are selected when the promise resolves, unless a later call selected another
 * backend meanwhile (the latest call wins). An unknown name rejects.
 * @example
 * ```ts
 * import { setBackend, getBackend } from "tenfold";
 * await setBackend("reference");
 * console.log(getBackend()); // "reference"
 * await setBackend("cpu");
 * ```
 */
export function setBackend(name: "cpu" | "webgpu" | "reference" | (string & {})): Promise<void> {
  // The latest call wins: one still loading when a later call selects another backend does not
  // switch back when it completes.
  const mine = ++selections;
  const select = (): Promise<void> => {
    const f = factories.get(name);
    if (!f) return Promise.reject(new Error(`setBackend: unknown backend "${name}" (known: ${knownBackends().join(", ")})`));
    if (selections !== mine) return Promise.resolve();
    if (instances.has(name) && instances.get(name)!.alive !== false) {
      current = name;
      return Promise.resolve();
    }
    let made: Backend | Promise<Backend>;
    try {
      made = f();
    } catch (e) {
      return Promise.reject(e);
    }
    if (!(made instanceof Promise)) {
      instances.set(name, made);
      current = name;
      return Promise.resolve();
    }
    return made.then((b) => {
      instances.set(name, b);
      if (selections === mine) current = name;
    });
  };
  const load = loaders.get(name);
  if (!load || factories.has(name)) return select();
  // Loaded on demand: importing the backend's module registers it.
  let loading: Promise<unknown>;
  try {
    loading = load();
  } catch (e) {
    return Promise.reject(e);
  }
  return loading.then(() => {
    loaders.delete(name);
    return select();
  });
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

/** What `jit(f).lower()` calls: the scheduler registers it when it loads (core imports nothing above it). */
let lowering: ((graph: Graph) => unknown) | undefined;

/** Registers the lowering used by `jit(f).lower()` (called by src/scheduler/lower.ts). */
export function registerLowering(fn: (graph: Graph) => unknown): void {
  lowering = fn;
}

/** The registered lowering (throws when the scheduler was not loaded). */
export function lowerWith(graph: Graph): unknown {
  if (!lowering) throw new Error("lower: the scheduler is not loaded (import tenfold's root entry)");
  return lowering(graph);
}
