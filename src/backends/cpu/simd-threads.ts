/**
 * The Wasm memory of the SIMD kernels and the helper threads that split a big kernel's rows: the
 * memory is shared when the runtime allows it (SharedArrayBuffer, Node workers), helpers claim
 * chunks of rows through an atomic counter and report finished chunks so the caller can copy
 * results out while later rows are still computed.
 */
import { MAX_PAGES, feedChunks, threadCount } from "./matmul-simd.js";
import { hasSimd } from "./wasm.js";
import type { Kernel, Program } from "../../scheduler/ir.js";
import type { SimdPlan } from "./simd.js";
import { ShareGate, armHelper, awaitHelpers, failureSrc } from "./helper-guard.js";

/** Control cells of a SIMD helper: 1 when its kernel threw (cleared by the caller), and the injected failure. */
const ERR = 12;
const FAIL = 13;
/** Control cells: set by a helper that lacked the posted kernel (evicted), and its cached kernel count. */
const MISSING = 14;
const CACHED = 15;
/**
 * Compiled kernels each helper thread keeps (least recently used go first). The caller's record
 * of what it sent is bounded alike; a helper asked for a kernel it evicted reports it missing,
 * the caller runs those rows itself and sends the kernel again on the next call.
 */
export const HELPER_CACHE_LIMIT = 256;

/**
 * A compiled SIMD kernel: call with byte addresses of the kernel's inputs, then its output (for a
 * group: every kernel's inputs and output in order, then, when `scratchBytes` > 0, the address
 * of that many bytes of per-row scratch for each of `simdThreads()` threads, one after another).
 */
export type SimdFn = ((...ptrs: number[]) => void) & {
  readonly scratchBytes?: number;
  /** Rows of a chunk claimed at a time (what a staging buffer holds, see `Staging`). */
  readonly chunkRows?: number;
  /**
   * Runs like the function itself and reports finished rows: `onRows(r0, r1)` is called for
   * consecutive row ranges covering [0, rows) in order, while helper threads may still compute
   * later rows (so the caller can copy results out in parallel). `prepare(r0, r1)` must make
   * rows [r0, r1) of the inputs ready (copy them in): it is called in order, chunk by chunk,
   * while helper threads already compute the rows made ready. With `staged` (and `onRows`), a
   * call that runs on this thread alone writes each staged output chunk by chunk into its staging
   * buffer instead of its own place: `onRows` is then called once per chunk with `shift[j]`, the
   * byte distance from staged output j's pointer in `ptrs` to where that chunk's rows are (valid
   * until `onRows` returns).
   */
  readonly withRows?: (
    ptrs: readonly number[],
    onRows?: (r0: number, r1: number, shift?: readonly number[]) => void,
    prepare?: (r0: number, r1: number) => void,
    staged?: readonly Staging[],
  ) => void;
};

/**
 * An output that leaves its kernel only to be copied out (a program output no kernel reads): on
 * one thread, each chunk of its rows goes to one chunk-sized staging buffer at `base` and is
 * copied out right after, so the rows stay in the caches between the kernel's store and the
 * copy instead of passing through main memory twice more (written back from the output's place
 * in wasm memory, then read again). `index`: the output's pointer among the kernel's; `rowBytes`:
 * bytes of one of its rows. (Calls shared with helper threads keep outputs in place: the helpers
 * compute ahead of the caller's copies there, and staging them in a ring of buffers sent timing
 * runs into far more V8 mark-compacts; see docs/performance.md, seventeenth session.)
 */
export interface Staging {
  readonly index: number;
  readonly base: number;
  readonly rowBytes: number;
}

/** Calls that staged outputs: outputs staged over those calls, and chunks of rows run (tests). */
export const stagingStats = { outputs: 0, chunks: 0 };

let sharing = true;
/** Whether big SIMD kernels may share their rows with the helper threads (tests turn it off to run the one-thread path). */
export function setSimdSharing(on: boolean): void {
  sharing = on;
}

/**
 * Which compiled program last used the SIMD arena (the memory after the constant table; its layout
 * and contents are per program, see program.ts). Other users of that memory (the Winograd conv)
 * take it by setting a fresh owner, so no program trusts its old copies there.
 */
export const simdArena: { owner?: object } = {};

let memory: WebAssembly.Memory | null | undefined;
let shared = false;

/**
 * The wasm memory SIMD kernels run on (null without Wasm SIMD or with TENFOLD_SIMD=0): shared
 * (for the helper threads) when there are several threads and the runtime allows it.
 */
