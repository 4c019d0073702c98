// The table gemm's gather tables (matmul-table.ts): decoded back into the input index each lane of
// B copies, they match a brute-force reading of B's positions, for shared tables (every image the
// same pattern shifted, as a conv's patches), per-image tables (irregular batch offsets, images
// with different patterns), and producers that are not gathers (null).
import { describe, expect, it } from "vitest";
import type { GemmTable } from "../../src/backends/cpu/matmul-table.js";
import { gemmTable, stridedTable } from "../../src/backends/cpu/matmul-table.js";
import { NR } from "../../src/backends/cpu/wasm.js";

/** Lane (input index + 1, 0 for a zero) of B(b, p, j) as the table encodes it. */
function decode(t: GemmTable, b: number, p: number, j: number, k: number, n: number): number {
  const per = Math.ceil(n / NR) * k * NR;
  const t0 = (Math.floor(j / NR) * k + p) * NR + (j % NR);
  const image = t.shared ? 0 : b;
  const code = t.codes[(image * per + t0) >> 2]!;
  const lane = t0 & 3;
  let v: number;
  if (code >= 0) v = code === 0 || !(code & 15 & (1 << lane)) ? 0 : (code >> 4) - 4 + lane + 1;
  else v = t.side[~code * 4 + lane]!;
  return v !== 0 && t.shared ? v + b * t.perImage : v;
}

function expectLanes(t: GemmTable | null, nb: number, k: number, n: number, want: (b: number, p: number, j: number) => number): void {
  expect(t).not.toBeNull();
  const bad: string[] = [];
  for (let b = 0; b < nb; b++)
    for (let p = 0; p < k; p++)
      for (let j = 0; j < n; j++) {
        const [got, w] = [decode(t!, b, p, j, k, n), want(b, p, j)];
        if (got !== w && bad.length < 5) bad.push(`B(${b}, ${p}, ${j}): ${got}, want ${w}`);
      }
  expect(bad).toEqual([]);
}

describe("cpu table gemm: gather tables", () => {
  it("a strided B with evenly spaced images is one shared table", () => {
    const [k, n, rs, cs] = [7, 13, 1, 9];
    const bOffs = [0, 100, 200, 300];
    const t = stridedTable(bOffs, rs, cs, k, n);
    expect(t?.shared).toBe(true);
    expect(t?.perImage).toBe(100);
    expectLanes(t, 4, k, n, (b, p, j) => bOffs[b]! + p * rs + j * cs + 1);
  });

  it("a strided B with irregular image offsets keeps a table per image", () => {
    const [k, n, rs, cs] = [5, 11, 11, 1];
    const bOffs = [0, 60, 200];
    const t = stridedTable(bOffs, rs, cs, k, n);
    expect(t?.shared).toBe(false);
    expectLanes(t, 3, k, n, (b, p, j) => bOffs[b]! + p * rs + j * cs + 1);
  });

  // A conv's patches: image b, output position p of an H×W image (3×3 window, SAME zeros), column
  // j = channel·9 + tap; the producer's output is [N, C·9, H·W] (rs = 1, cs = H·W).
  const [N, C, H, W] = [3, 2, 5, 4];
  const P = H * W;
  const src = (b: number, p: number, j: number): number => {
    const [c, tap] = [Math.floor(j / 9), j % 9];
    const [y, x] = [Math.floor(p / W) + Math.floor(tap / 3) - 1, (p % W) + (tap % 3) - 1];
    return y < 0 || y >= H || x < 0 || x >= W ? -1 : ((b * C + c) * H + y) * W + x;
  };
  const windows =
    (f: (v: number, i: number) => number = (v) => v, at: typeof src = src) =>
    (inp: Float32Array, out: Float32Array): void => {
      for (let b = 0; b < N; b++)
        for (let j = 0; j < C * 9; j++)
          for (let p = 0; p < P; p++) {
            const s = at(b, p, j);
            out[(b * C * 9 + j) * P + p] = s < 0 ? 0 : f(inp[s]!, s);
          }
    };
  const bOffs = [0, 1, 2].map((b) => b * C * 9 * P);
  const probed = (run: (inp: Float32Array, out: Float32Array) => void): GemmTable | null => gemmTable(run, N * C * H * W, N * C * 9 * P, bOffs, 1, P, P, C * 9);

  it("a conv's patches probed from their producer are one shared table", () => {
    const t = probed(windows());
    expect(t?.shared).toBe(true);
    expect(t?.perImage).toBe(C * H * W);
    expectLanes(t, N, P, C * 9, (b, p, j) => src(b, p, j) + 1);
  });

  it("images gathered with different patterns keep a table per image", () => {
    // image 2 reads its rows in reverse
    const at = (b: number, p: number, j: number): number => (b === 2 ? src(b, P - 1 - p, j) : src(b, p, j));
    const t = probed(windows(undefined, at));
    expect(t?.shared).toBe(false);
    expectLanes(t, N, P, C * 9, (b, p, j) => at(b, p, j) + 1);
  });

  it("a producer that computes is not a gather", () => {
    expect(probed(windows((v) => 2 * v))).toBeNull();
    expect(probed(windows((v) => Math.round(v)))).toBeNull(); // right on the first probe (integers), not the second
    expect(probed(windows((v, i) => (i === 37 ? v + 1 : v)))).toBeNull(); // one element off, in the last image
  });
});
