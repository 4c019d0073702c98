/**
 * JS code of reduce kernels (see codegen.ts for the shared body emitter): each reduction is the
 * fold of its elementwise primitive. Two loop orders: output-major (for each output, the reduced
 * loops, the innermost one unrolled into partial accumulators), and, when the reduced axes are
 * the outer ones in memory (a column sum: `sum(x, {axis: 0})`, softmax over a leading axis), row
 * by row into an array of accumulators, so the input is read contiguously instead of with the
 * reduced stride (27 → 4 ms for a 4096×1024 column sum). The fold's order is unspecified in the
 * semantics (docs/semantics.md, "Reductions"), so both give the documented results.
 */
import type { DType } from "../../core/dtype.js";
import { isFloat } from "../../core/dtype.js";
import type { ReductionPrim } from "../../core/primitives.js";
import type { ReduceKernel } from "../../scheduler/ir.js";
import { affine } from "../../scheduler/ir.js";
import type { KernelFn } from "./codegen.js";
import { compile, emitBody, loops } from "./codegen.js";

/**
 * Each reduction as the fold of its elementwise primitive (core/semantics.ts): float sums and
 * products accumulate in float64 (rounded once at the store), int32 ones wrap, max/min propagate
 * NaN (once the accumulator is NaN no comparison replaces it).
 */
const FOLD: { readonly [P in ReductionPrim]: { readonly init: string; readonly step: (f: boolean, acc: string, v: string) => string } } = {
  sum: { init: "0", step: (f, acc, v) => (f ? `${acc} += ${v};` : `${acc} = (${acc} + ${v}) | 0;`) },
  prod: { init: "1", step: (f, acc, v) => (f ? `${acc} *= ${v};` : `${acc} = Math.imul(${acc}, ${v});`) },
  rmax: { init: "-Infinity", step: (_f, acc, v) => `if (${v} > ${acc} || ${v} !== ${v}) ${acc} = ${v};` },
  rmin: { init: "Infinity", step: (_f, acc, v) => `if (${v} < ${acc} || ${v} !== ${v}) ${acc} = ${v};` },
};

function combine(fn: ReductionPrim, d: DType, acc = "acc", v = "v"): string {
  return FOLD[fn].step(isFloat(d), acc, v);
}

/** Partial accumulators of an unrolled reduction's innermost loop. */
const UNROLL = 4;

/**
 * Compiles a reduce kernel: outer loops over the output, inner loops over the reduced dims. The
 * innermost reduced loop keeps UNROLL independent partial accumulators (so float sums are not
 * one serial dependency chain), merged after the loop.
 */
export function reduceFn(k: ReduceKernel): KernelFn {
  if (columnOrder(k)) return columnReduce(k);
  // The epilogue reads the reduced value as stored (float32 sums round once, then e.g. log).
  const epi = emitBody(k.epilogue, isFloat(k.accDtype) ? "fr(acc)" : "acc", "e");
  const red = k.reduceShape;
  let last = red.length - 1;
  while (last >= 0 && red[last] === 1) last--;
  const init = FOLD[k.fn].init;
  let perOut: string;
  if (last >= 0 && red[last]! >= 4 * UNROLL) {
    const v = `r${last}`;
    const n = red[last]!;
    const main = n - (n % UNROLL);
    const re = new RegExp(`\\b${v}\\b`, "g");
    const copies = Array.from({ length: UNROLL }, (_, j) => {
      const b = emitBody(k.body, "", `b${j}_`);
      const sub = (t: string): string => (j === 0 ? t : t.replace(re, `(${v} + ${j})`));
      return `${b.stmts.map(sub).join("\n")}\nconst v${j} = ${sub(b.result)};\n${combine(k.fn, k.accDtype, `a${j}`, `v${j}`)}`;
    });
    const one = emitBody(k.body, "", "b_");
    const unrolled =
      `for (let ${v} = 0; ${v} < ${main}; ${v} += ${UNROLL}) {\n${copies.join("\n")}\n}\n` +
      (main < n
        ? `for (let ${v} = ${main}; ${v} < ${n}; ${v}++) {\n${one.stmts.join("\n")}\nconst v = ${one.result};\n${combine(k.fn, k.accDtype, "a0")}\n}`
        : "");
    const outer = loops(red.slice(0, last), "r", unrolled);
    const accs = Array.from({ length: UNROLL }, (_, j) => `a${j} = ${init}`).join(", ");
    const fold = Array.from({ length: UNROLL - 1 }, (_, j) => combine(k.fn, k.accDtype, "acc", `a${j + 1}`)).join("\n");
    perOut = `let ${accs};\n${outer}\nlet acc = a0;\n${fold}\n${epi.stmts.join("\n")}\nout[oi] = ${epi.result}; oi++;`;
  } else {
    const body = emitBody(k.body, "", "b");
    const inner = `${body.stmts.join("\n")}\nconst v = ${body.result};\n${combine(k.fn, k.accDtype)}`;
    perOut = `let acc = ${init};\n${loops(red, "r", inner)}\n${epi.stmts.join("\n")}\nout[oi] = ${epi.result}; oi++;`;
  }
  return compile(k.inputs.length, `let oi = 0;\n${loops(k.shape, "o", perOut)}`);
}

