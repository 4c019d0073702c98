/**
 * Matmul epilogues as Wasm SIMD kernels: the scheduler fuses the elementwise ops after a product
 * into the matmul kernel (its epilogue: a bias add, a ReLU's gradient mask), which the CPU gemm
 * applies in JS over the finished product, 2–6 ns per element. When the epilogue has SIMD lanes,
 * the CPU program runs the product into a temp of its own and the epilogue as the elementwise
 * kernel that follows it: the SIMD path then runs it in f32x4 lanes (the same float32 operations,
 * so the same bits, except transcendentals within their documented bounds) and joins it with the
 * SIMD kernels around it (a bias add and the ReLU after it become one pass).
 */
import type { ElementwiseKernel, Instr, Kernel, MatmulKernel, Program, Slot } from "../../scheduler/ir.js";
import { ivar } from "../../scheduler/ir.js";
import { sizeOf } from "../../core/shape.js";
import { simdMemory, simdPlan } from "./simd.js";

/** Matmul kernels whose epilogue ran as a kernel of its own (tests). */
export const splitStats = { split: 0 };

let enabled = true;
/** Whether programs compiled from now on split their matmul epilogues (tests compare both ways). */
export function setSplitEpilogues(on: boolean): void {
  enabled = on;
}

/** Whether matmul kernel k's epilogue is only the product itself. */
const plainEpilogue = (k: MatmulKernel): boolean => k.epilogue.length === 1 && k.epilogue[0]!.op === "acc";

/**
 * The program with each float matmul kernel (batched or not) whose epilogue has a SIMD plan split
 * into the product (into a new temp slot with its own pool buffer) and an elementwise kernel
 * computing the epilogue from it; the program itself when none is split (or without Wasm SIMD).
 * A product whose B operand the kernel before it produces stays whole (the gemm may pack B
 * while producing it: see matmulFusions).
 */
export function splitEpilogues(program: Program): Program {
  if (!enabled || !simdMemory()) return program;
  const slots: Slot[] = [...program.slots];
  const pool = [...program.pool];
  const kernels: Kernel[] = [];
  program.kernels.forEach((k, i) => {
    const prev = program.kernels[i - 1];
    if (
      k.kind !== "matmul" ||
      k.dtype !== "float32" ||
      plainEpilogue(k) ||
      k.inputs.some((s) => slots[s]!.dtype !== "float32") ||
      (prev?.kind === "elementwise" && prev.output === k.inputs[k.b.input])
    ) {
      kernels.push(k);
      return;
    }
    const size = sizeOf(k.shape);
    const product = slots.length;
    // the epilogue's own inputs (renumbered), then the product
    const used = [...new Set(k.epilogue.flatMap((x) => (x.op === "load" ? [x.input] : [])))];
    const body: Instr[] = k.epilogue.map((x) =>
      x.op === "acc"
        ? { op: "load", input: used.length, index: ivar("oi", size), dtype: "float32" }
        : x.op === "load"
          ? { ...x, input: used.indexOf(x.input) }
          : x,
    );
    const epi: ElementwiseKernel = {
      kind: "elementwise",
      inputs: [...used.map((j) => k.inputs[j]!), product],
      output: k.output,
      shape: k.shape,
      dtype: k.dtype,
      ops: k.ops.filter((o) => o !== "matmul"),
      body,
    };
    if (!simdPlan(epi)) {
      kernels.push(k);
      return;
    }
    slots.push({ kind: "temp", size, dtype: "float32", pool: pool.length });
    pool.push({ size, dtype: "float32" });
    kernels.push({ ...k, output: product, epilogue: [{ op: "acc", dtype: "float32" }], ops: ["matmul"] }, epi);
    splitStats.split++;
  });
  return kernels.length === program.kernels.length ? program : { ...program, slots, pool, kernels };
}
