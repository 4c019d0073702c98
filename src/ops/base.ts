/**
 * Shared plumbing of the ops layer: turning numbers into constants (weak typing), applying
 * primitives, implicit broadcasting and dtype promotion.
 */
import type { DType } from "../core/dtype.js";
import { isFloat, promoteTypes, weakScalarDType } from "../core/dtype.js";
import { DTypeError, ValueError, fmtShape } from "../core/errors.js";
import { makeNode, refreshDepth } from "../core/node.js";
import type { Node } from "../core/node.js";
import type { Params, Primitive } from "../core/primitives.js";
import type { Shape } from "../core/shape.js";
import { broadcastShapes, shapeEq } from "../core/shape.js";
import { Tensor } from "../core/tensor.js";

/** Anything an op accepts where a tensor goes: a Tensor, or a plain number/boolean. */
export type TensorLike = Tensor | number | boolean;

/** Applies a primitive to tensors (shape/dtype inference runs now). */
export function bind<P extends Primitive>(prim: P, params: Params<P>, inputs: readonly Tensor[]): Tensor {
  const t = new Tensor(
    makeNode(
      prim,
      params,
      inputs.map((x) => x.node),
    ),
  );
  // A concrete lazy chain this deep (e.g. a long loop that never reads its result) is realized
  // now, so pending graphs cannot grow without bound. The depth recorded at build time counts
  // inputs realized since (an eager training step reads its loss, which realizes the parameters
  // that the next step's pending update was built on), so it is recomputed before realizing.
  if (t.node.depth > MAX_LAZY_DEPTH && !t.node.traced && refreshDepth(t.node) > MAX_LAZY_DEPTH) t.realize();
  return t;
}

/** Depth at which a concrete pending graph is realized eagerly. */
export const MAX_LAZY_DEPTH = 2000;

/** A scalar constant node of a dtype. */
export function constant(value: number, dtype: DType): Tensor {
  const v = dtype === "bool" ? (value ? 1 : 0) : dtype === "int32" ? Math.trunc(value) | 0 : value;
  return bind("const", { value: dtype === "float32" ? Math.fround(v) : v, dtype }, []);
}

/** Whether `x` is a tensor. */
export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}

/** Converts a TensorLike to a Tensor (numbers become float32 scalars; booleans bool). */
export function asTensor(x: TensorLike, op = "op"): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === "number") return constant(x, "float32");
  if (typeof x === "boolean") return constant(x ? 1 : 0, "bool");
  throw new DTypeError(`${op}: expected a Tensor or a number, got ${describe(x)}`);
}

/** A short description of a value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array (wrap it with tensor(...))";
  return typeof x;
}

/** Casts when needed. */
export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : bind("cast", { dtype }, [x]);
}

/** Broadcasts `x` to `shape` with reshape + expand views. */
export function broadcastTo_(x: Tensor, shape: Shape): Tensor {
  if (shapeEq(x.shape, shape)) return x;
  const lead = shape.length - x.ndim;
  const padded = [...new Array<number>(lead).fill(1), ...x.shape];
  const r = x.ndim === padded.length ? x : bind("reshape", { shape: padded }, [x]);
  return shapeEq(padded, shape) ? r : bind("broadcast", { shape: [...shape] }, [r]);
}

/**
 * The common dtype of operands, with weak-typed numbers: a number takes the tensor's dtype when it
 * fits that kind (see core/dtype.ts).
 */
export function resultDType(xs: readonly TensorLike[]): DType {
  const tensors = xs.filter((x): x is Tensor => x instanceof Tensor);
  let d: DType | undefined;
  for (const t of tensors) d = d ? promoteTypes(d, t.dtype) : t.dtype;
  if (!d) {
    // only plain values: bool if all booleans, else float32
    return xs.every((x) => typeof x === "boolean") ? "bool" : "float32";
  }
  for (const x of xs) if (!(x instanceof Tensor)) d = promoteTypes(d, weakScalarDType(x, d));
  return d;
}

/** Converts operands to one dtype and one broadcast shape. */
export function align(op: string, xs: readonly TensorLike[], dtype?: DType): Tensor[] {
  for (const x of xs)
    if (!(x instanceof Tensor) && typeof x !== "number" && typeof x !== "boolean") {
      throw new DTypeError(`${op}: expected a Tensor or a number, got ${describe(x)}`);
    }
  const d = dtype ?? resultDType(xs);
  const ts = xs.map((x) => (x instanceof Tensor ? cast(x, d) : constant(typeof x === "boolean" ? Number(x) : x, d)));
  const shape = broadcastShapes(op, ...ts.map((t) => t.shape));
  return ts.map((t) => broadcastTo_(t, shape));
}

/** Throws a DTypeError unless `x` is a float tensor. */
export function requireFloat(op: string, x: Tensor): void {
  if (!isFloat(x.dtype)) throw new DTypeError(`${op}: expected a float tensor, got ${x.dtype} (use astype(x, "float32"))`);
}

/** The float dtype an op computes in (int/bool inputs promote to float32). */
export function floatOf(x: Tensor): Tensor {
  return isFloat(x.dtype) ? x : cast(x, "float32");
}

/** Formats shapes for messages. */
export function shapes(...ts: Tensor[]): string {
  return ts.map((t) => fmtShape(t.shape)).join(" and ");
}

/** The node of a tensor (internal). */
export function nodeOf(t: Tensor): Node {
  return t.node;
}

/**
 * Checks integer labels/indices at the call (computing them if they are lazy, on a backend with
 * synchronous reads): each must be a whole number in `[0, n)` (NaN, fractions, negatives and
 * `>= n` throw a ValueError naming the public function and the argument). Traced values (inside
 * grad/jit/vmap) are abstract and cannot be checked.
 */
export function checkLabels(op: string, arg: string, labels: Tensor, n: number): void {
  if (labels.node.traced || labels.dtype === "bool") return;
  let data: ArrayLike<number>;
  try {
    data = labels.dataSync();
  } catch {
    return; // a device buffer without synchronous reads
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw new ValueError(`${op}: ${arg} must be whole numbers in [0, ${n}), got ${v} at flat index ${i} (shape ${fmtShape(labels.shape)})`);
    }
  }
}
