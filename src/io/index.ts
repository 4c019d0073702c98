/**
 * Entry point of `tenfold/io`: safetensors and `.npy` save/load. Savers return bytes and loaders
 * take bytes (read and write files with `node:fs` or `fetch`); a truncated or corrupt file throws
 * an `IoError` and loads nothing.
 */
export { IoError } from "./common.js";
export { saveSafetensors, loadSafetensors, safetensorsMetadata } from "./safetensors.js";
export type { SaveSafetensorsOptions } from "./safetensors.js";
export { saveNpy, loadNpy } from "./npy.js";
