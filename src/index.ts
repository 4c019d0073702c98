/**
 * tenfold: functional, immutable tensors for TypeScript. Pure ops build a lazy graph; transforms
 * (grad, jvp, vjp, vmap, jit) are graph-to-graph; backends realize graphs when data is read.
 */
import "./backends/reference/index.js";
import "./backends/cpu/index.js";
import "./scheduler/lower.js";
import { registerBackendLoader } from "./core/backend.js";

// WebGPU is loaded on demand (`await setBackend("webgpu")`); `tenfold/webgpu` registers it too.
registerBackendLoader("webgpu", () => import("./backends/webgpu/index.js"));

export { Tensor, ConcretizationError, isTensor } from "./core/tensor.js";
export type { NestedArray } from "./core/tensor.js";
export type { DType, TypedArray } from "./core/dtype.js";
export { ShapeError, DTypeError, ValueError } from "./core/errors.js";
export { getBackend, setBackend, registerBackend, registerBackendLoader } from "./core/backend.js";
export type { Backend } from "./core/backend.js";
export { memoryStats, setMemoryBudget, memoryBudget, DeviceMemoryError } from "./core/memory.js";
export type { MemoryStats } from "./core/memory.js";
// The graph `makeGraph` returns (type only; the class, PRIMITIVES, META, SEMANTICS and other
// building blocks are in the unstable `tenfold/internals` entry).
export type { Graph } from "./core/graph.js";
export type { TensorLike } from "./ops/base.js";

export * from "./ops/creation.js";
export * from "./ops/elementwise.js";
export * from "./ops/reduce.js";
export * from "./ops/shape.js";
export * from "./ops/linalg.js";
export { conv, maxPool, avgPool } from "./ops/conv.js";
export type { Padding, ConvOptions, PoolOptions } from "./ops/conv.js";
export * from "./ops/conv-transpose.js";
export * from "./ops/index-update.js";
export * from "./ops/tri.js";
export * from "./ops/sort.js";
export { stopGradient } from "./ops/stopgrad.js";

export { jvp } from "./transforms/jvp.js";
export { vjp, grad, valueAndGrad } from "./transforms/vjp.js";
export type { GradOptions, GradTree, GradsOf, TensorTree, AuxOf } from "./transforms/vjp.js";
export { scan, customVjp, checkpoint } from "./transforms/control.js";
export { customJvp } from "./transforms/custom-jvp.js";
export { cond, switchCase, switch_, foriLoop, whileLoop } from "./transforms/cond.js";
export type { WhileLoopOptions } from "./transforms/cond.js";

export * as tree from "./core/tree.js";
export * as random from "./random/index.js";
export { vmap } from "./transforms/vmap.js";
export type { VmapOptions } from "./transforms/vmap.js";
export { jit, makeGraph } from "./transforms/jit.js";
export type { JitOptions, Jitted, JitStats } from "./transforms/jit.js";
export { JIT_CACHE_SIZE } from "./transforms/jit.js";
export { jacfwd, jacrev, hessian } from "./transforms/jac.js";
export { devicePut, devicePutAsync } from "./core/device.js";
export type { Lowered, KernelInfo } from "./scheduler/lower.js";
export * as optim from "./optim/index.js";
export * as nn from "./nn/index.js";
export { exportOnnx, OnnxExportError } from "./onnx/index.js";
export type { OnnxExportOptions } from "./onnx/index.js";
