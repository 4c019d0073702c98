/**
 * CPU runners of the index primitives `argmax` and `gather`: typed loops over the operands'
 * strides (contiguous rows and whole-slice copies where the layout allows), with the reference
 * rules' exact semantics (core/semantics-eval.ts): argmax returns the index of the first NaN,
 * else of the first maximum; gather wraps a negative index once and clamps it into range. The
 * reference interpreter's general forms walk multi-indices through closures (≈ 10–50× slower:
 * max-pool gradients, batches drawn from a dataset and embedding lookups run through these).
 */
import type { TypedArray } from "../../core/dtype.js";
import type { Node } from "../../core/node.js";
import { sizeOf } from "../../core/shape.js";
import type { OpaqueKernel } from "../../scheduler/ir.js";
import type { Runner } from "./matmul-runners.js";

/** out[r] = argmax of x[r·len .. r·len + len) (rows of a contiguous last axis). */
function argmaxRows(x: TypedArray, rows: number, len: number, out: Int32Array): void {
  for (let r = 0, o = 0; r < rows; r++, o += len) {
    let best = x[o]!;
    let bi = 0;
    if (best === best) {
      for (let k = 1; k < len; k++) {
        const v = x[o + k]!;
        if (v > best) {
          best = v;
          bi = k;
        } else if (v !== v) {
          bi = k;
          break;
        }
      }
    }
    out[r] = bi;
  }
}

/** argmax along an axis with `inner` elements after it: inner columns at a time, row by row. */
function argmaxStrided(x: TypedArray, outer: number, len: number, inner: number, out: Int32Array, best: Float64Array, nan: Uint8Array): void {
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    const ob = o * inner;
    for (let i = 0; i < inner; i++) {
      const v = x[base + i]!;
      best[i] = v;
      nan[i] = v !== v ? 1 : 0;
      out[ob + i] = 0;
    }
    for (let k = 1; k < len; k++) {
      const row = base + k * inner;
      for (let i = 0; i < inner; i++) {
        if (nan[i]) continue;
        const v = x[row + i]!;
        if (v > best[i]!) {
          best[i] = v;
          out[ob + i] = k;
        } else if (v !== v) {
          nan[i] = 1;
          out[ob + i] = k;
        }
      }
    }
  }
}

/**
 * The runner of an `argmax` kernel.
 * @example
 * ```ts
 * import { argmax, tensor } from "tenfold";
 * console.log(argmax(tensor([[1, 5, 5], [NaN, 2, 9]]), { axis: 1 }).arraySync()); // [1, 0]
 * ```
 */
export function argmaxRunner(k: OpaqueKernel, n: Node<"argmax">): Runner {
  const shape = n.inputs[0]!.shape;
  const ax = n.params.axis;
  const len = shape[ax]!;
  const inner = sizeOf(shape.slice(ax + 1));
  const outer = sizeOf(shape.slice(0, ax));
  const best = inner > 1 ? new Float64Array(inner) : undefined;
  const nan = inner > 1 ? new Uint8Array(inner) : undefined;
  return (bufs) => {
    const x = bufs[k.inputs[0]!]!;
    const out = bufs[k.output] as Int32Array;
    if (len === 0) return void out.fill(0);
    if (inner === 1) argmaxRows(x, outer, len, out);
    else argmaxStrided(x, outer, len, inner, out, best!, nan!);
  };
}

/**
 * The runner of a `gather` kernel: out[b, m, j, r] = x[b, m, idx[b, j], r] with b over the batch
 * dims, m over x's other dims before `axis`, j over the index's own dims and r over x's dims
 * after `axis` (one slice copy per index when r spans many elements).
 * @example
 * ```ts
 * import { gather, tensor } from "tenfold";
 * console.log(gather(tensor([[1, 2], [3, 4], [5, 6]]), tensor([2, -1, 0], { dtype: "int32" })).arraySync()); // [[5, 6], [5, 6], [1, 2]]
 * ```
 */
export function gatherRunner(k: OpaqueKernel, n: Node<"gather">): Runner {
  const xs = n.inputs[0]!.shape;
  const is = n.inputs[1]!.shape;
  const { axis, batchDims: b } = n.params;
  const B = sizeOf(xs.slice(0, b));
  const mid = sizeOf(xs.slice(b, axis));
  const K = xs[axis]!;
  const inner = sizeOf(xs.slice(axis + 1));
  const ni = sizeOf(is.slice(b));
  return (bufs) => {
    const x = bufs[k.inputs[0]!]!;
    const ind = bufs[k.inputs[1]!]!;
    const out = bufs[k.output]!;
    if (K === 0 || out.length === 0) return;
    let o = 0;
    for (let bb = 0; bb < B; bb++)
      for (let m = 0; m < mid; m++) {
        const src = (bb * mid + m) * K;
        for (let j = 0; j < ni; j++, o += inner) {
          let t = ind[bb * ni + j]!;
          if (t < 0) t += K;
          t = t < 0 ? 0 : t >= K ? K - 1 : t;
          const s = (src + t) * inner;
          if (inner >= 16) out.set(x.subarray(s, s + inner), o);
          else for (let r = 0; r < inner; r++) out[o + r] = x[s + r]!;
        }
      }
  };
}
