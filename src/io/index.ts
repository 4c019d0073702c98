/**
 * Entry point of `tenfold/io`: safetensors and `.npy` save/load.
 *
 * Placeholder entry point (scaffolding): the real exports land here.
 */
export {};
