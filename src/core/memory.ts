/**
 * Device memory accounting shared by every backend: the `MemoryStats` a backend reports, the
 * user's device memory budget (`setMemoryBudget`), the error thrown when an op would exceed it,
 * and `memoryStats()` for the current backend. Backends count the buffers they hand out and free
 * them deterministically (jit intermediates when a call returns, donated inputs, `dispose()`).
 */
import { backendInstance, getBackend } from "./backend.js";

/** Memory counters of a backend (`memoryStats()`). */
export interface MemoryStats {
  /** The backend these counters belong to. */
  readonly backend: string;
  /** Buffers handed out to tensors and not freed yet. */
  readonly liveBuffers: number;
  /** Bytes in those buffers. */
  readonly liveBytes: number;
  /** Bytes idle in the backend's buffer pool (reused before allocating). */
  readonly pooledBytes: number;
  /** Buffers created since the backend started. */
  readonly created: number;
  /** The budget in force (`setMemoryBudget`), `Infinity` when none. */
  readonly budget: number;
  /** Compiled programs cached by the backend (an LRU bounded by `capacity`). */
  readonly programs: number;
  /** Most compiled programs the backend caches. */
  readonly programCapacity: number;
  /** Scheduled kernels run so far by the backend (a recomputation shows up here). */
  readonly kernelsRun: number;
  /**
   * Eager plans the backend keeps: compiled programs of realized graphs, by structure (an eager
   * loop plans its step once), an LRU of at most `eagerPlanCapacity`.
   */
  readonly eagerPlans: number;
  readonly eagerPlanCapacity: number;
}

/**
 * Thrown when an op needs more device memory than the budget set with `setMemoryBudget` allows
 * (instead of an opaque device failure). The message names the op, the bytes it needs and the
 * budget.
 * @example
 * ```ts
 * import { DeviceMemoryError, setMemoryBudget, exp, ones } from "tenfold";
 * setMemoryBudget(1024);
 * try { exp(ones([100000])).dataSync(); } catch (e) { console.log(e instanceof DeviceMemoryError); } // true
 * setMemoryBudget(Infinity);
 * ```
 */
export class DeviceMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeviceMemoryError";
  }
}

let budget = Infinity;

/**
 * Sets the device memory budget in bytes for every backend (`Infinity` removes it). An op that
 * would take live memory over the budget throws a `DeviceMemoryError` naming the op.
 * @example
 * ```ts
 * import { setMemoryBudget, memoryBudget } from "tenfold";
 * setMemoryBudget(256 << 20);
 * console.log(memoryBudget()); // 268435456
 * setMemoryBudget(Infinity);
 * ```
 */
export function setMemoryBudget(bytes: number): void {
  if (!(bytes >= 0)) throw new RangeError(`setMemoryBudget(bytes): bytes must be a number >= 0 or Infinity, got ${bytes}`);
  budget = bytes;
}

/**
 * The device memory budget in bytes (`Infinity` when none was set).
 * @example
 * ```ts
 * import { memoryBudget } from "tenfold";
 * console.log(memoryBudget()); // Infinity
 * ```
 */
export function memoryBudget(): number {
  return budget;
}

/** Throws a `DeviceMemoryError` when allocating `bytes` more on top of `live` breaks the budget. */
export function checkBudget(backend: string, live: number, bytes: number, what: string): void {
  if (live + bytes <= budget) return;
  throw new DeviceMemoryError(
    `${backend}: ${what} needs ${bytes} bytes of device memory, but ${live} bytes are live and the budget is ${budget} bytes ` +
      "(setMemoryBudget). Free tensors (dispose(), jit donateArgnums), use smaller batches, or raise the budget.",
  );
}

/**
 * Memory counters of the current backend (or of `backend`): live buffers and bytes, the pool,
 * the budget and the compiled-program cache. Exact at any time: no counter waits for the garbage
 * collector except tensors dropped without `dispose()` (which are freed when collected).
 * @example
 * ```ts
 * import { memoryStats, jit, add, tensor } from "tenfold";
 * const f = jit((x) => add(x, 1), { donateArgnums: 0 });
 * let x = f(tensor([1, 2]));
 * const before = memoryStats().liveBuffers;
 * x = f(x);
 * console.log(memoryStats().liveBuffers === before); // true
 * ```
 */
export function memoryStats(backend: string = getBackend()): MemoryStats {
  const b = backendInstance(backend);
  if (b.memoryStats) return b.memoryStats();
  return {
    backend,
    liveBuffers: 0,
    liveBytes: 0,
    pooledBytes: 0,
    created: 0,
    budget,
    programs: 0,
    programCapacity: 0,
    kernelsRun: 0,
    eagerPlans: 0,
    eagerPlanCapacity: 0,
  };
}
