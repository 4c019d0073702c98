/**
 * Planning: turns the scheduler's program (src/scheduler: fusion decided once for every backend)
 * into a list of steps over numbered buffer slots: one kernel dispatch per scheduled kernel, its
 * WGSL generated from the kernel IR (wgsl.ts); scans run their body plan per step, whileLoop and
 * cond steps their cond/body/branch plans (chosen by values read back at run time). Each slot is
 * released after its last use, so intermediates are recycled through the buffer pool while
 * encoding (the runtime form of the program's memory plan).
 */
import type { DType } from "../../core/dtype.js";
import type { Graph } from "../../core/graph.js";
import type { Node } from "../../core/node.js";
import type { Kernel, Program } from "../../scheduler/ir.js";
import type { GenOptions } from "./kernels.js";
import type { Operand, WgslKernel } from "./wgsl.js";
import { kernelWgsl } from "./wgsl.js";

/** One step of a plan. */
export type Step =
  | {
      readonly kind: "kernel";
      readonly spec: { readonly wgsl: string; readonly groups: readonly [number, number, number] };
      readonly ins: readonly number[];
      readonly out: number;
      readonly bytes: number;
      /** The fused ops and shape, for error messages (e.g. the memory budget). */
      readonly what: string;
      /** Write into the slot's existing buffer (a chunk of a split kernel) instead of a fresh one. */
      readonly reuse?: boolean;
      /** Byte ranges [offset, size] bound per binding (inputs, then the output); whole when absent. */
      readonly ranges?: readonly (readonly [number, number] | undefined)[];
    }
  | { readonly kind: "alloc"; readonly out: number; readonly bytes: number; readonly what?: string }
  | { readonly kind: "copy"; readonly src: number; readonly out: number; readonly bytes: number }
  | { readonly kind: "scan"; readonly node: Node<"scan">; readonly body: Plan; readonly ins: readonly number[]; readonly outs: readonly number[] }
  /** A run-time loop: the cond plan's bool is read back before each body run (exec.ts runs it asynchronously). */
  | {
      readonly kind: "while";
      readonly node: Node<"whileLoop">;
      readonly cond: Plan;
      readonly body: Plan;
      readonly ins: readonly number[];
      readonly outs: readonly number[];
    }
  /** Runs the branch plan chosen by the index read back from the device. */
  | {
      readonly kind: "cond";
      readonly node: Node<"cond">;
      readonly branches: readonly Plan[];
      readonly ins: readonly number[];
      readonly outs: readonly number[];
    };

/** An executable plan: slots 0..leaves.length-1 are the leaves (inputs, then constant buffers). */
export interface Plan {
  readonly leaves: readonly Node[];
  /** How many leading leaves are supplied by the caller (the rest carry their own storage). */
  readonly numInputs: number;
  readonly steps: readonly Step[];
  /** Slots to release after each step. */
  readonly frees: readonly (readonly number[])[];
  readonly outputs: readonly number[];
  /** Bytes of each output buffer. */
  readonly outBytes: readonly number[];
  readonly numSlots: number;
  /** Whether running it reads values back (whileLoop, cond): executed asynchronously, in order. */
  readonly async: boolean;
}

/** What planning needs from the backend. */
export interface PlanEnv {
  /** Code generation options (limits, and whether float16 is stored as f16). */
  readonly gen: GenOptions;
  /** Bytes per element of a dtype in device buffers. */
  bytesOf(dtype: DType): number;
  /** Storage buffers a kernel may bind (inputs plus the output). */
  readonly maxBindings: number;
  /** Largest storage binding in bytes (larger buffers are bound in chunks, where possible). */
  readonly bindLimit: number;
  /** Byte alignment of a binding's offset (minStorageBufferOffsetAlignment). */
  readonly align: number;
  /** Throws when a buffer of `bytes` cannot be bound (`binding`) or allocated (`buffer`). */
  checkSize(bytes: number, what: string, limit?: "binding" | "buffer"): void;
}

/**
 * Builds a plan from a scheduled program. `inputs` are the graph's input nodes; captured buffers
 * become leaves after them.
 */
