/**
 * Outputs written over donated inputs (jit `donateArgnums`): which input arrays each program
 * output of the CPU executor may take instead of a fresh array. A training step that donates its
 * parameters and optimizer state then updates them in place, with no allocation per step (the
 * garbage collector and fresh, page-faulting memory were a sixth of an MLP step).
 *
 * An output o may take input s's array (same dtype and size) when s is no longer read once o is
 * written: every other reader of s runs before o's writer, and o's writer, if it reads s, is an
 * elementwise kernel that reads element i of s at output element i (element i is read before it
 * is written), or a matmul whose epilogue alone reads s that way (its runner copies s aside
 * before the product is written over it: an SGD step's `p − lr·g` fused into the gradient's gemm). "Runs" is where the executor runs a kernel: a fused group runs at its last member,
 * a producer packed into a matmul runs at that matmul. Whether the input array may be written at
 * all (nothing else sees it) is decided at call time (`Tensor._reusable`).
 */
import type { Kernel, Program } from "../../scheduler/ir.js";
import { readsFlat } from "./fused-update.js";

/** For each program output slot, the input slots whose arrays it may take, best first (in the order outputs should choose). */
export function inPlaceCandidates(
  program: Program,
  groupLast: ReadonlyMap<number, number>,
  packs: ReadonlyMap<number, { readonly producer: number }>,
  kept: ReadonlyMap<number, number>,
): Map<number, number[]> {
  const { kernels, slots, outputs } = program;
  const out = new Map<number, number[]>();
  const inputs = slots.flatMap((s, i) => (s.kind === "input" ? [i] : []));
  if (!inputs.length) return out;
  // Where each kernel's reads happen: its group's last member, or the last matmul packing it.
  const at = kernels.map((_, i) => groupLast.get(i) ?? i);
  const packed = new Set<number>();
  for (const [m, { producer }] of packs) {
    packed.add(producer);
    at[producer] = Math.max(at[producer]!, at[m]!);
  }
  const { readers, writer } = readersAndWriters(kernels);
  const returned = new Set(outputs);
  for (const o of new Set(outputs)) {
    const w = writer.get(o);
    const os = slots[o]!;
    if (w === undefined || os.kind !== "output" || packed.has(w) || kept.has(w)) continue;
    const exact: number[] = []; // read by o's writer (the operand it updates): taken first
    const done: number[] = []; // read only before o is written
    for (const s of inputs) {
      const is = slots[s]!;
      if (is.dtype !== os.dtype || is.size !== os.size || returned.has(s)) continue;
      const rs = readers.get(s) ?? [];
      if (!rs.every((r) => (r === w ? readsFlat(kernels[w]!, s) : at[r]! < at[w]!))) continue;
      (rs.includes(w) ? exact : done).push(s);
    }
    if (exact.length || done.length) out.set(o, [...exact, ...done]);
  }
  // Outputs with fewer choices pick first (an output with one candidate is not left without it).
  return new Map([...out].sort((a, b) => a[1].length - b[1].length));
}

/**
 * Outputs placed over an input's region of the SIMD arena (output slot → input slot), so that a
 * donating step leaves each updated parameter where its next call reads it: o may take input s's
 * array (`inPlace`: every other reader of s runs before o's writer w, which reads element i of s
 * at output element i), w runs in the arena (`inArena(w)`), and no other kernel of w's unit (a
 * row-interleaved group: `sameUnit`) reads s. After a call in which o took s's donated array, the
 * arena region holds that array's new values, so the next call with it skips its copy in
 * (program.ts keeps it in `held`); without donation the region is dead once w ran.
 */
export function arenaAliases(
  program: Program,
  inPlace: ReadonlyMap<number, readonly number[]>,
  inArena: (kernel: number) => boolean,
  sameUnit: (a: number, b: number) => boolean,
): Map<number, number> {
  const { readers, writer } = readersAndWriters(program.kernels);
  const out = new Map<number, number>();
  const used = new Set<number>();
  for (const [o, cands] of inPlace) {
    const w = writer.get(o);
    if (w === undefined || !inArena(w)) continue;
    const s = cands.find((c) => !used.has(c) && readers.get(c)?.includes(w) && readers.get(c)!.every((r) => r === w || !sameUnit(r, w)));
    if (s === undefined) continue;
    used.add(s);
    out.set(o, s);
  }
  return out;
}

/** The kernels reading each slot (in order, each once) and the kernel writing each non-opaque kernel's output. */
function readersAndWriters(kernels: readonly Kernel[]): { readers: Map<number, number[]>; writer: Map<number, number> } {
  const readers = new Map<number, number[]>();
  const writer = new Map<number, number>();
  kernels.forEach((k, i) => {
    for (const s of new Set(k.inputs)) (readers.get(s) ?? readers.set(s, []).get(s)!).push(i);
    if (k.kind !== "opaque") writer.set(k.output, i);
  });
  return { readers, writer };
}
