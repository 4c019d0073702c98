/**
 * Executes scheduled programs on the CPU: binds buffer slots (inputs, captured constants, pool
 * buffers for intermediates allocated once per compiled program, fresh output arrays), runs the
 * generated kernel functions in order, and the opaque kernels through their runners
 * (opaque-runners.ts: typed loops, the Winograd conv, compiled bodies of scan, whileLoop, cond).
 */
import { POOL_PRIMS } from "../../ops/pool.js";
import type { TypedArray } from "../../core/dtype.js";
import { allocArray, allocFilled } from "../../core/dtype.js";
import type { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import type { ElementwiseKernel, Instr, Kernel, MatmulKernel, Program } from "../../scheduler/ir.js";
import { planGraph } from "../../scheduler/engine.js";
import { elementwiseFn } from "./codegen.js";
import { reduceFn } from "./codegen-reduce.js";
import { wasmMemoryLimit } from "./matmul.js";
import type { SimdFn, SimdPlan } from "./simd.js";
import { CONST_BYTES, simdGroup, simdMemory, simdMinElements, simdPlan, simdThreads } from "./simd.js";
import { splitEpilogues } from "./split-epilogue.js";
import { ChunkViews, arenaLayout, rowLocalInputs, simdArena, stagingPlan } from "./simd-threads.js";
import type { Runner } from "./matmul-runners.js";
import type { Executable } from "./opaque-runners.js";
import { opaqueRunner } from "./opaque-runners.js";
import { fusedMatmulRunner, keptMatmulRunner, matmulFusions, matmulRunner } from "./matmul-runners.js";
import { flatView, fusedGroups, fusedStats } from "./fused-update.js";
import { arenaAliases, inPlaceCandidates } from "./donation.js";
import { winogradEligible } from "./winograd.js";

export type { Executable } from "./opaque-runners.js";
/** Opaque primitives whose runners are plain loops over host arrays (never touching the SIMD arena). */
const HOST_ONLY = new Set(["argmax", "gather", "scatterAdd", "cumsum", "threefry", "maxPool", "maxPoolGather", "maxPoolScatter"]);

function hostOf(n: Node): TypedArray {
  const h = n.storage?.host;
  if (!h) throw new Error(`cpu backend: a captured tensor of shape [${n.shape.join(", ")}] has no host data (read it from its device first)`);
  return h;
}

function runnerOf(k: Kernel): Runner {
  switch (k.kind) {
    case "elementwise":
    case "reduce": {
      const f = k.kind === "elementwise" ? elementwiseFn(k) : reduceFn(k);
      const ins = k.inputs;
      const o = k.output;
      if (ins.length === 1) return (b) => f(b[ins[0]!]!, b[o]!);
      if (ins.length === 2) return (b) => f(b[ins[0]!]!, b[ins[1]!]!, b[o]!);
      return (b) => f(...ins.map((s) => b[s]!), b[o]!);
    }
    case "matmul":
      return matmulRunner(k);
    case "opaque":
      return opaqueRunner(k, compileGraph);
  }
}

/** Which compiled program last used the SIMD arena (see simd-threads.ts `simdArena`). */
const arena = simdArena;
/** The place of an output slot's array until `runWith` allocates it (never written). */
const NOT_YET = new Float32Array(0);
const unwritten = (s: number): never => {
  throw new Error(`internal: cpu program slot ${s} read before its kernel ran`);
};
/** Program outputs written over a donated input's array (jit donateArgnums; tests). */
export const donationStats = { inPlace: 0 };
/**
 * Input/constant copies into the SIMD arena: done, and skipped because the copy was still there;
 * output arrays allocated at their first copy out, after their kernels started (tests).
 */
export const arenaStats = { copied: 0, reused: 0, lateOutputs: 0 };
/** Smallest load-only SIMD kernel (elements) worth a copy into wasm memory (it is shared with the helpers). */
const SIMD_SHARED_MIN = 1 << 20;

/**
 * Compiles a program for arrays: kernels are generated once, the intermediate pool is allocated
 * on first run and reused by later runs.
 * @example
 * ```ts
 * import { jit, exp, tensor } from "tenfold";
 * const f = jit((x) => exp(x));
 * console.log(f(tensor([0])).arraySync()); // [1]
 * ```
 */
export function compileProgram(scheduled: Program): Executable {
  const program = splitEpilogues(scheduled); // (matmul epilogues as SIMD kernels)
  const { slots, kernels } = program;
  const f32 = (s: number): boolean => slots[s]!.dtype === "float32";
  const plans: (SimdPlan | undefined)[] = kernels.map((k) =>
    (k.kind === "elementwise" || k.kind === "reduce") && f32(k.output) && k.inputs.every(f32) ? simdPlan(k) : undefined,
  );
  // Work whose operands (with per-row scratch) would not fit the wasm memory runs in JS.
  const arenaNeed = new Set(kernels.flatMap((k, i) => (plans[i] ? [...k.inputs, k.output] : [])));
  if (arenaNeed.size && [...arenaNeed].reduce((b, s) => b + (slots[s]!.size + 16) * 4, 0) * 2 + CONST_BYTES + (1 << 20) > wasmMemoryLimit())
    plans.fill(undefined);
  // A kernel that only loads (a plain sum or max) is faster in JS than after a copy into wasm memory: it runs as SIMD only
  // when its operands are in wasm memory anyway, or when it is big enough for the helper threads (its copy-in then overlaps).
  const work = (p: SimdPlan): boolean => p.body.some((x) => x.op === "unary" || x.op === "binary") || (simdThreads() > 1 && p.rows * p.cols >= SIMD_SHARED_MIN);
  const readLater = new Set<number>();
  for (let i = kernels.length - 1; i >= 0; i--) if (plans[i] && work(plans[i]!)) for (const s of kernels[i]!.inputs) readLater.add(s);
  const produced = new Set<number>();
  kernels.forEach((k, i) => {
    const p = plans[i];
    if (!p) return;
    if (!work(p) && !k.inputs.every((s) => produced.has(s) || readLater.has(s) || slots[s]!.size <= 64)) plans[i] = undefined;
    else produced.add(k.output);
  });
  const fused = matmulFusions(kernels, slots, plans);
  // Multi-output elementwise groups (an optimizer update per parameter: one loop writing the moments and the parameter; see
  // fused-update.ts) run in JS at their last member's place, or as one SIMD group; mixed ones run as scheduled, unless all are
  // small (SIMD only by a transcendental, see simd.ts: the JS group is faster).
  const inFusion = new Set([...fused.keep.values(), ...[...fused.pack.values()].map((v) => v.producer)]);
  const { groups, privateSlots } = fusedGroups(program, (i) => inFusion.has(i));
  const groupAt = new Map<number, { readonly members: readonly number[]; readonly js?: Runner }>();
  const member = new Set<number>();
  for (const g of groups) {
    const ms = g.members;
    const planned = ms.filter((m) => plans[m]).length;
    if (planned < ms.length && ms.some((m) => plans[m] && plans[m]!.rows * plans[m]!.cols >= simdMinElements())) continue;
    if (planned < ms.length) ms.forEach((m) => (plans[m] = undefined));
    let js: Runner | undefined;
    if (planned === ms.length) {
      // one Wasm SIMD group over a rows × cols view of the flat elements
      const total = slots[kernels[ms[0]!]!.output]!.size;
      const views = ms.map((m) => flatView(plans[m]!, total));
      if (views.some((v) => !v)) continue;
      ms.forEach((m, j) => (plans[m] = views[j]));
    } else js = g.js() as Runner;
    for (const m of ms) member.add(m);
    groupAt.set(ms[ms.length - 1]!, { members: ms, js });
    fusedStats[js ? "js" : "simd"]++;
    fusedStats.kernels += ms.length;
  }
  // Units: runs of SIMD kernels with the same rows, each reading what an earlier one wrote only at its own row, become one
  // row-interleaved function; a fused group is one unit at its last member; everything else runs alone.
  const units: { readonly kernels: readonly number[]; readonly fn?: SimdFn; readonly rowLocal?: ReadonlySet<number>; readonly cols?: number }[] = [];
  const simdUnit = (ms: readonly number[]): (typeof units)[number] => ({
    kernels: ms,
    fn: simdGroup(
      ms.map((m) => plans[m]!),
      ms.map((m) => kernels[m]!.inputs),
    ),
    rowLocal: rowLocalInputs(ms, kernels, plans, slots),
    cols: plans[ms[0]!]!.cols,
  });
  for (let i = 0; i < kernels.length;) {
    const p = plans[i];
    if (!p) {
      if (!member.has(i)) units.push({ kernels: [i] });
      else if (groupAt.has(i)) units.push({ kernels: groupAt.get(i)!.members });
      i++;
      continue;
    }
    if (member.has(i)) {
      const g = groupAt.get(i);
      if (g) units.push(simdUnit(g.members));
      i++;
      continue;
    }
    const group = [i];
    const by = new Map<number, SimdPlan>([[kernels[i]!.output, p]]);
    for (let j = i + 1; p.rows > 1 && !p.column && j < kernels.length; j++) {
      const q = plans[j];
      if (!q || q.rows !== p.rows || q.column) break;
      const reads = (body: readonly Instr[], acc: SimdPlan["acc"]): boolean =>
        body.every((ins, t) => {
          if (ins.op !== "load") return true;
          const src = by.get(kernels[j]!.inputs[ins.input]!);
          const a = acc[t]!;
          if (!src) return true;
          return (
            a.off === 0 &&
            !a.terms &&
            (src.reduce || src.cols === 1 ? a.colCoef === 0 && a.rowCoef === 1 : a.colCoef === 1 && a.rowCoef === src.cols && q.cols === src.cols)
          );
        });
      const local = reads(q.body, q.acc) && (!q.epi || reads(q.epi.body, q.epi.acc));
      if (!local) break;
      group.push(j);
      by.set(kernels[j]!.output, q);
    }
    units.push(simdUnit(group));
    i += group.length;
  }
  const runners: (Runner | undefined)[] = kernels.map((k, i) => (plans[i] || member.has(i) ? undefined : runnerOf(k)));
  for (const [last, g] of groupAt) {
    if (!g.js) continue;
    g.members.forEach((m) => (runners[m] = () => {}));
    runners[last] = g.js;
  }
  // A skipped producer's readers read its inputs later than the memory plan assumed (it ends
  // their lifetimes at the producer): when a kernel up to the last reader may overwrite an input's
  // pool buffer, the producer's place takes a private snapshot of that input, which the readers
  // (and a late run of the producer) use instead. The producer itself runs only when a reader
  // cannot gather: at most once per run, into its own slot (reserved up to its last reader).
  const sources = new Map<number, { source: (bufs: TypedArray[]) => TypedArray[]; produce: Runner; snapshot?: Runner }>();
  const sourceOf = (p: number): { source: (bufs: TypedArray[]) => TypedArray[]; produce: Runner; snapshot?: Runner } => {
    let r = sources.get(p);
    if (r) return r;
    const e = kernels[p] as ElementwiseKernel;
    const last = Math.max(...[...fused.pack].filter(([, v]) => v.producer === p).map(([i]) => i));
    const poolOf = (s: number): number => {
      const sl = slots[s]!;
      return sl.kind === "temp" ? sl.pool : -1;
    };
    const written = (k: Kernel): readonly number[] => (k.kind === "opaque" && k.outputs ? k.outputs.filter((x): x is number => x !== undefined) : [k.output]);
    const clobbered = (s: number): boolean =>
      poolOf(s) >= 0 && kernels.slice(p + 1, last).some((k) => written(k).some((w) => w !== s && poolOf(w) === poolOf(s)));
    const copies = e.inputs.map((s) => (clobbered(s) ? allocArray(slots[s]!.dtype, slots[s]!.size) : undefined));
    const source = (bufs: TypedArray[]): TypedArray[] => e.inputs.map((s, j) => copies[j] ?? bufs[s]!);
    const plain = elementwiseFn(e);
    const done = new WeakSet<TypedArray[]>();
    const produce: Runner = (bufs) => {
      if (done.has(bufs)) return;
      done.add(bufs);
      plain(...source(bufs), bufs[e.output]!);
    };
    const snapshot: Runner | undefined = copies.some((c) => c)
      ? (bufs) => e.inputs.forEach((s, j) => copies[j]?.set(bufs[s]!.subarray(0, slots[s]!.size)))
      : undefined;
    r = { source, produce, snapshot };
    sources.set(p, r);
    return r;
  };
  for (const i of new Set([...fused.pack.keys(), ...fused.keep.keys()])) {
    const e = fused.pack.get(i);
    const c = fused.keep.get(i);
    let kept: Float32Array | undefined;
    const keep = c === undefined ? undefined : { set: (v: Float32Array) => (kept = v) };
    const mk = kernels[i] as MatmulKernel;
    if (e !== undefined) {
      const src = sourceOf(e.producer);
      runners[i] = fusedMatmulRunner(mk, kernels[e.producer] as ElementwiseKernel, e.packable, slots[mk.inputs[mk.b.input]!]!.size, keep, src);
      runners[e.producer] = src.snapshot ?? (() => {});
    } else runners[i] = keptMatmulRunner(mk, keep!);
    if (c !== undefined) {
      const run = runners[c]!;
      const T = kernels[i]!.output;
      runners[c] = (b) => {
        if (!kept) return run(b);
        const saved = b[T]!;
        b[T] = kept;
        kept = undefined;
        try {
          run(b);
        } finally {
          b[T] = saved;
        }
      };
    }
  }
  // Outputs that may take a donated input's array, and those written over its place in the arena (see donation.ts).
  const groupLast = new Map<number, number>();
  for (const [last, g] of groupAt) for (const m of g.members) groupLast.set(m, last);
  const inPlace = inPlaceCandidates(program, groupLast, fused.pack, fused.keep);
  const unitOf = new Map(units.flatMap((u, j) => u.kernels.map((i) => [i, j] as const)));
  const aliases = arenaAliases(
    program,
    inPlace,
    (i) => !!plans[i],
    (a, b) => unitOf.get(a) === unitOf.get(b),
  );
  // Arena: a byte offset in the SIMD memory for every slot a SIMD kernel touches (after the kernels' constant table).
  const layout = arenaLayout(kernels, (i) => !!plans[i], slots, aliases, CONST_BYTES);
  let at = layout.base;
  let arenaBytes = layout.bytes;
  // Per-row scratch of groups that share values between their kernels (one region per thread, reused).
  const scratchAt = arenaBytes;
  arenaBytes += Math.max(0, ...units.map((u) => u.fn?.scratchBytes ?? 0)) * (units.some((u) => u.fn) ? simdThreads() : 1);
  // Staging buffers of big outputs only copied out, after the scratch (see simd-threads.ts `Staging`).
  const staging = stagingPlan(units, kernels, plans, slots, new Set(aliases.keys()), arenaBytes);
  arenaBytes = staging.end;
  const mem = units.some((u) => u.fn) ? simdMemory() : null;
  if (mem && arenaBytes > wasmMemoryLimit()) throw new Error("internal: SIMD arena over the wasm memory limit");
  // Last kernel reading each slot (outputs: past the end), to read back only live results.
  const lastRead = new Int32Array(slots.length).fill(-1);
  program.kernels.forEach((k, i) => k.inputs.forEach((s) => (lastRead[s] = i)));
  for (const s of program.outputs) lastRead[s] = program.kernels.length;
  let pool: TypedArray[] | undefined;
  // Temp slots written between a fused group's members into a buffer the group still reads.
  let own: Map<number, TypedArray> | undefined;
  // Arena copies of input/constant slots from this program's last call, by slot (see `run`).
  const held = new Map<number, TypedArray>();
  const chunkViews = new ChunkViews();
  const token = {};
  let finished = true;
  return {
    program,
    forget: () => held.clear(),
    run(inputs, reuse) {
      pool ??= program.pool.map((p) => allocArray(p.dtype, p.size));
      own ??= new Map([...privateSlots].map((s) => [s, allocArray(slots[s]!.dtype, slots[s]!.size)]));
      // Outputs written over donated inputs' arrays this call (see donation.ts).
      const chosen = new Map<number, TypedArray>();
      const taken = new Set<TypedArray>();
      if (reuse)
        for (const [o, cands] of inPlace) {
          for (const c of cands) {
            const sl = slots[c]!;
            const a = sl.kind === "input" && reuse[sl.index] ? inputs[sl.index]! : undefined;
            if (!a || taken.has(a) || a.length !== sl.size) continue;
            taken.add(a);
            chosen.set(o, a);
            donationStats.inPlace++;
            break;
          }
        }
      const lazy = new Set<number>();
      const bufs: TypedArray[] = slots.map((s, i) => {
        switch (s.kind) {
          case "input":
            return inputs[s.index]!;
          case "const":
            return hostOf(s.node);
          case "temp":
            return own!.get(i) ?? (pool![s.pool]!.subarray(0, s.size) as TypedArray);
          case "output":
            if (!chosen.has(i)) lazy.add(i);
            return chosen.get(i) ?? NOT_YET;
        }
      });
      const moved = [...aliases].filter(([o, s]) => chosen.has(o) && chosen.get(o) === bufs[s]); // (s: an input slot)
      at = moved.length ? layout.over : layout.base;
      if (!taken.size) return runWith(bufs, lazy);
      // The arena copy of a donated input is not its array's value after this call: no other program may keep using its
      // copy (taking the arena drops them all), nor may this one, except where the array took the output written over that
      // copy (`moved`). Its other copies go too when another program used the arena since.
      if (arena.owner !== token) held.clear();
      arena.owner = token;
      try {
        return runWith(bufs, lazy);
      } finally {
        held.forEach((a, s) => taken.has(a) && held.delete(s));
        if (moved.length) for (const [, s] of aliases) held.delete(s);
        if (finished) for (const [o, s] of moved) held.set(s, chosen.get(o)!);
      }
    },
  };
  /**
   * Runs the kernels over the bound buffers (`run` without the binding). The outputs in `lazy` get their fresh arrays before the
   * first runner, or at their first copy out of the arena: the helpers compute through the collection a big array may start.
   */
  function runWith(bufs: TypedArray[], lazy: Set<number>): TypedArray[] {
    const out = (s: number, late = false): TypedArray => {
      if (lazy.delete(s)) {
        bufs[s] = allocFilled(slots[s]!.dtype, slots[s]!.size);
        if (late) arenaStats.lateOutputs++;
      }
      return bufs[s]!;
    };
    const allOut = (): void => lazy.forEach((s) => out(s));
    const read = (s: number): TypedArray => (lazy.has(s) ? unwritten(s) : bufs[s]!);
    if (!mem) {
      allOut();
      for (const r of runners) r!(bufs);
      return program.outputs.map((s) => bufs[s]!);
    }
    if (mem.buffer.byteLength < arenaBytes) mem.grow(Math.ceil((arenaBytes - mem.buffer.byteLength) / 65536));
    // An input or captured constant copied into the arena by this program's previous call is still there when no other
    // program used the arena since: calling again with the same tensor skips its copy (tensors are immutable; see Tensor.dataSync).
    if (arena.owner !== token || !finished) held.clear();
    arena.owner = token;
    finished = false; // (a call that threw part-way may have promised copies it never made)
    // resident: the arena copy is current; stale: the host copy is not.
    const resident = new Uint8Array(slots.length);
    for (const [s, host] of held) {
      if (bufs[s] !== host) continue;
      resident[s] = 1;
      arenaStats.reused++;
    }
    const live = (i: number): number[] => [...lastRead.keys()].filter((s) => lastRead[s]! >= i);
    const stale = new Uint8Array(slots.length);
    // Reads back the arena copies of the slots in `which` (a dead slot's pool buffer may belong to another slot by now).
    const flush = (which: readonly number[]): void => {
      let view: Float32Array | undefined;
      for (const s of which) {
        if (!stale[s]) continue;
        view ??= new Float32Array(mem.buffer);
        out(s).set(view.subarray(at[s]! >> 2, (at[s]! >> 2) + slots[s]!.size));
        stale[s] = 0;
      }
    };
    for (const u of units) {
      if (u.fn) {
        let view: Float32Array | undefined;
        const ptrs: number[] = [];
        const mine = new Set<number>();
        const byRows: number[] = []; // inputs copied in row by row (see `prepare`)
        for (const i of u.kernels) {
          const k = kernels[i]!;
          for (const s of k.inputs) {
            ptrs.push(at[s]!);
            if (resident[s] || mine.has(s)) continue;
            resident[s] = 1;
            arenaStats.copied++;
            if (slots[s]!.kind === "input" || slots[s]!.kind === "const") held.set(s, bufs[s]!);
            if (u.rowLocal!.has(s) && u.fn.withRows) {
              byRows.push(s);
              continue;
            }
            view ??= new Float32Array(mem.buffer);
            view.set(read(s).subarray(0, slots[s]!.size) as Float32Array, at[s]! >> 2);
          }
          ptrs.push(at[k.output]!);
          mine.add(k.output);
        }
        if (u.fn.scratchBytes) ptrs.push(scratchAt);
        // Program outputs are copied out as their rows finish (a finished row is final: a kernel of the unit reads an
        // earlier one's output only at its own row, and a later unit only after this one).
        const early = u.kernels.filter((i) => slots[kernels[i]!.output]!.kind === "output");
        for (const s of mine) resident[s] = stale[s] = 1;
        if ((early.length || byRows.length) && u.fn.withRows) {
          const cols = u.cols!;
          const prepare = byRows.length
            ? (r0: number, r1: number): void => {
                view ??= new Float32Array(mem.buffer);
                for (const s of byRows) view.set(read(s).subarray(r0 * cols, r1 * cols) as Float32Array, (at[s]! >> 2) + r0 * cols);
              }
            : undefined;
          const chunkElems = early.map((i) => (u.fn!.chunkRows ?? plans[i]!.rows) * (plans[i]!.reduce ? 1 : plans[i]!.cols));
          const [staged, views] = [staging.of.get(u) ?? [], [] as Float32Array[]]; // (a staged chunk is at its buffer's start: one view)
          const sj = early.map((i) => staged.findIndex((r) => r.kernel === i)); // each early output's staging, -1: none
          u.fn.withRows(
            ptrs,
            early.length
              ? (r0, r1, shift) => {
                  for (let e = 0; e < early.length; e++) {
                    const i = early[e]!;
                    const s = kernels[i]!.output;
                    const per = plans[i]!.reduce ? 1 : plans[i]!.cols;
                    const a = r0 * per;
                    const b = Math.min(r1 * per, slots[s]!.size);
                    const j = shift ? sj[e]! : -1;
                    if (j < 0) chunkViews.copy(mem, at[s]! >> 2, a, b, chunkElems[e]!, out(s, true));
                    else {
                      const v = (views[j] ??= chunkViews.whole(mem).subarray(((at[s]! + shift![j]!) >> 2) + a, ((at[s]! + shift![j]!) >> 2) + b));
                      out(s, true).set(v.length === b - a ? v : v.subarray(0, b - a), a);
                    }
                  }
                }
              : undefined,
            prepare,
            staged.map((r) => ({ index: ptrs.indexOf(at[kernels[r.kernel]!.output]!), base: r.base, rowBytes: r.rowBytes })),
          );
          for (const i of early) stale[kernels[i]!.output] = 0;
        } else u.fn(...ptrs);
        continue;
      }
      allOut();
      if (u.kernels.length > 1) {
        // a fused group: its runner sits at its last member
        flush(u.kernels.flatMap((m) => kernels[m]!.inputs));
        runners[u.kernels[u.kernels.length - 1]!]!(bufs);
        for (const m of u.kernels) resident[kernels[m]!.output] = 0;
        continue;
      }
      const i = u.kernels[0]!;
      const k = kernels[i]!;
      // Other opaque kernels (calls, convs) may run nested programs or the Winograd kernel on the arena.
      const nested = k.kind === "opaque" && !HOST_ONLY.has(k.prim);
      flush(nested ? live(i) : k.inputs);
      runners[i]!(bufs);
      if (nested) {
        resident.fill(0);
        held.clear();
      } else resident[k.output] = 0;
    }
    flush(program.outputs);
    allOut();
    finished = true;
    return program.outputs.map((s) => bufs[s]!);
  }
}

/**
 * Optimizes, schedules and compiles a graph.
 * @example
 * ```ts
 * import { jit, sum, tensor } from "tenfold";
 * console.log(jit((x) => sum(x)).lower(tensor([1, 2])).kernels.length); // 1
 * ```
 */
export function compileGraph(g: Graph): Executable {
  return compileProgram(planGraph(g, cpuNative));
}

/**
 * The composite primitives the CPU backend runs as whole kernels (see `Device.native`): a conv the
 * Winograd kernel takes (winograd.ts); max pooling and its gradients (core/pool.ts's typed loops).
 * @example
 * ```ts
 * import { cpuNative } from "tenfold/internals";
 * import { conv, tensor, zeros } from "tenfold";
 * const y = conv(zeros([1, 1, 4, 4]), zeros([1, 1, 3, 3]));
 * console.log(cpuNative(y.node)); // false (too small for the Winograd kernel)
 * ```
 */
export function cpuNative(n: Node): boolean {
  return POOL_PRIMS.has(n.prim) || (n.prim === "conv" && winogradEligible(n.params, n.inputs[0]!.shape, n.inputs[1]!.shape, n.dtype));
}
