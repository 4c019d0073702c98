/** Jacobians and Hessians, by vmapping jvp (forward) or the pullback (reverse). */
import { isFloat } from "../core/dtype.js";
import { DTypeError } from "../core/errors.js";
import { Tensor } from "../core/tensor.js";
import { eye } from "../ops/creation.js";
import { reshape } from "../ops/shape.js";
import { moveAxis } from "./axes.js";
import { jvp } from "./jvp.js";
import { vjp } from "./vjp.js";
import { vmap } from "./vmap.js";
import { leafTensor } from "./trace.js";

function argOf(args: unknown[], argnums: number, name: string): Tensor {
  const x = leafTensor(args[argnums], name);
  if (!isFloat(x.dtype)) throw new DTypeError(`${name}: argument ${argnums} must be a float tensor, got ${x.dtype}`);
  return x;
}

/**
 * Jacobian by forward mode: shape `out.shape + x.shape` (one jvp per input element, vmapped).
 * @example
 * ```ts
 * import { jacfwd, multiply, tensor } from "tenfold";
 * console.log(jacfwd((x) => multiply(x, x))(tensor([1, 2])).arraySync()); // [[2, 0], [0, 4]]
 * ```
 */
export function jacfwd(f: (...args: Tensor[]) => Tensor, options: { argnums?: number } = {}): (...args: Tensor[]) => Tensor {
  const k = options.argnums ?? 0;
  return (...args) => {
    const x = argOf(args, k, "jacfwd");
    const n = x.size;
    const basis = reshape(eye(n, n, { dtype: x.dtype }), [n, ...x.shape]);
    const col = (t: Tensor): Tensor => {
      const g = (xi: Tensor): Tensor => f(...args.map((a, i) => (i === k ? xi : a)));
      return jvp(g, [x], [t])[1];
    };
    const cols = vmap(col)(basis); // [n, ...out]
    const outNd = cols.ndim - 1;
    return reshape(moveAxis(cols, 0, outNd), [...cols.shape.slice(1), ...x.shape]);
  };
}

/**
 * Jacobian by reverse mode: shape `out.shape + x.shape` (one pullback per output element).
 * @example
 * ```ts
 * import { jacrev, sin, tensor } from "tenfold";
 * console.log(jacrev(sin)(tensor([0, 0])).arraySync()); // [[1, 0], [0, 1]]
 * ```
 */
export function jacrev(f: (...args: Tensor[]) => Tensor, options: { argnums?: number } = {}): (...args: Tensor[]) => Tensor {
  const k = options.argnums ?? 0;
  return (...args) => {
    const x = argOf(args, k, "jacrev");
    const g = (xi: Tensor): Tensor => f(...args.map((a, i) => (i === k ? xi : a)));
    const [out, pullback] = vjp(g, x);
    const m = out.size;
    const basis = reshape(eye(m, m, { dtype: out.dtype }), [m, ...out.shape]);
    const rows = vmap((ct: Tensor) => pullback(ct)[0] as Tensor)(basis); // [m, ...x]
    return reshape(rows, [...out.shape, ...x.shape]);
  };
}

/**
 * Hessian of a scalar function: `jacfwd(jacrev(f))`.
 * @example
 * ```ts
 * import { hessian, sum, pow, tensor } from "tenfold";
 * console.log(hessian((x) => sum(pow(x, 3)))(tensor([1, 2])).arraySync()); // [[6, 0], [0, 12]]
 * ```
 */
export function hessian(f: (...args: Tensor[]) => Tensor, options: { argnums?: number } = {}): (...args: Tensor[]) => Tensor {
  return jacfwd(jacrev(f, options), options);
}
