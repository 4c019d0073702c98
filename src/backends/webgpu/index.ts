/**
 * Entry point of `tenfold/webgpu`: the WebGPU backend (loaded on demand).
 *
 * Placeholder entry point (scaffolding): the real exports land here.
 */
export {};
