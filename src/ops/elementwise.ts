/**
 * Elementwise ops (NumPy broadcasting, weak-typed numbers), composed from the unary, binary,
 * `where` and `cast` primitives.
 */
import type { DType } from "../core/dtype.js";
import { checkDType, isFloat } from "../core/dtype.js";
import { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { align, asTensor, bind, broadcastTo_, cast, constant, floatOf, resultDType } from "./base.js";
import { broadcastShapes } from "../core/shape.js";
import type { UnaryPrim } from "../core/primitives.js";

function unaryFloat(prim: UnaryPrim, op: string): (x: TensorLike) => Tensor {
  return (x) => bind(prim, {}, [floatOf(asTensor(x, op))]);
}

/**
 * Elementwise sum with broadcasting.
 * @example
 * ```ts
 * import { add, tensor } from "tenfold";
 * console.log(add(tensor([1, 2]), 10).arraySync()); // [11, 12]
 * ```
 */
export function add(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = align("add", [a, b]);
  return bind("add", {}, [x!, y!]);
}

/**
 * Elementwise difference `a - b`.
 * @example
 * ```ts
 * import { subtract, tensor } from "tenfold";
 * console.log(subtract(tensor([5, 7]), tensor([1, 2])).arraySync()); // [4, 5]
 * ```
 */
export function subtract(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = align("subtract", [a, b]);
  return bind("add", {}, [x!, bind("neg", {}, [y!])]);
}

/**
 * Elementwise product.
 * @example
 * ```ts
 * import { multiply, tensor } from "tenfold";
 * console.log(multiply(tensor([1, 2]), tensor([[3], [4]])).arraySync()); // [[3, 6], [4, 8]]
 * ```
 */
export function multiply(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = align("multiply", [a, b]);
  return bind("mul", {}, [x!, y!]);
}

/**
 * True division (integers promote to float32).
 * @example
 * ```ts
 * import { divide, tensor } from "tenfold";
 * console.log(divide(tensor([1, 3], { dtype: "int32" }), 2).arraySync()); // [0.5, 1.5]
 * ```
 */
export function divide(a: TensorLike, b: TensorLike): Tensor {
  const d = resultDType([a, b]);
  const [x, y] = align("divide", [a, b], isFloat(d) ? d : "float32");
  return bind("div", {}, [x!, y!]);
}

/**
 * Elementwise power `a ** b`.
 * @example
 * ```ts
 * import { pow, tensor } from "tenfold";
 * console.log(pow(tensor([2, 3]), 2).arraySync()); // [4, 9]
 * ```
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = align("pow", [a, b]);
  return bind("pow", {}, [x!, y!]);
}

/**
 * Elementwise maximum (NaN propagates).
 * @example
 * ```ts
 * import { maximum, tensor } from "tenfold";
 * console.log(maximum(tensor([1, 5]), 3).arraySync()); // [3, 5]
 * ```
 */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = align("maximum", [a, b]);
  return bind("max", {}, [x!, y!]);
}

/**
 * Elementwise minimum (NaN propagates).
 * @example
 * ```ts
 * import { minimum, tensor } from "tenfold";
 * console.log(minimum(tensor([1, 5]), 3).arraySync()); // [1, 3]
 * ```
 */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = align("minimum", [a, b]);
  return bind("min", {}, [x!, y!]);
}

/**
 * Elementwise negation.
 * @example
 * ```ts
 * import { negative, tensor } from "tenfold";
 * console.log(negative(tensor([1, -2])).arraySync()); // [-1, 2]
 * ```
 */
export function negative(x: TensorLike): Tensor {
  return bind("neg", {}, [asTensor(x, "negative")]);
}

/**
 * Absolute value.
 * @example
 * ```ts
 * import { abs, tensor } from "tenfold";
 * console.log(abs(tensor([-1.5, 2])).arraySync()); // [1.5, 2]
 * ```
 */
export function abs(x: TensorLike): Tensor {
  const t = asTensor(x, "abs");
  if (t.dtype === "bool") return t;
  return bind("where", {}, [less(t, 0), bind("neg", {}, [t]), t]);
}

