/**
 * The core surface nn builds on, re-exported from the defining modules rather than from the
 * package entry (src/index.ts re-exports nn, so importing it here would be an import cycle).
 */
import "../backends/reference/index.js";
import "../backends/cpu/index.js";

export { Tensor } from "../core/tensor.js";
export type { DType } from "../core/dtype.js";
export type { TensorLike } from "../ops/base.js";
export { asTensor } from "../ops/base.js";
export { ShapeError } from "../core/errors.js";
export * from "../ops/creation.js";
export * from "../ops/elementwise.js";
export * from "../ops/reduce.js";
export * from "../ops/shape.js";
export * from "../ops/linalg.js";
export * from "../ops/conv.js";
export * from "../ops/conv-transpose.js";
export { stopGradient } from "../ops/stopgrad.js";
export { scan } from "../transforms/control.js";
export { customJvp } from "../transforms/custom-jvp.js";
export * as tree from "../core/tree.js";
export * as random from "../random/index.js";
export { ValueError, DTypeError } from "../core/errors.js";
export { checkLabels } from "../ops/base.js";
