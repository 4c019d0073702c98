/**
 * The schedule of a graph as users see it (`jit(f).lower(...)`): the graph is optimized
 * (inlining, simplification, constant folding), fused and scheduled into kernels of the kernel
 * IR (src/scheduler/ir.ts); each kernel lists the primitives fused into it.
 */
import type { Graph } from "../core/graph.js";
import { registerLowering } from "../core/backend.js";
import type { Kernel, Program } from "./ir.js";
import { optimizeGraph } from "./passes.js";
import { scheduleGraph } from "./schedule.js";

/** One kernel of a schedule. */
export interface KernelInfo {
  /** A short name, e.g. `k3_add_exp`. */
  readonly name: string;
  /** The primitives fused into this kernel, in order. */
  readonly ops: readonly string[];
  /** Output shape and dtype. */
  readonly shape: readonly number[];
  readonly dtype: string;
  /** elementwise, reduce, matmul or opaque. */
  readonly kind: Kernel["kind"];
}

/** An optimized schedule. */
export interface Lowered {
  readonly kernels: readonly KernelInfo[];
  /** The optimized graph. */
  readonly graph: Graph;
  /** The kernel-IR program (what backends compile). */
  readonly program: Program;
  toString(): string;
}

/**
 * Lowers a graph to a schedule.
 * @example
 * ```ts
 * import { jit, exp, sum, tensor } from "tenfold";
 * const lowered = jit((x) => sum(exp(x))).lower(tensor([1, 2, 3]));
 * console.log(lowered.kernels.length, lowered.kernels[0]?.ops); // 1 ["exp", "sum"]
 * ```
 */
export function lowerGraph(graph: Graph): Lowered {
  const g = optimizeGraph(graph);
  const program = scheduleGraph(g);
  const kernels: KernelInfo[] = program.kernels.map((k, i) => ({
    name: `k${i}_${k.ops.slice(0, 4).join("_")}`,
    ops: k.ops,
    shape: k.shape,
    dtype: k.dtype,
    kind: k.kind,
  }));
  const bufs = program.pool.length;
  return {
    kernels,
    graph: g,
    program,
    toString: () =>
      [
        ...kernels.map((k) => `${k.name} [${k.kind}]: ${k.ops.join(" -> ")} => ${k.dtype}[${k.shape.join(",")}]`),
        `(${kernels.length} kernels, ${bufs} pooled intermediate buffers)`,
      ].join("\n"),
  };
}

registerLowering(lowerGraph);
