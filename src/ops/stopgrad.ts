/** `stopGradient`: the identity whose derivative is zero. */
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor, bind } from "./base.js";

/**
 * Returns `x`, but blocks gradients from flowing through it.
 * @example
 * ```ts
 * import { grad, stopGradient, multiply, tensor } from "tenfold";
 * const g = grad((x) => multiply(x, stopGradient(x)))(tensor(3));
 * console.log(g.arraySync()); // 3
 * ```
 */
export function stopGradient(x: TensorLike): Tensor {
  const t = asTensor(x, "stopGradient");
  if (t.node.prim === "const" || t.node.prim === "buffer" || t.node.prim === "stopGradient") return t;
  return bind("stopGradient", {}, [t]);
}