/**
 * Sign: -1, 0 or 1 (NaN stays NaN).
 * @example
 * ```ts
 * import { sign, tensor } from "tenfold";
 * console.log(sign(tensor([-3, 0, 2])).arraySync()); // [-1, 0, 1]
 * ```
 */
export function sign(x: TensorLike): Tensor {
  const t = asTensor(x, "sign");
  const [one, mone] = [constant(1, t.dtype), constant(-1, t.dtype)];
  return where(greater(t, 0), one, where(less(t, 0), mone, multiply(t, 0)));
}

/**
 * Exponential.
 * @example
 * ```ts
 * import { exp, tensor } from "tenfold";
 * console.log(exp(tensor([0])).arraySync()); // [1]
 * ```
 */
export const exp: (x: TensorLike) => Tensor = unaryFloat("exp", "exp");
/**
 * Natural logarithm (log of a negative number is NaN, log 0 is -Infinity).
 * @example
 * ```ts
 * import { log, tensor } from "tenfold";
 * console.log(log(tensor([1])).arraySync()); // [0]
 * ```
 */
export const log: (x: TensorLike) => Tensor = unaryFloat("log", "log");
/**
 * `log(1 + x)`, accurate for small x.
 * @example
 * ```ts
 * import { log1p, tensor } from "tenfold";
 * console.log(log1p(tensor([0])).arraySync()); // [0]
 * ```
 */
export const log1p: (x: TensorLike) => Tensor = unaryFloat("log1p", "log1p");
/**
 * `exp(x) - 1`, accurate for small x.
 * @example
 * ```ts
 * import { expm1, tensor } from "tenfold";
 * console.log(expm1(tensor([0])).arraySync()); // [0]
 * ```
 */
export const expm1: (x: TensorLike) => Tensor = unaryFloat("expm1", "expm1");
/**
 * Square root.
 * @example
 * ```ts
 * import { sqrt, tensor } from "tenfold";
 * console.log(sqrt(tensor([4, 9])).arraySync()); // [2, 3]
 * ```
 */
export const sqrt: (x: TensorLike) => Tensor = unaryFloat("sqrt", "sqrt");
/**
 * Sine.
 * @example
 * ```ts
 * import { sin, tensor } from "tenfold";
 * console.log(sin(tensor([0])).arraySync()); // [0]
 * ```
 */
export const sin: (x: TensorLike) => Tensor = unaryFloat("sin", "sin");
/**
 * Cosine.
 * @example
 * ```ts
 * import { cos, tensor } from "tenfold";
 * console.log(cos(tensor([0])).arraySync()); // [1]
 * ```
 */
export const cos: (x: TensorLike) => Tensor = unaryFloat("cos", "cos");
/**
 * Hyperbolic tangent.
 * @example
 * ```ts
 * import { tanh, tensor } from "tenfold";
 * console.log(tanh(tensor([0])).arraySync()); // [0]
 * ```
 */
export const tanh: (x: TensorLike) => Tensor = unaryFloat("tanh", "tanh");
/**
 * The error function. Below |x| = 2^-12 it is the series `(2/√π)(x - x³/3)`, so it keeps its
 * relative accuracy for tiny arguments (`erf(1e-30)` = 1.128e-30).
 * @example
 * ```ts
 * import { erf, tensor } from "tenfold";
 * console.log(erf(tensor([0])).arraySync()); // [0]
 * ```
 */
export function erf(x: TensorLike): Tensor {
  const t = floatOf(asTensor(x, "erf"));
  const small = less(abs(t), 2 ** -12);
  const ts = where(small, t, 0);
  const series = multiply(multiply(ts, 2 / Math.sqrt(Math.PI)), subtract(1, divide(multiply(ts, ts), 3)));
  return where(small, series, bind("erf", {}, [t]));
}

/**
 * `1 / sqrt(x)`.
 * @example
 * ```ts
 * import { rsqrt, tensor } from "tenfold";
 * console.log(rsqrt(tensor([4])).arraySync()); // [0.5]
 * ```
 */
export function rsqrt(x: TensorLike): Tensor {
  return divide(1, sqrt(x));
}

