// tenfold/linalg on every backend: forward values, jvp and grad on cpu and WebGPU (lavapipe in CI)
// against the reference backend. Eigen/singular vectors enter through sign-invariant products.
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import "../../src/backends/webgpu/index.js";
import { cholesky, det, eigh, inv, norm, qr, slogdet, solve, svd, triangularSolve } from "../../src/linalg/index.js";
import { probeWebGpu } from "../webgpu/gpu.js";

const available = await probeWebGpu();

const A = (): Tensor =>
  tf.tensor([
    [
      [2.0, 0.5, -0.3],
      [0.4, 1.5, 0.2],
      [-0.2, 0.3, 1.2],
    ],
    [
      [1.0, -0.7, 0.2],
      [0.3, 2.5, 0.4],
      [0.6, 0.1, -1.8],
    ],
  ]);
const SPD = (): Tensor => tf.add(tf.matmul(A(), tf.matrixTranspose(A())), tf.eye(3));
const B = (): Tensor => tf.tensor([1, -2, 0.5]);
const proj = (v: Tensor, w: Tensor): Tensor => tf.matmul(tf.multiply(v, tf.expandDims(w, -2)), tf.matrixTranspose(v));

const cases: [string, () => Tensor][] = [
  ["cholesky", () => cholesky(SPD())],
  ["triangularSolve", () => triangularSolve(A(), B(), { lower: false })],
  ["solve", () => solve(A(), B())],
  ["inv", () => inv(A())],
  ["det", () => det(A())],
  ["slogdet", () => tf.add(slogdet(A())[0], slogdet(A())[1])],
  ["qr", () => tf.matmul(...qr(A()))],
  ["qr r", () => qr(A())[1]],
  ["eigh", () => tf.add(proj(eigh(SPD())[1], tf.tensor([1, 2, 3])), tf.expandDims(tf.expandDims(tf.sum(eigh(SPD())[0], { axis: -1 }), -1), -1))],
  [
    "svd (wide)",
    () =>
      svd(
        tf.matmul(
          tf.tensor([
            [1, 0, 0],
            [0, 1, 0],
          ]),
          A(),
        ),
      )[1],
  ],
  [
    "svd u diag vᵀ",
    () => {
      const [u, , vt] = svd(A());
      return tf.matmul(tf.multiply(u, tf.tensor([1, 2, 3])), vt);
    },
  ],
  ["norm 2 / nuc", () => tf.add(norm(A(), { ord: 2, axis: [1, 2] }), norm(A(), { ord: "nuc", axis: [1, 2] }))],
  ["grad logdet", () => tf.grad((x: Tensor) => tf.sum(slogdet(x)[1]))(A())],
  ["grad eigenvalues", () => tf.grad((x: Tensor) => tf.sum(tf.multiply(eigh(x)[0], tf.tensor([1, 0, 2]))))(SPD())],
  ["grad singular values", () => tf.grad((x: Tensor) => tf.sum(svd(x)[1]))(A())],
  ["jvp cholesky", () => tf.jvp((x: Tensor) => cholesky(x), [SPD()], [tf.broadcastTo(tf.eye(3), [2, 3, 3])])[1]],
  ["vmap grad solve", () => tf.vmap(tf.grad((x: Tensor) => tf.sum(solve(x, B()))))(A())],
];

async function on(backend: string, f: () => Tensor): Promise<number[]> {
  await tf.setBackend(backend);
  return Array.from(await f().data());
}

afterAll(async () => {
  await tf.setBackend("cpu");
});

function agree(got: number[], want: number[], tol: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i]!), `index ${i}: ${v} vs ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!))));
}

describe("cpu == reference", () => {
  for (const [name, f] of cases) it(name, async () => agree(await on("cpu", f), await on("reference", f), 1e-4));
});

describe.skipIf(!available)("webgpu == reference", () => {
  for (const [name, f] of cases) it(name, async () => agree(await on("webgpu", f), await on("reference", f), 1e-4));
});
