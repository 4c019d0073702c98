/**
 * ONNX export of `gather`: a plain `Gather` without batch dims; with batch dims, `axis` moves next
 * to the batch dims, a `GatherND` with `batch_dims` picks the rows, and a transpose restores
 * tenfold's layout.
 */
import type { Node } from "../core/node.js";
import type { Scope } from "./control.js";
import { ONNX_DTYPE } from "./proto.js";

/** What the gather emitter needs of export.ts's Emitter. */
export interface IndexScope extends Scope {
  ints(vs: readonly number[], scalar?: boolean): string;
}

/** Emits `gather` (see the module comment); returns the output's value name. */
export function emitGather(e: IndexScope, n: Node<"gather">): string {
  const { axis, batchDims } = n.params;
  const [xn, idxn] = [n.inputs[0]!, n.inputs[1]!];
  const data = e.lookup(xn)!;
  const idx = e.lookup(idxn)!;
  if (batchDims === 0) return e.op1("Gather", [data, idx], { axis: { kind: "int", v: axis } });
  // Move `axis` next to the batch dims, GatherND with batch_dims, then restore the layout.
  const r = xn.shape.length;
  const mid = axis - batchDims;
  const permIn = [
    ...Array(batchDims).keys(),
    axis,
    ...Array.from({ length: mid }, (_, i) => batchDims + i),
    ...Array.from({ length: r - axis - 1 }, (_, i) => axis + 1 + i),
  ];
  const moved = mid === 0 ? data : e.op1("Transpose", [data], { perm: { kind: "ints", v: permIn } });
  const idx64 = e.op1("Unsqueeze", [e.op1("Cast", [idx], { to: { kind: "int", v: ONNX_DTYPE.int64 } }), e.ints([-1])]);
  const g = e.op1("GatherND", [moved, idx64], { batch_dims: { kind: "int", v: batchDims } });
  if (mid === 0) return g;
  // g: [B..., I..., M..., R...] -> [B..., M..., I..., R...]
  const ni = idxn.shape.length - batchDims;
  const B = [...Array(batchDims).keys()];
  const I = Array.from({ length: ni }, (_, i) => batchDims + i);
  const M = Array.from({ length: mid }, (_, i) => batchDims + ni + i);
  const R = Array.from({ length: r - axis - 1 }, (_, i) => batchDims + ni + mid + i);
  return e.op1("Transpose", [g], { perm: { kind: "ints", v: [...B, ...M, ...I, ...R] } });
}