/**
 * `x * x`.
 * @example
 * ```ts
 * import { square, tensor } from "tenfold";
 * console.log(square(tensor([3])).arraySync()); // [9]
 * ```
 */
export function square(x: TensorLike): Tensor {
  const t = asTensor(x, "square");
  return bind("mul", {}, [t, t]);
}

/**
 * Tangent.
 * @example
 * ```ts
 * import { tan, tensor } from "tenfold";
 * console.log(tan(tensor([0])).arraySync()); // [0]
 * ```
 */
export function tan(x: TensorLike): Tensor {
  return divide(sin(x), cos(x));
}

/**
 * Round down (integers are unchanged).
 * @example
 * ```ts
 * import { floor, tensor } from "tenfold";
 * console.log(floor(tensor([1.5, -1.5])).arraySync()); // [1, -2]
 * ```
 */
export function floor(x: TensorLike): Tensor {
  const t = asTensor(x, "floor");
  return isFloat(t.dtype) ? bind("floor", {}, [t]) : t;
}

/**
 * Round up.
 * @example
 * ```ts
 * import { ceil, tensor } from "tenfold";
 * console.log(ceil(tensor([1.5, -1.5])).arraySync()); // [2, -1]
 * ```
 */
export function ceil(x: TensorLike): Tensor {
  const t = asTensor(x, "ceil");
  return isFloat(t.dtype) ? negative(bind("floor", {}, [negative(t)])) : t;
}

/**
 * Round half to even (NumPy's rule).
 * @example
 * ```ts
 * import { round, tensor } from "tenfold";
 * console.log(round(tensor([0.5, 1.5, 2.4])).arraySync()); // [0, 2, 2]
 * ```
 */
export function round(x: TensorLike): Tensor {
  const t = asTensor(x, "round");
  return isFloat(t.dtype) ? bind("round", {}, [t]) : t;
}

/**
 * Limits values to `[min, max]` (either bound optional).
 * @example
 * ```ts
 * import { clip, tensor } from "tenfold";
 * console.log(clip(tensor([-2, 0.5, 3]), { min: 0, max: 1 }).arraySync()); // [0, 0.5, 1]
 * ```
 */
export function clip(x: TensorLike, opts: { min?: TensorLike; max?: TensorLike } = {}): Tensor {
  let t = asTensor(x, "clip");
  if (opts.min !== undefined) t = maximum(t, opts.min);
  if (opts.max !== undefined) t = minimum(t, opts.max);
  return t;
}

/**
 * Picks `a` where `cond` is true, else `b` (broadcasting all three).
 * @example
 * ```ts
 * import { where, tensor } from "tenfold";
 * console.log(where(tensor([true, false]), 1, tensor([5, 6])).arraySync()); // [1, 6]
 * ```
 */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const c = cast(asTensor(cond, "where"), "bool");
  const d = resultDType([a, b]);
  const x = a instanceof Tensor ? cast(a, d) : constant(Number(a), d);
  const y = b instanceof Tensor ? cast(b, d) : constant(Number(b), d);
  const shape = broadcastShapes("where", c.shape, x.shape, y.shape);
  return bind("where", {}, [broadcastTo_(c, shape), broadcastTo_(x, shape), broadcastTo_(y, shape)]);
}

function compare(prim: "eq" | "ne" | "lt" | "le", op: string, swap: boolean) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    const [x, y] = align(op, [a, b]);
    return swap ? bind(prim, {}, [y!, x!]) : bind(prim, {}, [x!, y!]);
  };
}

/**
 * `a == b` elementwise (bool).
 * @example
 * ```ts
 * import { equal, tensor } from "tenfold";
 * console.log(equal(tensor([1, 2]), 2).arraySync()); // [false, true]
 * ```
 */
export const equal: (a: TensorLike, b: TensorLike) => Tensor = compare("eq", "equal", false);
/**
 * `a != b` elementwise (bool).
 * @example
 * ```ts
 * import { notEqual, tensor } from "tenfold";
 * console.log(notEqual(tensor([1, 2]), 2).arraySync()); // [true, false]
 * ```
 */
