/**
 * The max-pooling primitives (core/pool.ts) at the ops level: `bind`ers and their composite
 * lowering from pad, strided slices, reductions and selects, which every backend that does not
 * run them whole gets (see `inlineCalls` and `Device.native`). The lowering computes the same
 * selection as the reference: the first maximum after the last NaN of each window (the last
 * NaN when it ends the window), padding positions holding the dtype's lowest value.
 */
import type { PoolParams } from "../core/pool.js";
import { poolPadValue, poolShape } from "../core/pool.js";
import type { Node } from "../core/node.js";
import { Tensor } from "../core/tensor.js";
import { isFloat } from "../core/dtype.js";
import { cast, constant } from "./base.js";
import { iota } from "./creation.js";
import { add, equal, greater, isnan, logicalAnd, where } from "./elementwise.js";
import { max, min, sum } from "./reduce.js";
import { pad, reshape } from "./shape.js";
import { dilatePad, windows } from "./conv-general.js";

/** The pooling primitives, lowered by `poolDecomposed` where a device does not run them whole. */
export const POOL_PRIMS: ReadonlySet<string> = new Set(["maxPool", "maxPoolGather", "maxPoolScatter"]);

/** The windows of `x` (padded with `value`) stacked on a new leading axis: [K, ...lead, ...out]. */
function stacked(x: Tensor, p: PoolParams, value: number): Tensor {
  const n = p.window.length;
  const lead = x.ndim - n;
  const out = poolShape(p, x.shape).slice(lead);
  const padded = p.padding.some(([lo, hi]) => lo > 0 || hi > 0)
    ? pad(x, [...new Array<[number, number]>(lead).fill([0, 0]), ...p.padding.map(([lo, hi]): [number, number] => [lo, hi])], { value })
    : x;
  return windows(
    padded,
    n,
    p.window,
    p.strides,
    p.window.map(() => 1),
    out,
  );
}

/** Each window's selected position (int32, [...lead, ...out]) given its stacked values `w`. */
function selection(w: Tensor, value: number): Tensor {
  const K = w.shape[0]!;
  const k = iota(w.shape, 0);
  if (!isFloat(w.dtype)) {
    // no NaN: the first maximum
    const m = max(w, { axis: 0, keepdims: true });
    return min(where(equal(w, m), k, K), { axis: 0 });
  }
  // L: the last NaN's position (−1: none); then the first maximum after it
  const last = max(where(isnan(w), k, -1), { axis: 0, keepdims: true });
  const after = greater(k, last);
  const m = max(where(after, w, value), { axis: 0, keepdims: true });
  const first = min(where(logicalAnd(after, equal(w, m)), k, K), { axis: 0, keepdims: true });
  const sel = where(equal(last, K - 1), last, first);
  return reshape(sel, sel.shape.slice(1));
}

/** The composite of maxPool: the maximum over the stacked windows (NaN-propagating). */
function maxPoolComposite(x: Tensor, p: PoolParams): Tensor {
  return max(stacked(x, p, poolPadValue(x.dtype)), { axis: 0 });
}

/** The composite of maxPoolGather(t, x): t at each window's selected position. */
function gatherComposite(t: Tensor, x: Tensor, p: PoolParams): Tensor {
  const sel = selection(stacked(x, p, poolPadValue(x.dtype)), poolPadValue(x.dtype));
  const tw = stacked(t, p, 0);
  return sum(where(equal(iota(tw.shape, 0), sel), tw, constant(0, t.dtype)), { axis: 0 });
}

/** The composite of maxPoolScatter(g, x): each window's g added at its selected position. */
function scatterComposite(g: Tensor, x: Tensor, p: PoolParams): Tensor {
  const sel = selection(stacked(x, p, poolPadValue(x.dtype)), poolPadValue(x.dtype));
  const n = p.window.length;
  const lead = x.ndim - n;
  const inSp = x.shape.slice(lead);
  const out = g.shape.slice(lead);
  const zero = constant(0, g.dtype);
  let dx: Tensor | undefined;
  let j = 0;
  // window position j (row-major) of every window lands at input j_d·1 + o_d·stride_d − lo_d
  const pos = new Array<number>(n).fill(0);
  for (;;) {
    const piece = where(equal(sel, j), g, zero);
    const widths = pos.map((w, d): [number, number] => {
      const lo = w - p.padding[d]![0];
      return [lo, inSp[d]! - lo - ((out[d]! - 1) * p.strides[d]! + 1)];
    });
    const placed = dilatePad(piece, p.strides, widths);
    dx = dx ? add(dx, placed) : placed;
    j++;
    let d = n - 1;
    for (; d >= 0 && ++pos[d]! === p.window[d]!; d--) pos[d] = 0;
    if (d < 0) break;
  }
  return cast(dx!, g.dtype);
}

/** The lowering of a pooling primitive node (see POOL_PRIMS) into other primitives. */
export function poolDecomposed(n: Node): Node {
  const [a, b] = n.inputs.map((i) => new Tensor(i));
  if (n.prim === "maxPool") return maxPoolComposite(a!, n.params).node;
  if (n.prim === "maxPoolGather") return gatherComposite(a!, b!, n.params).node;
  if (n.prim === "maxPoolScatter") return scatterComposite(a!, b!, n.params).node;
  return n;
}
