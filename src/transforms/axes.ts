/** Axis helpers shared by transforms. */
import type { Tensor } from "../core/tensor.js";
import { permuteDims } from "../ops/shape.js";

/** Moves axis `from` to position `to`. */
export function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return permuteDims(x, perm);
}