export const notEqual: (a: TensorLike, b: TensorLike) => Tensor = compare("ne", "notEqual", false);
/**
 * `a < b` elementwise (bool).
 * @example
 * ```ts
 * import { less, tensor } from "tenfold";
 * console.log(less(tensor([1, 2]), 2).arraySync()); // [true, false]
 * ```
 */
export const less: (a: TensorLike, b: TensorLike) => Tensor = compare("lt", "less", false);
/**
 * `a <= b` elementwise (bool).
 * @example
 * ```ts
 * import { lessEqual, tensor } from "tenfold";
 * console.log(lessEqual(tensor([1, 3]), 2).arraySync()); // [true, false]
 * ```
 */
export const lessEqual: (a: TensorLike, b: TensorLike) => Tensor = compare("le", "lessEqual", false);
/**
 * `a > b` elementwise (bool).
 * @example
 * ```ts
 * import { greater, tensor } from "tenfold";
 * console.log(greater(tensor([1, 3]), 2).arraySync()); // [false, true]
 * ```
 */
export const greater: (a: TensorLike, b: TensorLike) => Tensor = compare("lt", "greater", true);
/**
 * `a >= b` elementwise (bool).
 * @example
 * ```ts
 * import { greaterEqual, tensor } from "tenfold";
 * console.log(greaterEqual(tensor([1, 2]), 2).arraySync()); // [false, true]
 * ```
 */
export const greaterEqual: (a: TensorLike, b: TensorLike) => Tensor = compare("le", "greaterEqual", true);

function asBool(x: TensorLike, op: string): Tensor {
  return cast(asTensor(x, op), "bool");
}

/**
 * Logical and (operands are converted to bool).
 * @example
 * ```ts
 * import { logicalAnd, tensor } from "tenfold";
 * console.log(logicalAnd(tensor([true, true]), tensor([true, false])).arraySync()); // [true, false]
 * ```
 */
export function logicalAnd(a: TensorLike, b: TensorLike): Tensor {
  return where(asBool(a, "logicalAnd"), asBool(b, "logicalAnd"), false);
}

/**
 * Logical or.
 * @example
 * ```ts
 * import { logicalOr, tensor } from "tenfold";
 * console.log(logicalOr(tensor([false, false]), tensor([true, false])).arraySync()); // [true, false]
 * ```
 */
export function logicalOr(a: TensorLike, b: TensorLike): Tensor {
  return where(asBool(a, "logicalOr"), true, asBool(b, "logicalOr"));
}

/**
 * Logical not.
 * @example
 * ```ts
 * import { logicalNot, tensor } from "tenfold";
 * console.log(logicalNot(tensor([true, false])).arraySync()); // [false, true]
 * ```
 */
export function logicalNot(x: TensorLike): Tensor {
  const b = asBool(x, "logicalNot");
  return bind("eq", {}, [b, broadcastTo_(constant(0, "bool"), b.shape)]);
}

/**
 * NaN test.
 * @example
 * ```ts
 * import { isnan, tensor } from "tenfold";
 * console.log(isnan(tensor([NaN, 1])).arraySync()); // [true, false]
 * ```
 */
export function isnan(x: TensorLike): Tensor {
  const t = asTensor(x, "isnan");
  return bind("ne", {}, [t, t]);
}

/**
 * Finite test (false for NaN and ±Infinity).
 * @example
 * ```ts
 * import { isfinite, tensor } from "tenfold";
 * console.log(isfinite(tensor([Infinity, NaN, 1])).arraySync()); // [false, false, true]
 * ```
 */
export function isfinite(x: TensorLike): Tensor {
  const t = asTensor(x, "isfinite");
  if (!isFloat(t.dtype)) return broadcastTo_(constant(1, "bool"), t.shape);
  return less(abs(t), Infinity);
}

/**
 * Converts to another dtype (float to int truncates toward zero; NaN becomes 0).
 * @example
 * ```ts
 * import { astype, tensor } from "tenfold";
 * console.log(astype(tensor([1.7, -1.7]), "int32").arraySync()); // [1, -1]
 * ```
 */
export function astype(x: TensorLike, dtype: DType): Tensor {
  return cast(asTensor(x, "astype"), checkDType(dtype, "astype"));
}

export { Tensor };
