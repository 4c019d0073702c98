/**
 * The sizes and limits of the CPU backend's compiled-kernel caches, in one place: the JS kernels
 * (codegen.ts), the Wasm SIMD kernels of the calling thread (simd.ts) and of each SIMD helper
 * thread (simd-threads.ts), and the Winograd conv kernels (winograd.ts). Every one is an LRU cache of a fixed number of entries; the SIMD
 * kernels' constant table (simd-ops.ts) holds only the lane code's own constants.
 */
import { KERNEL_CACHE_LIMIT, kernelCacheSize } from "./codegen.js";
import { CONST_BYTES, SIMD_CACHE_LIMIT, simdCacheSize, simdMemory } from "./simd.js";
import { constTableSize } from "./simd-lanes.js";
import { HELPER_CACHE_LIMIT, simdHelperCacheSizes } from "./simd-threads.js";
import { WINOGRAD_CACHE_LIMIT, winogradCacheSize } from "./winograd.js";

/** Entries and limits of the CPU backend's kernel caches. */
export interface CpuCacheStats {
  /** Compiled JS kernels (`new Function`), at most `jsKernelLimit`. */
  readonly jsKernels: number;
  readonly jsKernelLimit: number;
  /** Compiled Wasm SIMD kernels of the calling thread, at most `simdKernelLimit`. */
  readonly simdKernels: number;
  readonly simdKernelLimit: number;
  /** Compiled Wasm SIMD kernels of each SIMD helper thread (as of its last call), each at most `helperKernelLimit`. */
  readonly helperKernels: readonly number[];
  readonly helperKernelLimit: number;
  /** v128 constants of the SIMD kernels in their table at the start of the wasm memory (the lane code's own), at most `simdConstantLimit`. */
  readonly simdConstants: number;
  readonly simdConstantLimit: number;
  /** Compiled Winograd conv kernels (one per conv geometry, winograd.ts), at most `winogradKernelLimit`. */
  readonly winogradKernels: number;
  readonly winogradKernelLimit: number;
}

/**
 * Internal: the current entries and limits of the CPU backend's kernel caches (tests, diagnostics).
 *
 * @example
 * const s = cpuCacheStats();
 * console.log(s.simdKernels <= s.simdKernelLimit); // true
 */
export function cpuCacheStats(): CpuCacheStats {
  return {
    jsKernels: kernelCacheSize(),
    jsKernelLimit: KERNEL_CACHE_LIMIT,
    simdKernels: simdCacheSize(),
    simdKernelLimit: SIMD_CACHE_LIMIT,
    helperKernels: simdHelperCacheSizes(),
    helperKernelLimit: HELPER_CACHE_LIMIT,
    simdConstants: constTableSize(simdMemory()),
    simdConstantLimit: CONST_BYTES / 16,
    winogradKernels: winogradCacheSize(),
    winogradKernelLimit: WINOGRAD_CACHE_LIMIT,
  };
}
