/**
 * Small batching helpers shared by the batching rules of the call primitives (batch-rules.ts,
 * cond-rules.ts, custom-jvp-rules.ts), kept apart so those modules do not import each other.
 */
import type { Tensor } from "../core/tensor.js";
import { broadcastTo_ } from "../ops/base.js";
import { reshape } from "../ops/shape.js";
import { transform } from "./recurse.js";
import { traceFlat } from "./trace.js";

/** Gives an unbatched operand a leading batch axis (a broadcast view). */
export function materialize(x: Tensor, d: 0 | null, B: number): Tensor {
  return d === 0 ? x : broadcastTo_(reshape(x, [1, ...x.shape]), [B, ...x.shape]);
}

/** vmaps a flat function: all operands batched at 0, all results batched at 0. */
export function vmapFlat(fn: (xs: Tensor[]) => Tensor[], args: readonly Tensor[], B: number): Tensor[] {
  const tr = traceFlat(
    (xs) => fn(xs),
    args.map((a) => ({ shape: a.shape.slice(1), dtype: a.dtype })),
    "vmap",
  );
  const r = transform("batchGraph")(
    tr.graph,
    args,
    args.map(() => 0),
    B,
  );
  return r.outs.map((o, i) => materialize(o, r.dims[i]!, B));
}
