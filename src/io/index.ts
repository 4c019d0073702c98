/**
 * Entry point of `tenfold/io`: checkpoints (`save`/`load` of any pytree to a file, atomic),
 * safetensors and `.npy` bytes, and PyTorch/Flax name mapping. Savers of bytes return bytes and
 * loaders take bytes (read and write files with `node:fs` or `fetch`); a truncated or corrupt
 * file throws an `IoError` and loads nothing.
 */
export { IoError } from "./common.js";
export { saveSafetensors, loadSafetensors, safetensorsMetadata } from "./safetensors.js";
export type { SaveSafetensorsOptions } from "./safetensors.js";
export { save, load, checkpointBytes, loadCheckpointBytes } from "./checkpoint.js";
export type { SaveOptions } from "./checkpoint.js";
export { saveNpy, loadNpy } from "./npy.js";
