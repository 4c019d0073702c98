/**
 * The `conv` primitive (XLA's ConvGeneralDilated, NCHW/OIHW, feature groups) at the tensor level:
 * its lowering to pad, strided slices, stack and matmul (im2col: one product per image, so the
 * CPU backend's table gemm reads the input in place), and its transform rules: jvp (bilinear),
 * transpose (the input gradient is a conv of the cotangent with the flipped, transposed weights,
 * as in JAX; the weight gradient a per-image product of the cotangent and the input's patches,
 * summed over the batch), and vmap (the batch folds into N, or into the groups when the weights
 * are batched).
 */
import type { ConvParams } from "../core/conv-general.js";
import { convShape } from "../core/conv-general.js";
import type { Node } from "../core/node.js";
import { sizeOf } from "../core/shape.js";
import { Tensor } from "../core/tensor.js";
import { bind, broadcastTo_, constant } from "./base.js";
import { add } from "./elementwise.js";
import { sum } from "./reduce.js";
import { flip, matrixTranspose, pad, permuteDims, reshape, stack } from "./shape.js";

/** The `conv` primitive on tensors (shape checks by its inference rule). */
export function convPrim(x: Tensor, w: Tensor, p: ConvParams): Tensor {
  return bind("conv", p, [x, w]);
}

/** Extracts sliding windows: returns [K, ...x.shape[:-n], ...out] stacked over window offsets. */
export function windows(x: Tensor, nsp: number, k: readonly number[], strides: readonly number[], dil: readonly number[], out: readonly number[]): Tensor {
  const lead = x.ndim - nsp;
  let offsets: number[][] = [[]];
  for (let d = 0; d < nsp; d++) offsets = offsets.flatMap((o) => Array.from({ length: k[d]! }, (_, j) => [...o, j]));
  const pieces = offsets.map((o) => {
    const starts = [...new Array<number>(lead).fill(0), ...o.map((j, d) => j * dil[d]!)];
    const ends = [...x.shape.slice(0, lead), ...o.map((j, d) => j * dil[d]! + (out[d]! - 1) * strides[d]! + 1)];
    const steps = [...new Array<number>(lead).fill(1), ...strides];
    return bind("slice", { starts, ends, steps }, [x]);
  });
  return pieces.length === 1 ? reshape(pieces[0]!, [1, ...pieces[0]!.shape]) : stack(pieces, { axis: 0 });
}

/** x with `d - 1` zeros between neighbours along each spatial axis, then padded (negative: cropped). */
export function dilatePad(x: Tensor, lhsDil: readonly number[], padding: readonly (readonly [number, number])[]): Tensor {
  let t = x;
  const lead = x.ndim - lhsDil.length;
  lhsDil.forEach((s, i) => {
    if (s === 1) return;
    const axis = lead + i;
    const n = t.shape[axis]!;
    const e = reshape(t, [...t.shape.slice(0, axis + 1), 1, ...t.shape.slice(axis + 1)]);
    const widths = e.shape.map((_, j): [number, number] => (j === axis + 1 ? [0, s - 1] : [0, 0]));
    const merged = reshape(pad(e, widths), [...t.shape.slice(0, axis), n * s, ...t.shape.slice(axis + 1)]);
    t = bind(
      "slice",
      { starts: merged.shape.map(() => 0), ends: merged.shape.map((d, j) => (j === axis ? (n - 1) * s + 1 : d)), steps: merged.shape.map(() => 1) },
      [merged],
    );
  });
  const grow = padding.map(([lo, hi]): [number, number] => [Math.max(lo, 0), Math.max(hi, 0)]);
  if (grow.some(([lo, hi]) => lo > 0 || hi > 0)) t = pad(t, [...new Array<[number, number]>(lead).fill([0, 0]), ...grow]);
  if (padding.some(([lo, hi]) => lo < 0 || hi < 0)) {
    const starts = t.shape.map((_, j) => (j < lead ? 0 : Math.max(-padding[j - lead]![0], 0)));
    const ends = t.shape.map((d, j) => (j < lead ? d : d - Math.max(-padding[j - lead]![1], 0)));
    t = bind("slice", { starts, ends, steps: t.shape.map(() => 1) }, [t]);
  }
  return t;
}

