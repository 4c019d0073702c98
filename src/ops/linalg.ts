/** Linear algebra: matmul (the contraction primitive), dot, tensordot, einsum, outer. */
import { DTypeError, ShapeError, fmtShape } from "../core/errors.js";
import { broadcastShapes, checkShape, normAxis, sizeOf } from "../core/shape.js";
import type { Tensor } from "../core/tensor.js";
import type { TensorLike } from "./base.js";
import { asTensor, bind, broadcastTo_, cast, resultDType } from "./base.js";
import { multiply } from "./elementwise.js";
import { sum } from "./reduce.js";
import { permuteDims, reshape, slice } from "./shape.js";

/**
 * Matrix product with NumPy `matmul` semantics (1-D operands promoted, batch dims broadcast).
 * @example
 * ```ts
 * import { matmul, tensor } from "tenfold";
 * console.log(matmul(tensor([[1, 2], [3, 4]]), tensor([[1], [1]])).arraySync()); // [[3], [7]]
 * ```
 */
export function matmul(a: TensorLike, b: TensorLike): Tensor {
  const d = resultDType([a, b]);
  if (d === "bool") throw new DTypeError("matmul: bool operands are not supported (cast to int32 or float32)");
  let x = cast(asTensor(a, "matmul"), d);
  let y = cast(asTensor(b, "matmul"), d);
  if (x.ndim === 0 || y.ndim === 0) throw new ShapeError(`matmul: operands must have rank >= 1, got ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
  const aVec = x.ndim === 1;
  const bVec = y.ndim === 1;
  if (aVec) x = reshape(x, [1, x.shape[0]!]);
  if (bVec) y = reshape(y, [y.shape[0]!, 1]);
  const k1 = x.shape[x.ndim - 1]!;
  const k2 = y.shape[y.ndim - 2]!;
  if (k1 !== k2) {
    throw new ShapeError(`matmul: inner dimensions differ: ${fmtShape(asTensor(a).shape)} has ${k1} columns, ${fmtShape(asTensor(b).shape)} has ${k2} rows`);
  }
  const m = x.shape[x.ndim - 2]!;
  const n = y.shape[y.ndim - 1]!;
  let out: Tensor;
  if (y.ndim === 2 && x.ndim > 2) {
    // fold the batch into rows: one 2-D product, no broadcast copy of y
    const lead = x.shape.slice(0, -2);
    const r = bind("matmul", {}, [reshape(x, [sizeOf(lead) * m, k1]), y]);
    out = reshape(r, [...lead, m, n]);
  } else {
    const batch = broadcastShapes("matmul", x.shape.slice(0, -2), y.shape.slice(0, -2));
    const xb = broadcastTo_(x, [...batch, m, k1]);
    const yb = broadcastTo_(y, [...batch, k1, n]);
    out = bind("matmul", {}, [xb, yb]);
  }
  if (aVec && bVec) return reshape(out, out.shape.slice(0, -2));
  if (aVec) return reshape(out, [...out.shape.slice(0, -2), n]);
  if (bVec) return reshape(out, out.shape.slice(0, -1));
  return out;
}

/**
 * NumPy `dot`: inner product of vectors, matrix product of matrices, and for N-D a sum product
 * over the last axis of `a` and the second-to-last of `b`.
 * @example
 * ```ts
 * import { dot, tensor } from "tenfold";
 * console.log(dot(tensor([1, 2, 3]), tensor([4, 5, 6])).arraySync()); // 32
 * ```
 */
export function dot(a: TensorLike, b: TensorLike): Tensor {
  const x = asTensor(a, "dot");
  const y = asTensor(b, "dot");
  if (x.ndim === 0 || y.ndim === 0) return multiply(x, y);
  const [ka, kb] = [x.shape[x.ndim - 1]!, y.shape[y.ndim === 1 ? 0 : y.ndim - 2]!];
  if (ka !== kb)
    throw new ShapeError(
      `dot: shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)} are not aligned: ${ka} (last axis of a) != ${kb} (${y.ndim === 1 ? "axis 0" : "second-to-last axis"} of b)`,
    );
  if (y.ndim === 1) return tensordot(x, y, { axes: [[x.ndim - 1], [0]] });
  return tensordot(x, y, { axes: [[x.ndim - 1], [y.ndim - 2]] });
}

/**
 * Sum product over the given axes (`axes: n` contracts the last n of `a` with the first n of `b`).
 * @example
 * ```ts
 * import { tensordot, ones } from "tenfold";
 * console.log(tensordot(ones([2, 3, 4]), ones([3, 4, 5]), { axes: 2 }).shape); // [2, 5]
 * ```
 */
export function tensordot(a: TensorLike, b: TensorLike, options: { axes?: number | readonly [readonly number[], readonly number[]] } = {}): Tensor {
  const d = resultDType([a, b]);
  const x = cast(asTensor(a, "tensordot"), d === "bool" ? "int32" : d);
  const y = cast(asTensor(b, "tensordot"), d === "bool" ? "int32" : d);
  const axes = options.axes ?? 2;
  let ax: number[];
  let bx: number[];
  if (typeof axes === "number") {
    if (axes > x.ndim || axes > y.ndim) throw new ShapeError(`tensordot: axes=${axes} exceeds the rank of ${fmtShape(x.shape)} or ${fmtShape(y.shape)}`);
    ax = Array.from({ length: axes }, (_, i) => x.ndim - axes + i);
    bx = Array.from({ length: axes }, (_, i) => i);
  } else {
    ax = axes[0].map((v) => normAxis("tensordot", v, x.ndim, x.shape));
    bx = axes[1].map((v) => normAxis("tensordot", v, y.ndim, y.shape));
  }
  if (ax.length !== bx.length) throw new ShapeError(`tensordot: axes lists differ in length: ${JSON.stringify(ax)} vs ${JSON.stringify(bx)}`);
  ax.forEach((v, i) => {
    if (x.shape[v] !== y.shape[bx[i]!]) {
      throw new ShapeError(
        `tensordot: axis ${v} of ${fmtShape(x.shape)} (size ${x.shape[v]}) does not match axis ${bx[i]} of ${fmtShape(y.shape)} (size ${y.shape[bx[i]!]})`,
      );
    }
  });
  const freeA = x.shape.map((_, i) => i).filter((i) => !ax.includes(i));
  const freeB = y.shape.map((_, i) => i).filter((i) => !bx.includes(i));
  const c = ax.reduce((p, v) => p * x.shape[v]!, 1);
  const fa = freeA.map((i) => x.shape[i]!);
  const fb = freeB.map((i) => y.shape[i]!);
  const xm = reshape(permuteDims(x, [...freeA, ...ax]), [sizeOf(fa), c]);
  const ym = reshape(permuteDims(y, [...bx, ...freeB]), [c, sizeOf(fb)]);
  return reshape(bind("matmul", {}, [xm, ym]), [...fa, ...fb]);
}

/**
 * Outer product of two vectors (inputs are flattened).
 * @example
 * ```ts
 * import { outer, tensor } from "tenfold";
 * console.log(outer(tensor([1, 2]), tensor([3, 4])).arraySync()); // [[3, 4], [6, 8]]
 * ```
 */
export function outer(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = [asTensor(a, "outer"), asTensor(b, "outer")];
  checkShape("outer", [x.size, y.size]);
  return multiply(reshape(x, [-1, 1]), reshape(y, [1, -1]));
}

interface Term {
  t: Tensor;
  ix: string[];
}

function diagonal(term: Term): Term {
  for (let i = 0; i < term.ix.length; i++) {
    const j = term.ix.indexOf(term.ix[i]!, i + 1);
    if (j < 0) continue;
    const { t } = term;
    const n = t.shape[i]!;
    if (t.shape[j] !== n) throw new ShapeError(`einsum: repeated index "${term.ix[i]}" has sizes ${n} and ${t.shape[j]}`);
    const rest = t.shape.map((_, k) => k).filter((k) => k !== i && k !== j);
    const p = permuteDims(t, [...rest, i, j]);
    const flat = reshape(p, [...rest.map((k) => t.shape[k]!), n * n]);
    const starts = flat.shape.map(() => 0);
    const strides = flat.shape.map((_, k) => (k === flat.ndim - 1 ? n + 1 : 1));
    const dg = slice(flat, starts, undefined, { strides });
    return diagonal({ t: dg, ix: [...rest.map((k) => term.ix[k]!), term.ix[i]!] });
  }
  return term;
}

function sumOut(term: Term, needed: Set<string>): Term {
  const axes = term.ix.map((l, i) => (needed.has(l) ? -1 : i)).filter((i) => i >= 0);
  if (!axes.length) return term;
  return { t: sum(term.t, { axis: axes }), ix: term.ix.filter((l) => needed.has(l)) };
}

function contract(a: Term, b: Term, needed: Set<string>): Term {
  const inB = new Set(b.ix);
  const inA = new Set(a.ix);
  const batch = a.ix.filter((l) => inB.has(l) && needed.has(l));
  const con = a.ix.filter((l) => inB.has(l) && !needed.has(l));
  const fa = a.ix.filter((l) => !inB.has(l));
  const fb = b.ix.filter((l) => !inA.has(l));
  const size = (t: Term, l: string): number => t.t.shape[t.ix.indexOf(l)]!;
  const bsz = batch.map((l) => Math.max(size(a, l), size(b, l)));
  for (const l of [...batch, ...con]) {
    const [s1, s2] = [size(a, l), size(b, l)];
    if (s1 !== s2 && s1 !== 1 && s2 !== 1) throw new ShapeError(`einsum: index "${l}" has sizes ${s1} and ${s2}`);
  }
  const csz = con.map((l) => Math.max(size(a, l), size(b, l)));
  const pa = permuteDims(
    a.t,
    [...batch, ...fa, ...con].map((l) => a.ix.indexOf(l)),
  );
  const pb = permuteDims(
    b.t,
    [...batch, ...con, ...fb].map((l) => b.ix.indexOf(l)),
  );
  const fas = fa.map((l) => size(a, l));
  const fbs = fb.map((l) => size(b, l));
  const xa = reshape(broadcastTo_(pa, [...bsz, ...fas, ...csz]), [sizeOf(bsz), sizeOf(fas), sizeOf(csz)]);
  const xb = reshape(broadcastTo_(pb, [...bsz, ...csz, ...fbs]), [sizeOf(bsz), sizeOf(csz), sizeOf(fbs)]);
  const r = bind("matmul", {}, [xa, xb]);
  return { t: reshape(r, [...bsz, ...fas, ...fbs]), ix: [...batch, ...fa, ...fb] };
}

/**
 * Einstein summation (`"ij,jk->ik"`, implicit output, repeated indices for diagonals, `...`).
 * @example
 * ```ts
 * import { einsum, tensor } from "tenfold";
 * const a = tensor([[1, 2], [3, 4]]);
 * console.log(einsum("ij,jk->ik", a, a).arraySync()); // [[7, 10], [15, 22]]
 * console.log(einsum("ii->", a).arraySync()); // 5
 * ```
 */
export function einsum(subscripts: string, ...operands: TensorLike[]): Tensor {
  if (typeof subscripts !== "string") throw new ShapeError(`einsum: subscripts must be a string like "ij,jk->ik", got ${typeof subscripts}`);
  const spec = subscripts.replace(/\s+/g, "");
  const parts = spec.split("->");
  if (parts.length > 2) throw new ShapeError(`einsum: subscripts "${subscripts}" have ${parts.length - 1} "->"; at most one is allowed ("inputs->output")`);
  const [lhs, rhsGiven] = parts as [string, string | undefined];
  const inputs = lhs.split(",");
  if (inputs.length !== operands.length) throw new ShapeError(`einsum: "${subscripts}" names ${inputs.length} operands, got ${operands.length}`);
  const d = resultDType(operands);
  const ts = operands.map((o) => cast(asTensor(o, "einsum"), d === "bool" ? "int32" : d));
  const ellRank = Math.max(0, ...inputs.map((s, i) => (s.includes("...") ? ts[i]!.ndim - (s.length - 3) : 0)));
  const ellLetters = Array.from({ length: ellRank }, (_, i) => String.fromCharCode(0x3b1 + i));
  let terms: Term[] = inputs.map((s, i) => {
    const t = ts[i]!;
    let ix: string[];
    if (s.includes("...")) {
      const [pre, post] = s.split("...") as [string, string];
      const k = t.ndim - pre.length - post.length;
      if (k < 0) throw new ShapeError(`einsum: operand ${i} of shape ${fmtShape(t.shape)} has too few axes for "${s}"`);
      ix = [...pre, ...ellLetters.slice(ellRank - k), ...post];
    } else ix = [...s];
    if (ix.length !== t.ndim) throw new ShapeError(`einsum: operand ${i} has shape ${fmtShape(t.shape)} but subscripts "${s}" name ${ix.length} axes`);
    for (const l of ix) if (!/^[a-zA-Z\u03b1-\u03c9]$/.test(l)) throw new ShapeError(`einsum: invalid subscript "${l}" in "${subscripts}"`);
    return diagonal({ t, ix });
  });
  let out: string[];
  if (rhsGiven !== undefined) {
    out = rhsGiven.includes("...") ? [...rhsGiven.split("...")[0]!, ...ellLetters, ...rhsGiven.split("...")[1]!] : [...rhsGiven];
  } else {
    const counts = new Map<string, number>();
    for (const s of inputs) for (const l of s.replace("...", "")) counts.set(l, (counts.get(l) ?? 0) + 1);
    out = [...ellLetters, ...[...counts.keys()].filter((l) => counts.get(l) === 1).sort()];
  }
  if (rhsGiven !== undefined) {
    const bare = rhsGiven.replace("...", "");
    if (bare.includes(".")) throw new ShapeError(`einsum: invalid output subscripts "${rhsGiven}" in "${subscripts}"`);
    for (const l of bare) if (!/^[a-zA-Z]$/.test(l)) throw new ShapeError(`einsum: invalid subscript "${l}" in the output of "${subscripts}"`);
    if (new Set(out).size !== out.length) throw new ShapeError(`einsum: output subscripts "${rhsGiven}" repeat an index in "${subscripts}"`);
  }
  const all = new Set(terms.flatMap((t) => t.ix));
  for (const l of out) if (!all.has(l)) throw new ShapeError(`einsum: output index "${l}" does not appear in the inputs of "${subscripts}"`);
  const neededAfter = (k: number): Set<string> => new Set([...out, ...terms.slice(k + 1).flatMap((t) => t.ix)]);
  terms = terms.map((t, k) => sumOut(t, new Set([...out, ...terms.filter((_, j) => j !== k).flatMap((u) => u.ix)])));
  let acc = terms[0]!;
  for (let k = 1; k < terms.length; k++) acc = contract(acc, terms[k]!, neededAfter(k));
  acc = sumOut(acc, new Set(out));
  return permuteDims(
    acc.t,
    out.map((l) => acc.ix.indexOf(l)),
  );
}