export function simdMemory(): WebAssembly.Memory | null {
  if (memory !== undefined) return memory;
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  memory = null;
  if (proc?.env?.TENFOLD_SIMD === "0" || !hasSimd()) return memory;
  if (threadCount() > 1 && typeof SharedArrayBuffer !== "undefined") {
    try {
      memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
      shared = true;
    } catch {
      // No shared memory (e.g. a browser without cross-origin isolation): one thread.
    }
  }
  memory ??= new WebAssembly.Memory({ initial: 1 });
  return memory;
}

/** Threads that may run one SIMD kernel at once (each needs its own scratch region). */
export function simdThreads(): number {
  return simdMemory() && shared ? threadCount() : 1;
}

/** Smallest kernel (elements over all kernels of a group) whose rows are shared with helpers. */
const THREAD_MIN = 1 << 18;
/** Elements per chunk of rows claimed at a time. */
const CHUNK = 1 << 15;
/** Most pointer arguments passed to a helper. */
const MAX_ARGS = 240;

/**
 * The helper thread's program: wait for work on `ctl[0]` (1 = posted, 2 = taken, 0 = done or
 * cancelled), take it with a compare-and-swap, compile the kernels posted on its port, and run
 * chunks of rows claimed from the shared counter until none is left. ctl[1..7]: kernel id,
 * argument count, rows, rows per chunk, index of the scratch argument (−1: none), this thread's
 * scratch offset, whether to set counter[1 + i] when chunk i is done, whether to wait until
 * counter[READY] > i (the caller is still copying rows in) before running chunk i; arguments from
 * ctl[16]. Whatever the work throws sets ctl[ERR] (see helper-guard.ts) and the helper goes on.
 */