/** Most outputs reduced row by row (their accumulators: 8 bytes each). */
const COLUMN_MAX_OUT = 1 << 20;

/** Smallest input (outputs × reduced elements) reduced row by row. */
let columnMin = 1 << 16;

/** Sets the smallest input reduced row by row (tests lower it to exercise the order on small inputs). */
export function setColumnReduceMin(n: number): void {
  columnMin = n;
}

/**
 * Whether a reduce kernel reads its input with a large stride along the innermost reduced loop
 * and contiguously along the innermost output loop (so swapping the loops reads memory in order).
 */
function columnOrder(k: ReduceKernel): boolean {
  const n = k.shape.reduce((a, b) => a * b, 1);
  const m = k.reduceShape.reduce((a, b) => a * b, 1);
  // Only where it pays for the accumulator array: many reduced elements per output, and an input
  // past the L2 cache (a small one is read fast in any order; a bias gradient stays output-major).
  if (n < 4 || n > COLUMN_MAX_OUT || m < 16 || n * m < columnMin) return false;
  let o = k.shape.length - 1;
  while (o >= 0 && k.shape[o] === 1) o--;
  let r = k.reduceShape.length - 1;
  while (r >= 0 && k.reduceShape[r] === 1) r--;
  if (o < 0 || r < 0) return false;
  let strided = false;
  for (const i of k.body) {
    if (i.op !== "load") continue;
    const a = affine(i.index);
    if (!a) return false;
    const co = a.coef.get(`o${o}`) ?? 0;
    const cr = Math.abs(a.coef.get(`r${r}`) ?? 0);
    if (co !== 0 && co !== 1) return false;
    if (co === 1 && cr >= 8) strided = true;
  }
  return strided;
}

/** A reduce kernel row by row: every output's accumulator in an array, the reduced loops outside. */
function columnReduce(k: ReduceKernel): KernelFn {
  const n = k.shape.reduce((a, b) => a * b, 1);
  const body = emitBody(k.body, "", "b");
  const step = `${body.stmts.join("\n")}\nconst v = ${body.result};\n${combine(k.fn, k.accDtype, "A[oi]")}\noi++;`;
  const rows = loops(k.reduceShape, "r", `let oi = 0;\n${loops(k.shape, "o", step)}`);
  const epi = emitBody(k.epilogue, isFloat(k.accDtype) ? "fr(acc)" : "acc", "e");
  const store = loops(k.shape, "o", `const acc = A[oi];\n${epi.stmts.join("\n")}\nout[oi] = ${epi.result}; oi++;`);
  return compile(k.inputs.length, `const A = new Float64Array(${n}).fill(${FOLD[k.fn].init});\n${rows}\nlet oi = 0;\n${store}`);
}
