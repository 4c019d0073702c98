/**
 * nn regularizers: penalties summed over every leaf of a parameter tree (pass a subtree, e.g.
 * only the weights, to leave biases out).
 */
import type { Tensor } from "./ops.js";
import { abs, add, scalar, square, sum, tree } from "./ops.js";

function total(params: unknown, f: (t: Tensor) => Tensor): Tensor {
  return tree.leaves<Tensor | number>(params).reduce<Tensor>((acc, leaf) => add(acc, typeof leaf === "number" ? f(scalar(leaf)) : sum(f(leaf))), scalar(0));
}

/**
 * L1 penalty: the sum of absolute values of every parameter in the tree.
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.l1({ w: tensor([1, -2]), b: tensor([3]) }).itemSync()); // 6
 * ```
 */
export function l1(params: unknown): Tensor {
  return total(params, abs);
}

/**
 * L2 penalty: the sum of squares of every parameter in the tree (no factor 1/2; scale it
 * yourself, e.g. `multiply(1e-4, nn.l2(params))`).
 * @example
 * ```ts
 * import { nn, tensor } from "tenfold";
 * console.log(nn.l2({ w: tensor([1, -2]), b: tensor([3]) }).itemSync()); // 14
 * ```
 */
export function l2(params: unknown): Tensor {
  return total(params, square);
}