/**
 * The lowering of `conv` to pad/slice/stack/matmul (the scheduler inlines it; the CPU backend
 * recognizes the patches as a gather and never materializes them).
 */
export function convDecomposed(x: Tensor, w: Tensor, p: ConvParams): Tensor {
  const yShape = convShape(p, x.shape, w.shape);
  const nsp = x.ndim - 2;
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const [O, Cg] = [w.shape[0]!, w.shape[1]!];
  const groups = p.groups;
  const k = w.shape.slice(2);
  const out = yShape.slice(2);
  if (sizeOf(yShape) === 0 || Cg === 0 || sizeOf(k) === 0) return broadcastTo_(constant(0, x.dtype), yShape);
  const xp = dilatePad(x, p.lhsDilation, p.padding);
  const K = sizeOf(k);
  const P = sizeOf(out);
  const win = windows(xp, nsp, k, p.strides, p.rhsDilation, out);
  if (groups === 1) {
    // One product per image, NCHW straight out: [N, O, C*K] (broadcast) x [N, C*K, P] -> [N, O, P].
    const patches = reshape(permuteDims(reshape(win, [K, N, C, P]), [1, 2, 0, 3]), [N, C * K, P]);
    const wm = broadcastTo_(reshape(w, [1, O, C * K]), [N, O, C * K]);
    return reshape(bind("matmul", {}, [wm, patches]), yShape);
  }
  // patches [K, N, C, ...out] -> [G, Cg*K, N*P]
  const pr = reshape(win, [K, N, groups, Cg, P]);
  const patches = reshape(permuteDims(pr, [2, 3, 0, 1, 4]), [groups, Cg * K, N * P]);
  const wm = reshape(w, [groups, O / groups, Cg * K]);
  const y = bind("matmul", {}, [wm, patches]); // [G, O/G, N*P]
  const yr = permuteDims(reshape(y, [groups, O / groups, N, P]), [2, 0, 1, 3]);
  return reshape(yr, yShape);
}

/** jvp: conv is bilinear. */
export function convJvp(primals: readonly Tensor[], tangents: readonly (Tensor | null)[], node: Node<"conv">): Tensor | null {
  const [x, w] = primals;
  const [tx, tw] = tangents;
  const a = tx ? convPrim(tx, w!, node.params) : null;
  const b = tw ? convPrim(x!, tw, node.params) : null;
  return a && b ? add(a, b) : (a ?? b);
}

/** The input gradient: a conv of the cotangent with the flipped weights, O and C swapped per group (JAX's rule). */
function transposeLhs(ct: Tensor, w: Tensor, xShape: readonly number[], p: ConvParams): Tensor {
  if (sizeOf(ct.shape) === 0 || sizeOf(xShape) === 0 || sizeOf(w.shape) === 0) return broadcastTo_(constant(0, ct.dtype), xShape);
  const [O, Cg] = [w.shape[0]!, w.shape[1]!];
  const G = p.groups;
  const k = w.shape.slice(2);
  // w [G, O/G, Cg, ...k] -> [G, Cg, O/G, ...k] -> [G*Cg, O/G, ...k], flipped in space
  const wg = reshape(w, [G, O / G, Cg, ...k]);
  const wt = reshape(permuteDims(wg, [0, 2, 1, ...k.map((_, i) => 3 + i)]), [G * Cg, O / G, ...k]);
  const wf = flip(wt, { axis: k.map((_, i) => 2 + i) });
  const padding = xShape.slice(2).map((s, i): [number, number] => {
    const inD = (s - 1) * p.lhsDilation[i]! + 1;
    const kEff = (k[i]! - 1) * p.rhsDilation[i]! + 1;
    const outD = (ct.shape[2 + i]! - 1) * p.strides[i]! + 1;
    const before = kEff - p.padding[i]![0] - 1;
    return [before, inD + kEff - 1 - outD - before];
  });
  return convPrim(ct, wf, { strides: p.lhsDilation, padding, lhsDilation: p.strides, rhsDilation: p.rhsDilation, groups: G });
}

