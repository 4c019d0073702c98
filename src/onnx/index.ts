/** `tenfold/onnx`: export traced functions as ONNX models. */
export { exportOnnx, OnnxExportError } from "./export.js";
export type { OnnxExportOptions } from "./export.js";