const HELPER_SRC = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { mem, ctl, counter, port, ready, limit } = workerData;
const c = new Int32Array(ctl);
const cnt = new Int32Array(counter);
const fns = new Map();
Atomics.store(c, 10, 1);
for (;;) {
  Atomics.wait(c, 0, 0);
  if (Atomics.compareExchange(c, 0, 1, 2) !== 1) continue;
  try {
    ${failureSrc(FAIL)}
    for (let m; (m = receiveMessageOnPort(port)); ) {
      if (fns.size >= limit) fns.delete(fns.keys().next().value);
      fns.set(m.message.id, new WebAssembly.Instance(new WebAssembly.Module(m.message.bytes), { env: { mem } }).exports.k);
    }
    const k = fns.get(c[1]);
    Atomics.store(c, ${MISSING}, k ? 0 : 1);
    if (k) {
      fns.delete(c[1]);
      fns.set(c[1], k);
      const n = c[2], rows = c[3], chunk = c[4], si = c[5];
      const args = [];
      for (let i = 0; i < n; i++) args.push(c[16 + i]);
      if (si >= 0) args[si] += c[6];
      args.push(0, 0);
      for (let i, t; (t = (i = Atomics.add(cnt, 0, 1)) * chunk) < rows; ) {
        if (c[8]) for (let r; (r = Atomics.load(cnt, ready)) <= i; ) Atomics.wait(cnt, ready, r);
        args[n] = t; args[n + 1] = Math.min(t + chunk, rows); k(...args); c[11] += args[n + 1] - t;
        if (c[7]) Atomics.store(cnt, 1 + i, 1);
      }
    }
  } catch {
    Atomics.store(c, ${ERR}, 1);
  } finally {
    Atomics.store(c, ${CACHED}, fns.size);
    Atomics.store(c, 0, 0);
    Atomics.notify(c, 0);
  }
}`;

interface Helper {
  readonly ctl: Int32Array;
  readonly port: { postMessage(m: unknown): void };
  readonly sent: Set<number>;
  ready: boolean;
}
let helpers: Helper[] | undefined;
/** Most chunks whose completion is reported (their flags follow the claim counter). */
const MAX_CHUNKS = 1024;
/** Counter cell holding how many chunks of rows the caller has made ready (copied in). */
const READY = 1 + MAX_CHUNKS;
const counter = typeof SharedArrayBuffer !== "undefined" ? new Int32Array(new SharedArrayBuffer((2 + MAX_CHUNKS) * 4)) : new Int32Array(2 + MAX_CHUNKS);

function startHelpers(): Helper[] {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const wt = proc?.getBuiltinModule?.("node:worker_threads") as typeof import("node:worker_threads") | undefined;
  const out: Helper[] = [];
  if (!wt || !shared) return out;
  for (let i = 1; i < threadCount(); i++) {
    try {
      const ctl = new Int32Array(new SharedArrayBuffer((16 + MAX_ARGS) * 4));
      const { port1, port2 } = new wt.MessageChannel();
      const w = new wt.Worker(HELPER_SRC, {
        eval: true,
        workerData: { mem: memory, ctl: ctl.buffer, counter: counter.buffer, port: port2, ready: READY, limit: HELPER_CACHE_LIMIT },
        transferList: [port2],
      });
      w.unref();
      port1.unref();
      const h: Helper = { ctl, port: port1, sent: new Set(), ready: false };
      w.on("error", () => out.includes(h) && out.splice(out.indexOf(h), 1));
      out.push(h);
    } catch {
      break;
    }
  }
  return out;
}

let nextId = 0;

/**
 * The helper threads started so far that are ready, and the rows each has run (tests check that
 * big kernels are shared); starts them on first use.
 */
export function simdHelpers(): number[] {
  if (!simdMemory() || !shared) return [];
  return (helpers ??= startHelpers()).filter((h) => h.ready || (h.ready = Atomics.load(h.ctl, 10) === 1)).map((h) => Atomics.load(h.ctl, 11));
}

/**
 * Runs `k(...ptrs, r0, r1)` over rows [0, rows): big kernels share chunks of rows with the ready
 * helper threads through a shared counter (a helper that is slow to start or descheduled does not
 * hold the call up: whatever it does not claim, this thread runs), work no helper took is cancelled.
 */
export function threaded(k: (...a: number[]) => void, bytes: Uint8Array, rows: number, perRow: number, scratchBytes: number): SimdFn {
  const id = nextId++;
  const chunk = Math.max(1, Math.floor(CHUNK / perRow));
  const big = shared && rows * perRow >= THREAD_MIN && rows >= 2 * chunk;
  const chunks = Math.ceil(rows / chunk);
  const gate = new ShareGate("simd");
  const run = (
    ptrs: readonly number[],
    onRows?: (r0: number, r1: number, shift?: readonly number[]) => void,
    prepare?: (r0: number, r1: number) => void,
    staged: readonly Staging[] = [],
  ): void => {
    const n = ptrs.length;
    const ready =
      big && sharing && n <= MAX_ARGS && gate.share() ? (helpers ??= startHelpers()).filter((h) => h.ready || (h.ready = Atomics.load(h.ctl, 10) === 1)) : [];
    if (ready.length === 0) {
      prepare?.(0, rows);
      if (!onRows || !staged.length) {
        k(...ptrs, 0, rows);
        onRows?.(0, rows);
        return;
      }
      const args = [...ptrs, 0, 0];
      const shift = staged.map(() => 0);
      stagingStats.outputs += staged.length;
      for (let t = 0; t < rows; t += chunk) {
        for (let j = 0; j < staged.length; j++) {
          const r = staged[j]!;
          args[r.index] = r.base - t * r.rowBytes; // (the kernel adds row·rowBytes: row t lands at the buffer's start)
          shift[j] = args[r.index]! - ptrs[r.index]!;
        }
        args[n] = t;
        args[n + 1] = Math.min(t + chunk, rows);
        k(...args);
        stagingStats.chunks++;
        onRows(t, args[n + 1]!, shift);
      }
      return;
    }
    const flags = onRows !== undefined && chunks <= MAX_CHUNKS;
    // Gated: the helpers start while this thread still copies rows in, chunk by chunk.
    const gated = prepare !== undefined && chunks <= MAX_CHUNKS;
    if (prepare && !gated) prepare(0, rows);
    counter.fill(0, 0, flags ? 1 + chunks : 1);
    counter[READY] = 0;
    const armed = new Set<Helper>();
    ready.forEach((h, i) => {
      if (armHelper("simd", h.ctl, FAIL)) armed.add(h);
      if (!h.sent.delete(id)) {
        h.port.postMessage({ id, bytes });
        if (h.sent.size >= HELPER_CACHE_LIMIT) h.sent.delete(h.sent.values().next().value!);
      }
      h.sent.add(id);
      const c = h.ctl;
      c[MISSING] = 0;
      c[1] = id;
      c[2] = n;
      c[3] = rows;
      c[4] = chunk;
      c[5] = scratchBytes ? n - 1 : -1;
      c[6] = (i + 1) * scratchBytes;
      c[7] = flags ? 1 : 0;
      c[8] = gated ? 1 : 0;
      for (let j = 0; j < n; j++) c[16 + j] = ptrs[j]!;
      Atomics.store(c, 0, 1);
      Atomics.notify(c, 0);
    });
    if (gated) feedChunks(counter, READY, chunks, (i) => prepare(i * chunk, Math.min((i + 1) * chunk, rows)));
    // Finished chunks (in order) go to onRows while the helpers compute.
    let done = 0;
    const report = (): void => {
      let e = done;
      while (e < chunks && Atomics.load(counter, 1 + e) === 1) e++;
      if (e > done) onRows!(done * chunk, Math.min(e * chunk, rows));
      done = e;
    };
    const args = [...ptrs, 0, 0];
    const t0 = performance.now();
    let mine = 0; // rows this thread ran
    for (let i, t; (t = (i = Atomics.add(counter, 0, 1)) * chunk) < rows;) {
      args[n] = t;
      args[n + 1] = Math.min(t + chunk, rows);
      mine += args[n + 1]! - t;
      k(...args);
      if (flags) {
        Atomics.store(counter, 1 + i, 1);
        report();
      }
    }
    const t1 = performance.now();
    awaitHelpers("cpu SIMD kernel", helpers!, ready, ERR, armed, (h) => Atomics.load(counter, 0) + Atomics.load(h.ctl, 11));
    gate.report(t1 - t0, performance.now() - t1, mine / rows);
    for (const h of ready) if (Atomics.load(h.ctl, MISSING) === 1) h.sent.delete(id);
    if (flags) report();
    else onRows?.(0, rows);
  };
  const fn = (...ptrs: number[]): void => run(ptrs);
  return Object.assign(fn, { withRows: run, chunkRows: chunk, ...(scratchBytes ? { scratchBytes } : {}) });
}

/** Compiled kernels each started helper thread keeps (as of its last call; tests and cpuCacheStats). */
export function simdHelperCacheSizes(): number[] {
  return (helpers ?? []).map((h) => Atomics.load(h.ctl, CACHED));
}

/** Whether the SIMD memory is shared with helper threads (its module then imports MAX_PAGES). */
export function simdShared(): boolean {
  return shared;
}

/** Pages of a shared memory's declared maximum. */
export const SHARED_PAGES = MAX_PAGES;

/**
 * Input slots of a SIMD group that every kernel of it reads only at its own row, row-major with
 * the group's columns (row r is elements [r·cols, (r+1)·cols)): they can be copied into wasm
 * memory row chunk by row chunk while helper threads compute the chunks already there.
 */
export function rowLocalInputs(
  group: readonly number[],
  kernels: readonly Kernel[],
  plans: readonly (SimdPlan | undefined)[],
  slots: Program["slots"],
): Set<number> {
  const { rows, cols } = plans[group[0]!]!;
  const ok = new Map<number, boolean>();
  for (const g of group) {
    const p = plans[g]!;
    p.epi?.body.forEach((ins) => ins.op === "load" && ok.set(kernels[g]!.inputs[ins.input]!, false));
    p.body.forEach((ins, t) => {
      if (ins.op !== "load") return;
      const s = kernels[g]!.inputs[ins.input]!;
      const a = p.acc[t]!;
      const local = p.cols === cols && a.off === 0 && a.colCoef === 1 && a.rowCoef === cols && !a.terms && slots[s]!.size === rows * cols;
      ok.set(s, (ok.get(s) ?? true) && local);
    });
  }
  return new Set([...ok].filter(([, v]) => v).map(([s]) => s));
}

/**
 * The SIMD arena's layout from byte `start` on: an offset in wasm memory for every slot a SIMD
 * kernel (`inArena`) touches, padded so that 4-lane loads and stores past the end stay inside the
 * slot (-1: not in the arena); `over`, the same with each output of `aliases` placed on its input
 * (see donation.ts `arenaAliases`); `bytes`, the end.
 */
export function arenaLayout(
  kernels: readonly Kernel[],
  inArena: (kernel: number) => boolean,
  slots: Program["slots"],
  aliases: ReadonlyMap<number, number>,
  start: number,
): { base: Int32Array; over: Int32Array; bytes: number } {
  const base = new Int32Array(slots.length).fill(-1);
  let bytes = start;
  kernels.forEach((k, i) => {
    if (!inArena(i)) return;
    for (const s of [...k.inputs, k.output]) {
      if (base[s]! >= 0) continue;
      base[s] = bytes;
      bytes += (Math.ceil(slots[s]!.size / 4) * 4 + 8) * 4;
    }
  });
  const over = base.slice();
  for (const [o, s] of aliases) over[o] = base[s]!;
  return { base, over, bytes };
}

/** Smallest output (bytes) staged by default: a smaller one stays in the caches anyway. */
export const STAGE_MIN_BYTES = 4 << 20;
let stageMin = STAGE_MIN_BYTES;
/** Sets the smallest staged output (tests lower it to stage small outputs; programs compiled after it see it). */
export function setStageMinBytes(bytes: number): void {
  stageMin = bytes;
}

/** An output of a SIMD unit staged (see `Staging`): its kernel, its buffer's address, its row bytes. */
export interface StagedOutput {
  readonly kernel: number;
  readonly base: number;
  readonly rowBytes: number;
}

/**
 * The outputs of each SIMD unit that are staged when it runs on one thread (see `Staging`):
 * program outputs of its elementwise kernels of STAGE_MIN_BYTES or more (`setStageMinBytes`) that no kernel reads and
 * that never take a donated input's place (`aliased`). Their buffers lie from byte `start` on
 * (units run one at a time: each unit's from `start`); `end`: past the largest unit's.
 */
export function stagingPlan<U extends { readonly kernels: readonly number[]; readonly fn?: SimdFn }>(
  units: readonly U[],
  kernels: readonly Kernel[],
  plans: readonly (SimdPlan | undefined)[],
  slots: Program["slots"],
  aliased: ReadonlySet<number>,
  start: number,
): { of: Map<U, StagedOutput[]>; end: number } {
  const read = new Set(kernels.flatMap((k) => k.inputs));
  const at = Math.ceil(start / 16) * 16;
  const of = new Map<U, StagedOutput[]>();
  let end = start;
  for (const u of units) {
    if (!u.fn?.withRows || !u.fn.chunkRows) continue;
    const staged: StagedOutput[] = [];
    let bytes = at;
    for (const i of u.kernels) {
      const s = kernels[i]!.output;
      const p = plans[i]!;
      if (slots[s]!.kind !== "output" || p.reduce || p.column || read.has(s) || aliased.has(s) || slots[s]!.size * 4 < stageMin) continue;
      staged.push({ kernel: i, base: bytes, rowBytes: p.cols * 4 });
      bytes += Math.ceil((u.fn.chunkRows * p.cols * 4 + 32) / 16) * 16;
    }
    if (staged.length) of.set(u, staged);
    end = Math.max(end, bytes);
  }
  return { of, end };
}

/**
 * Views of row chunks of the arena, kept across a program's calls: copying a finished chunk out
 * through a fresh `subarray` allocated a view per report (14 KB of young objects per call of a
 * 4096×1024 softmax shared with a helper, half of all it allocated), and young allocation per
 * call adds to V8's mark-compact cycles in loops over big results (docs/performance.md).
 */
export class ChunkViews {
  #buffer: ArrayBufferLike | undefined;
  #all: Float32Array | undefined;
  #views = new Map<number, Float32Array[]>();

  /** The whole memory as floats (cached until the memory grows). */
  whole(mem: WebAssembly.Memory): Float32Array {
    if (mem.buffer !== this.#buffer) {
      this.#buffer = mem.buffer;
      this.#all = new Float32Array(mem.buffer);
      this.#views.clear();
    }
    return this.#all!;
  }

  /**
   * Copies elements [a, b) of the array at float offset `from` of `mem` into `out` at a, in
   * pieces of `step` elements aligned to multiples of `step` (a view cached for each piece).
   */
  copy(mem: WebAssembly.Memory, from: number, a: number, b: number, step: number, out: { set(v: Float32Array, at: number): void }): void {
    const all = this.whole(mem);
    let vs = this.#views.get(from);
    if (!vs) this.#views.set(from, (vs = []));
    for (let p = a; p < b;) {
      const q = Math.min(b, (Math.floor(p / step) + 1) * step);
      const c = p / step;
      let v = Number.isInteger(c) ? vs[c] : undefined;
      if (!v || v.length !== q - p) {
        v = all.subarray(from + p, from + q);
        if (Number.isInteger(c)) vs[c] = v;
      }
      out.set(v, p);
      p = q;
    }
  }
}
