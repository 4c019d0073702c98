/**
 * Errors raised when an op is called with bad input. Thrown from the op's call site (shape and
 * dtype inference run when a node is built), naming the op, the shapes or dtypes and the axis.
 */

/**
 * A shape mismatch: broadcasting, matmul inner dimensions, reshape sizes, axes out of range.
 * @example
 * ```ts
 * import { add, zeros, ShapeError } from "tenfold";
 * try { add(zeros([2, 3]), zeros([4])); } catch (e) { console.log(e instanceof ShapeError); } // true
 * ```
 */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/**
 * A dtype the op cannot take, e.g. `exp` of an int32 tensor or a float index.
 * @example
 * ```ts
 * import { take, tensor, DTypeError } from "tenfold";
 * try { take(tensor([1, 2]), tensor([0.5])); } catch (e) { console.log(e instanceof DTypeError); } // true
 * ```
 */
export class DTypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DTypeError";
  }
}

/**
 * A value the op cannot take although its shape and dtype are fine: a class label outside
 * `[0, numClasses)`, a fractional or NaN index, a number that does not fit the dtype. It extends
 * the built-in `RangeError`.
 * @example
 * ```ts
 * import { nn, tensor, ValueError } from "tenfold";
 * try { nn.oneHot(tensor([3], { dtype: "int32" }), 3); } catch (e) { console.log(e instanceof ValueError); } // true
 * ```
 */
export class ValueError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "ValueError";
  }
}

/** Formats a shape as `[2, 3]` for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Exhaustiveness helper for `switch` statements. */
export function assertNever(x: never, what = "value"): never {
  throw new Error(`unexpected ${what}: ${String(x)}`);
}
