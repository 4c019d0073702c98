/**
 * The CPU backend (default): the engine driver (src/scheduler/engine.ts) optimizes and schedules
 * graphs; this device compiles the scheduled kernels to JS / Wasm SIMD over typed arrays
 * (./program.ts) and hands out host arrays. `jit` caches the whole compiled program, including
 * its intermediate memory pool; subgraphs that depend only on captured tensors are computed once
 * at compile time. Output arrays are counted as live buffers until freed (dispose, jit donation)
 * or collected.
 */
import { registerBackend } from "../../core/backend.js";
import type { Backend } from "../../core/backend.js";
import type { TypedArray } from "../../core/dtype.js";
import type { DeviceHandle, Node, Storage } from "../../core/node.js";
import { anchorOf } from "../../core/node.js";
import { engineBackend } from "../../scheduler/engine.js";
import type { Executable } from "./program.js";
import { compileProgram, cpuNative } from "./program.js";
import { KERNEL_CACHE_LIMIT, kernelCacheSize } from "./codegen.js";

const stats = { liveBuffers: 0, liveBytes: 0, created: 0 };

/**
 * Accounts for one host array handed out: `free()` (dispose, jit donation) takes it off the live
 * counters at once; the array itself is left to the storage, since other tensors deduplicated to
 * the same result may still read it, and goes with the last of them.
 */
class CpuHandle implements DeviceHandle {
  readonly backend = "cpu";
  #bytes: number;
  constructor(bytes: number) {
    this.#bytes = bytes;
  }
  free(): void {
    if (this.#bytes < 0) return;
    stats.liveBuffers--;
    stats.liveBytes -= this.#bytes;
    this.#bytes = -1;
  }
  /** Counts a collected storage as freed (its array went with it). */
  collected(): void {
    if (this.#bytes < 0) return;
    stats.liveBuffers--;
    stats.liveBytes -= this.#bytes;
    this.#bytes = -1;
  }
}

const finalizer = new FinalizationRegistry<CpuHandle>((h) => h.collected());

function host(a: TypedArray): Storage {
  const s: Storage = { host: a, device: new Map() };
  const h = new CpuHandle(a.byteLength);
  s.device.set("cpu", h);
  stats.liveBuffers++;
  stats.liveBytes += a.byteLength;
  stats.created++;
  finalizer.register(anchorOf(s), h);
  return s;
}

function readHost(s: Storage, n?: Node): TypedArray {
  if (s.host) return s.host;
  const what = n ? `this tensor (shape [${n.shape.join(", ")}])` : "an input tensor";
  throw new Error(`cpu: ${what} lives on ${[...s.device.keys()].join(", ")}: use await data() or devicePut(x, "cpu")`);
}

/**
 * Creates the CPU backend.
 * @example
 * ```ts
 * import { setBackend, getBackend, tensor, exp } from "tenfold";
 * await setBackend("cpu");
 * console.log(getBackend(), exp(tensor([0])).arraySync()); // cpu [1]
 * ```
 */
export function cpuBackend(): Backend {
  return engineBackend<Executable>({
    name: "cpu",
    hoistConstants: true,
    native: cpuNative,
    compile: (program) => compileProgram(program),
    forget: (exe) => exe.forget?.(),
    execute: (exe, inputs, reuse) => {
      const arrays = inputs.map((s) => readHost(s));
      return exe.run(arrays, reuse).map((a, i) => {
        const s = host(a);
        // An output that is not a fresh array (an input or captured constant passed through, or an
        // array returned twice) is shared: no later donation may write it in place.
        const o = exe.program.outputs[i]!;
        const sl = exe.program.slots[o]!;
        if (sl.kind !== "output" || exe.program.outputs.indexOf(o) !== exe.program.outputs.lastIndexOf(o)) {
          s.shared = true;
          if (sl.kind === "input") inputs[sl.index]!.shared = true;
          else if (sl.kind === "const" && sl.node.storage) sl.node.storage.shared = true;
        }
        return s;
      });
    },
    read: (s, n) => Promise.resolve(readHost(s, n)),
    readSync: readHost,
    memory: () => ({ backend: "cpu", ...stats, pooledBytes: 0, programs: kernelCacheSize(), programCapacity: KERNEL_CACHE_LIMIT }),
  });
}

registerBackend("cpu", cpuBackend);
