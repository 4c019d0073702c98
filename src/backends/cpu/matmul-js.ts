/**
 * The JS matmul kernels: a packed, register-tiled (4×4 accumulators) float kernel over strided
 * operands, so transposed and sliced views of materialized buffers need no copy kernel
 * (accumulates in float64: JS numbers), and a plain wrapping loop for int32.
 */

let packA = new Float64Array(0);
let packB = new Float64Array(0);

/** A strided matrix: element (i, j) at data[off + i·rs + j·cs]. */
export interface Strided {
  readonly data: ArrayLike<number>;
  readonly off: number;
  readonly rs: number;
  readonly cs: number;
}

/**
 * C[cOff + i·n + j] = Σ_p A(i, p)·B(p, j) for an m×k by k×n product (float).
 * @example
 * ```ts
 * import { matmul, tensor } from "tenfold";
 * console.log(matmul(tensor([[1, 2]]), tensor([[3], [4]])).arraySync()); // [[11]]
 * ```
 */
export function sgemm(A: Strided, B: Strided, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number): void {
  const mp = (m + 3) >> 2;
  const np = (n + 3) >> 2;
  if (packA.length < mp * 4 * k) packA = new Float64Array(mp * 4 * k);
  if (packB.length < 4 * k) packB = new Float64Array(4 * k);
  const pa = packA;
  const pb = packB;
  const ad = A.data;
  const bd = B.data;
  // Pack A in row panels of 4: pa[(ip·k + p)·4 + ii].
  for (let ip = 0; ip < mp; ip++) {
    for (let ii = 0; ii < 4; ii++) {
      const i = ip * 4 + ii;
      let q = ip * k * 4 + ii;
      if (i < m) {
        let src = A.off + i * A.rs;
        for (let p = 0; p < k; p++, q += 4, src += A.cs) pa[q] = ad[src]!;
      } else for (let p = 0; p < k; p++, q += 4) pa[q] = 0;
    }
  }
  for (let jp = 0; jp < np; jp++) {
    for (let jj = 0; jj < 4; jj++) {
      const j = jp * 4 + jj;
      let q = jj;
      if (j < n) {
        let src = B.off + j * B.cs;
        for (let p = 0; p < k; p++, q += 4, src += B.rs) pb[q] = bd[src]!;
      } else for (let p = 0; p < k; p++, q += 4) pb[q] = 0;
    }
    const j0 = jp * 4;
    const jn = Math.min(4, n - j0);
    for (let ip = 0; ip < mp; ip++) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let qa = ip * k * 4;
      let qb = 0;
      for (let p = 0; p < k; p++, qa += 4, qb += 4) {
        const a0 = pa[qa]!,
          a1 = pa[qa + 1]!,
          a2 = pa[qa + 2]!,
          a3 = pa[qa + 3]!;
        const b0 = pb[qb]!,
          b1 = pb[qb + 1]!,
          b2 = pb[qb + 2]!,
          b3 = pb[qb + 3]!;
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3;
      }
      const i0 = ip * 4;
      const im = Math.min(4, m - i0);
      if (im === 4 && jn === 4) {
        let o = cOff + i0 * n + j0;
        C[o] = c00;
        C[o + 1] = c01;
        C[o + 2] = c02;
        C[o + 3] = c03;
        o += n;
        C[o] = c10;
        C[o + 1] = c11;
        C[o + 2] = c12;
        C[o + 3] = c13;
        o += n;
        C[o] = c20;
        C[o + 1] = c21;
        C[o + 2] = c22;
        C[o + 3] = c23;
        o += n;
        C[o] = c30;
        C[o + 1] = c31;
        C[o + 2] = c32;
        C[o + 3] = c33;
      } else {
        const rows = [
          [c00, c01, c02, c03],
          [c10, c11, c12, c13],
          [c20, c21, c22, c23],
          [c30, c31, c32, c33],
        ];
        for (let ii = 0; ii < im; ii++) for (let jj = 0; jj < jn; jj++) C[cOff + (i0 + ii) * n + j0 + jj] = rows[ii]![jj]!;
      }
    }
  }
}

/**
 * Integer matmul with wrapping int32 arithmetic.
 * @example
 * ```ts
 * import { matmul, tensor } from "tenfold";
 * console.log(matmul(tensor([[2]], { dtype: "int32" }), tensor([[3]], { dtype: "int32" })).arraySync()); // [[6]]
 * ```
 */
export function igemm(A: Strided, B: Strided, C: Float32Array | Int32Array | Uint8Array, cOff: number, m: number, n: number, k: number): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = (acc + Math.imul(A.data[A.off + i * A.rs + p * A.cs]!, B.data[B.off + p * B.rs + j * B.cs]!)) | 0;
      C[cOff + i * n + j] = acc;
    }
  }
}

// ---- WebAssembly SIMD path -------------------------------------------------------------------
