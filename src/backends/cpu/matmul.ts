/**
 * The CPU matmul, in three modules: JS kernels (matmul-js.ts), the Wasm SIMD gemm with its helper
 * threads (matmul-simd.ts) and the table gemm of implicit im2col (matmul-table.ts).
 */
export * from "./matmul-js.js";
export * from "./matmul-simd.js";
export * from "./matmul-table.js";
