/**
 * `tenfold/internals`: the library's building blocks for tools, tests and backend authors.
 * UNSTABLE: anything here may change in any release (including patch releases) without notice;
 * application code should use the root `tenfold` entry. Holds the primitive list and its
 * algebraic metadata, the `Graph` class behind `makeGraph`, and padding resolution for convs.
 */

export { Graph } from "./core/graph.js";
export { PRIMITIVES, META } from "./core/primitives.js";
export type { Primitive, PrimMeta } from "./core/primitives.js";
export { resolvePadding } from "./ops/conv.js";
export { formatTensor, SUMMARY_THRESHOLD, EDGE_ITEMS } from "./core/inspect.js";
export { SEMANTICS, scalarFn } from "./core/semantics.js";
export { cpuCacheStats } from "./backends/cpu/cache-stats.js";
export { cpuNative } from "./backends/cpu/program.js";
export { winogradEligible, winogradStats, WINOGRAD_CACHE_LIMIT } from "./backends/cpu/winograd.js";