export function planProgram(program: Program, inputs: readonly Node[], env: PlanEnv, bodies: (g: Graph) => Plan): Plan {
  const slotMap = new Map<number, number>();
  const consts: Node[] = [];
  program.slots.forEach((s, i) => {
    if (s.kind === "input") slotMap.set(i, s.index);
  });
  program.slots.forEach((s, i) => {
    if (s.kind === "const") slotMap.set(i, inputs.length + consts.push(s.node) - 1);
  });
  const leaves = [...inputs, ...consts];
  let numSlots = leaves.length;
  const slot = (s: number): number => {
    let p = slotMap.get(s);
    if (p === undefined) slotMap.set(s, (p = numSlots++));
    return p;
  };
  const steps: Step[] = [];
  const maxIn = env.maxBindings - 1;
  for (const k of program.kernels) {
    if (k.kind === "opaque" && (k.prim === "scan" || k.prim === "whileLoop" || k.prim === "cond")) {
      const outsOf = (count: number): number[] =>
        Array.from({ length: count }, (_, j) => {
          const s = k.outputs?.[j];
          return s === undefined ? numSlots++ : slot(s);
        });
      const ins = k.inputs.map(slot);
      const n = k.node;
      if (n.prim === "whileLoop") {
        const body = bodies(n.params.body.graph);
        steps.push({ kind: "while", node: n, cond: bodies(n.params.cond.graph), body, ins, outs: outsOf(body.outputs.length) });
      } else if (n.prim === "cond") {
        const branches = n.params.branches.map((b) => bodies(b.graph));
        steps.push({ kind: "cond", node: n, branches, ins, outs: outsOf(branches[0]!.outputs.length) });
      } else if (n.prim === "scan") {
        const body = bodies(n.params.body.graph);
        if (body.async)
          throw new Error("webgpu: whileLoop or cond (with a traced predicate) inside a scan body is not supported on webgpu; use the cpu backend");
        steps.push({ kind: "scan", node: n, body, ins, outs: outsOf(body.outputs.length) });
      }
      continue;
    }
    const outSlot = program.slots[k.output]!;
    const what = `${k.ops.join("+")} of shape [${k.shape.join(", ")}]`;
    const bytes = outSlot.size * env.bytesOf(outSlot.dtype);
    env.checkSize(bytes, what, "buffer");
    const out = slot(k.output);
    if (bytes === 0) {
      steps.push({ kind: "alloc", out, bytes: 4 });
      continue;
    }
    const operands: Operand[] = k.inputs.map((s) => ({ size: program.slots[s]!.size, dtype: program.slots[s]!.dtype }));
    const outOp = { size: outSlot.size, dtype: outSlot.dtype };
    const check = (gen: WgslKernel): WgslKernel => {
      if (gen.bindings.length > maxIn) {
        throw new Error(
          `webgpu: a fused kernel (${k.ops.join(", ")}) reads ${gen.bindings.length} buffers, over this device's limit of ${maxIn} storage buffers per kernel (maxStorageBuffersPerShaderStage)`,
        );
      }
      return gen;
    };
    const opBytes = (o: Operand): number => o.size * env.bytesOf(o.dtype);
    if (bytes > env.bindLimit || operands.some((o) => opBytes(o) > env.bindLimit)) {
      steps.push(...splitKernel(k, operands, outOp, env, check, slot, out, bytes, what));
      continue;
    }
    const gen = check(kernelWgsl(k, operands, outOp, env.gen));
    steps.push({ kind: "kernel", spec: gen, ins: gen.bindings.map((i) => slot(k.inputs[i]!)), out, bytes, what });
  }
  // Every output gets its own buffer: a leaf, or a slot already returned as an earlier output (a
  // scan body whose carry is also its output), is copied, since callers own and free each output.
  const used = new Set<number>();
  const outSlots = program.outputs.map((ps) => {
    const s = slot(ps);
    if (s >= leaves.length && !used.has(s)) {
      used.add(s);
      return s;
    }
    const d = program.slots[ps]!;
    const out = numSlots++;
    steps.push({ kind: "copy", src: s, out, bytes: d.size * env.bytesOf(d.dtype) });
    return out;
  });
  const last = new Map<number, number>();
  steps.forEach((s, k) => {
    const call = s.kind === "scan" || s.kind === "while" || s.kind === "cond";
    const reads = s.kind === "kernel" || call ? s.ins : s.kind === "copy" ? [s.src] : [];
    for (const r of reads) last.set(r, k);
    const writes = call ? s.outs : [s.out];
    for (const w of writes) if (!last.has(w)) last.set(w, k);
  });
  const keep = new Set(outSlots);
  const frees: number[][] = steps.map(() => []);
  for (const [s, k] of last) if (s >= leaves.length && !keep.has(s)) frees[k]!.push(s);
  const outBytes = program.outputs.map((ps) => program.slots[ps]!.size * env.bytesOf(program.slots[ps]!.dtype));
  const async = steps.some((s) => s.kind === "while" || s.kind === "cond");
  return { leaves, numInputs: inputs.length, steps, frees, outputs: outSlots, outBytes, numSlots, async };
}

