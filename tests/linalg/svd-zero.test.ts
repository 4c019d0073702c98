// svd of inputs with exactly zero singular values: U still has orthonormal columns (completed as
// LAPACK/JAX do), s has the zeros last, and U S Vᵀ reconstructs the input.
import { describe, expect, test } from "vitest";
import { eye, matmul, matrixTranspose, multiply, tensor, zeros } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { svd } from "../../src/linalg/index.js";

const rows = (t: Tensor): number[] => Array.from(t.dataSync());
function orthonormal(u: Tensor): void {
  const g = rows(matmul(matrixTranspose(u), u));
  const want = rows(eye(u.shape[u.ndim - 1]!));
  g.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
}

describe("svd with exact zero singular values", () => {
  test("zero matrix (tall and wide)", () => {
    for (const shape of [
      [4, 3],
      [3, 4],
    ]) {
      const [u, s, vt] = svd(zeros(shape));
      expect(rows(s)).toEqual([0, 0, 0]);
      orthonormal(u);
      orthonormal(matrixTranspose(vt));
    }
  });
  test("a zero column and a zero row", () => {
    const a = tensor([
      [3, 0, 0],
      [0, 0, 0],
      [0, 0, 2],
      [0, 0, 0],
    ]);
    const [u, s, vt] = svd(a);
    const sv = rows(s);
    [3, 2, 0].forEach((v, i) => expect(Math.abs(sv[i]! - v)).toBeLessThan(1e-6));
    orthonormal(u);
    const back = rows(matmul(multiply(u, tensor([sv])), vt));
    rows(a).forEach((v, i) => expect(Math.abs(back[i]! - v)).toBeLessThan(1e-6));
  });
});