/** The weight gradient: per image, cotangent [O, P] times the input's patches [P, C·K], summed over the batch. */
function transposeRhs(ct: Tensor, x: Tensor, wShape: readonly number[], p: ConvParams): Tensor {
  const nsp = x.ndim - 2;
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const [O, Cg] = [wShape[0]!, wShape[1]!];
  const G = p.groups;
  const k = wShape.slice(2);
  const out = ct.shape.slice(2);
  if (sizeOf(ct.shape) === 0 || sizeOf(wShape) === 0) return broadcastTo_(constant(0, ct.dtype), wShape);
  const K = sizeOf(k);
  const P = sizeOf(out);
  const win = windows(dilatePad(x, p.lhsDilation, p.padding), nsp, k, p.strides, p.rhsDilation, out);
  if (G === 1) {
    const patches = reshape(permuteDims(reshape(win, [K, N, C, P]), [1, 2, 0, 3]), [N, C * K, P]);
    const dw = sum(bind("matmul", {}, [reshape(ct, [N, O, P]), matrixTranspose(patches)]), { axis: 0 });
    return reshape(dw, wShape);
  }
  const patches = reshape(permuteDims(reshape(win, [K, N, G, Cg, P]), [1, 2, 4, 3, 0]), [N, G, P, Cg * K]);
  const dw = sum(bind("matmul", {}, [reshape(ct, [N, G, O / G, P]), patches]), { axis: 0 }); // [G, O/G, Cg*K]
  return reshape(dw, wShape);
}

/** transpose: one operand is linear (conv is bilinear). */
export function convTranspose_(ct: Tensor, node: Node<"conv">, lin: readonly boolean[]): (Tensor | null)[] {
  if (lin[0] && lin[1]) throw new Error("internal: conv of two linear values is not linear");
  const [x, w] = node.inputs;
  if (lin[0]) return [transposeLhs(ct, new Tensor(w!), x!.shape, node.params), null];
  return [null, transposeRhs(ct, new Tensor(x!), w!.shape, node.params)];
}

/** vmap: a batched input folds into N; batched weights fold into the groups (B·G groups). */
export function convBatch(args: readonly Tensor[], dims: readonly (0 | null)[], node: Node<"conv">, B: number): Tensor {
  const p = node.params;
  const [x, w] = args;
  if (dims[1] === null) {
    const y = convPrim(reshape(x!, [B * x!.shape[1]!, ...x!.shape.slice(2)]), w!, p);
    return reshape(y, [B, x!.shape[1]!, ...y.shape.slice(1)]);
  }
  // x [B, N, C, ...] (broadcast when unbatched) -> [N, B*C, ...]; w [B, O, Cg, ...] -> [B*O, Cg, ...]
  const xs = node.inputs[0]!.shape;
  const xb = dims[0] === null ? broadcastTo_(reshape(x!, [1, ...xs]), [B, ...xs]) : x!;
  const [N, C] = [xs[0]!, xs[1]!];
  const sp = xs.slice(2);
  const xm = reshape(permuteDims(xb, [1, 0, 2, ...sp.map((_, i) => 3 + i)]), [N, B * C, ...sp]);
  const O = w!.shape[1]!;
  const wm = reshape(w!, [B * O, ...w!.shape.slice(2)]);
  const y = convPrim(xm, wm, { ...p, groups: B * p.groups }); // [N, B*O, ...out]
  const out = y.shape.slice(2);
  return permuteDims(reshape(y, [N, B, O, ...out]), [1, 0, 2, ...out.map((_, i) => 3 + i)]);
}