/**
 * The steps of a kernel whose output or an input is over the storage-binding limit, run in chunks
 * that each bind a part of the large buffers: an elementwise kernel that reads its large inputs
 * only at its own output index, or a (non-batched) matmul in blocks of output rows (A's rows
 * bound in parts, B whole, large epilogue inputs read at the output index). Anything else (a
 * reduction, a batched matmul, a view that reorders a large buffer) throws a clear error.
 */
function splitKernel(
  k: Kernel,
  operands: readonly Operand[],
  out: Operand,
  env: PlanEnv,
  check: (g: WgslKernel) => WgslKernel,
  slot: (s: number) => number,
  outSlot: number,
  bytes: number,
  what: string,
): Step[] {
  const opBytes = (o: Operand): number => o.size * env.bytesOf(o.dtype);
  const big = new Set(operands.flatMap((o, i) => (opBytes(o) > env.bindLimit ? [i] : [])));
  const body = k.kind === "elementwise" ? k.body : k.kind === "matmul" ? k.epilogue : [];
  const sameIndex = (pos: number): boolean =>
    operands[pos]!.size === out.size && body.every((i) => i.op !== "load" || i.input !== pos || (i.index.k === "var" && i.index.name === "oi"));
  const mm = k.kind === "matmul" && k.batch.every((d) => d === 1) && k.a.strides.every((x) => x >= 0) ? k : undefined;
  const chunkedA = mm && big.has(mm.a.input) && mm.a.input !== mm.b.input ? mm.a.input : undefined;
  const bad = [...big].find((p) => p !== chunkedA && !sameIndex(p));
  const fail = (): never => {
    env.checkSize(bad === undefined ? bytes : opBytes(operands[bad]!), bad === undefined ? what : `an input of ${what}`);
    throw new Error(`webgpu: ${what} is over this device's storage buffer limit and cannot be split`);
  };
  if ((k.kind !== "elementwise" && !mm) || bad !== undefined) return fail();
  const local = new Set([...big].filter((p) => p !== chunkedA));
  const eb = Math.max(env.bytesOf(out.dtype), ...[...local].map((p) => env.bytesOf(operands[p]!.dtype)));
  // Chunks of a multiple of 256 elements (rows for a matmul) keep binding offsets aligned.
  const room = env.bindLimit - 1024;
  let per: number;
  let rowsOf = 1;
  if (mm) {
    const r = mm.shape.length;
    const [ar, ac] = [mm.a.strides[r - 2]!, mm.a.strides[r - 1]!];
    const aeb = env.bytesOf(operands[mm.a.input]!.dtype);
    let rows = Math.floor(room / (mm.n * eb));
    if (chunkedA !== undefined) rows = Math.min(rows, Math.floor((room / aeb - (mm.k - 1) * ac) / Math.max(1, ar)));
    rows = Math.min(rows, env.gen.maxGroups * 32); // rows per dispatch (tiled: 32 or 64 per workgroup)
    rows = Math.floor(rows / 256) * 256;
    if (rows < 256) return fail();
    rowsOf = mm.n;
    per = rows * mm.n;
  } else per = Math.floor(room / eb / 256) * 256;
  const steps: Step[] = [{ kind: "alloc", out: outSlot, bytes, what }];
  const range = (d: DType, start: number, count: number): [number, number] => {
    const e = env.bytesOf(d);
    return [start * e, Math.ceil((count * e) / 4) * 4];
  };
  for (let base = 0; base < out.size; base += per) {
    const count = Math.min(per, out.size - base);
    const ranges = new Map<number, [number, number]>();
    for (const p of local) ranges.set(p, range(operands[p]!.dtype, base, count));
    const shift = new Map<number, number>();
    if (mm && chunkedA !== undefined) {
      const r = mm.shape.length;
      const [ar, ac] = [mm.a.strides[r - 2]!, mm.a.strides[r - 1]!];
      const row0 = base / rowsOf;
      const first = mm.a.offset + row0 * ar;
      const last = mm.a.offset + (row0 + count / rowsOf - 1) * ar + (mm.k - 1) * ac;
      const e = env.bytesOf(operands[chunkedA]!.dtype);
      const align = Math.max(1, env.align / e);
      const start = Math.floor(first / align) * align;
      shift.set(chunkedA, start);
      ranges.set(chunkedA, range(operands[chunkedA]!.dtype, start, last + 1 - start));
    }
    const gen = check(kernelWgsl(k, operands, out, env.gen, { base, count, local, shift }));
    steps.push({
      kind: "kernel",
      spec: gen,
      ins: gen.bindings.map((i) => slot(k.inputs[i]!)),
      out: outSlot,
      bytes,
      what,
      reuse: true,
      ranges: [...gen.bindings.map((i) => ranges.get(i)), range(out.dtype, base, count)],
    });
  }
  return steps;
}
