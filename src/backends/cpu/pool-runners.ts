/**
 * CPU runners of the max-pooling primitives (`maxPool`, `maxPoolGather`, `maxPoolScatter`) over
 * float32 values: typed loops over the window table of core/pool.ts (built once per kernel), with
 * the reference rules' exact semantics (each window's NaN-propagating maximum; its selected
 * position: the fold that moves to a value unless `current >= value`). Other dtypes run the
 * reference rules themselves. A scatter whose windows cannot overlap (strides ≥ window) writes
 * each gradient straight into place; overlapping ones sum in float64, rounded once (as the
 * reference).
 */
import type { Node } from "../../core/node.js";
import { poolTable } from "../../core/pool.js";
import type { PoolParams } from "../../core/pool.js";
import { sizeOf } from "../../core/shape.js";
import type { OpaqueKernel } from "../../scheduler/ir.js";
import type { Runner } from "./matmul-runners.js";

type Table = ReturnType<typeof poolTable>;

/** vals[w] = the maximum of window w of x (NaN when it holds one; padding is −Inf). */
function maxF32(x: Float32Array, t: Table, vals: Float32Array): void {
  const { lead, inner, outer, k, off } = t;
  for (let l = 0, base = 0, w = 0; l < lead; l++, base += inner) {
    for (let q = 0, row = 0; q < outer; q++, row += k, w++) {
      let m = -Infinity;
      for (let j = 0; j < k; j++) {
        const o = off[row + j]!;
        if (o >= 0) m = Math.max(m, x[base + o]!);
      }
      vals[w] = m;
    }
  }
}

/** sel[w] = the flat index of window w's selected position in x, −1 when it is padding. */
function selectF32(x: Float32Array, t: Table, sel: Int32Array): void {
  const { lead, inner, outer, k, off } = t;
  for (let l = 0, base = 0, w = 0; l < lead; l++, base += inner) {
    for (let q = 0, row = 0; q < outer; q++, row += k, w++) {
      let o = off[row]!;
      let s = o < 0 ? -1 : base + o;
      let cur = o < 0 ? -Infinity : x[base + o]!;
      for (let j = 1; j < k; j++) {
        o = off[row + j]!;
        const v = o < 0 ? -Infinity : x[base + o]!;
        if (!(cur >= v)) {
          cur = v;
          s = o < 0 ? -1 : base + o;
        }
      }
      sel[w] = s;
    }
  }
}

/** Unpadded 2-D windows: sizes [h, w] of the slab, [oh, ow] out, window [kh, kw], strides [sh, sw]. */
interface Plain2d {
  readonly lead: number;
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
}

/** max2d for 2×2 windows: the four values of each window read directly. */
function max2x2(x: Float32Array, g: Plain2d, vals: Float32Array): void {
  const { lead, h, w, oh, ow, sh, sw } = g;
  for (let l = 0, wi = 0; l < lead; l++) {
    for (let i = 0; i < oh; i++) {
      const r0 = l * h * w + i * sh * w;
      for (let j = 0, c = r0; j < ow; j++, wi++, c += sw) vals[wi] = Math.max(x[c]!, x[c + 1]!, x[c + w]!, x[c + w + 1]!);
    }
  }
}

/** select2d for 2×2 windows. */
function select2x2(x: Float32Array, g: Plain2d, sel: Int32Array): void {
  const { lead, h, w, oh, ow, sh, sw } = g;
  for (let l = 0, wi = 0; l < lead; l++) {
    for (let i = 0; i < oh; i++) {
      const r0 = l * h * w + i * sh * w;
      for (let j = 0, c = r0; j < ow; j++, wi++, c += sw) {
        let s = c;
        let cur = x[c]!;
        let v = x[c + 1]!;
        if (!(cur >= v)) {
          cur = v;
          s = c + 1;
        }
        v = x[c + w]!;
        if (!(cur >= v)) {
          cur = v;
          s = c + w;
        }
        if (!(cur >= x[c + w + 1]!)) s = c + w + 1;
        sel[wi] = s;
      }
    }
  }
}

/** maxF32 for unpadded 2-D windows, by row arithmetic instead of the table (≈ 2× faster). */
function max2d(x: Float32Array, g: Plain2d, vals: Float32Array): void {
  const { lead, h, w, oh, ow, kh, kw, sh, sw } = g;
  if (kh === 2 && kw === 2) return max2x2(x, g, vals);
  for (let l = 0, wi = 0; l < lead; l++) {
    for (let i = 0; i < oh; i++) {
      const r0 = l * h * w + i * sh * w;
      for (let j = 0; j < ow; j++, wi++) {
        let m = -Infinity;
        for (let a = 0, r = r0 + j * sw; a < kh; a++, r += w) {
          for (let b = 0; b < kw; b++) m = Math.max(m, x[r + b]!);
        }
        vals[wi] = m;
      }
    }
  }
}

/** selectF32 for unpadded 2-D windows. */
function select2d(x: Float32Array, g: Plain2d, sel: Int32Array): void {
  const { lead, h, w, oh, ow, kh, kw, sh, sw } = g;
  if (kh === 2 && kw === 2) return select2x2(x, g, sel);
  for (let l = 0, wi = 0; l < lead; l++) {
    for (let i = 0; i < oh; i++) {
      const r0 = l * h * w + i * sh * w;
      for (let j = 0; j < ow; j++, wi++) {
        const first = r0 + j * sw;
        let s = first;
        let cur = x[first]!;
        for (let a = 0, r = first; a < kh; a++, r += w) {
          for (let b = a === 0 ? 1 : 0; b < kw; b++) {
            const v = x[r + b]!;
            if (!(cur >= v)) {
              cur = v;
              s = r + b;
            }
          }
        }
        sel[wi] = s;
      }
    }
  }
}

/** The unpadded 2-D geometry of a pool, if it is one. */
function plain2d(p: PoolParams, xs: readonly number[]): Plain2d | undefined {
  if (p.window.length !== 2 || p.padding.some(([lo, hi]) => lo !== 0 || hi !== 0)) return undefined;
  const [h, w] = xs.slice(-2) as [number, number];
  const [kh, kw] = p.window as [number, number];
  const [sh, sw] = p.strides as [number, number];
  const lead = sizeOf(xs.slice(0, -2));
  return { lead, h, w, oh: Math.floor((h - kh) / sh) + 1, ow: Math.floor((w - kw) / sw) + 1, kh, kw, sh, sw };
}

const isF32 = (n: Node): boolean => n.dtype === "float32";

/**
 * The runner of a pooling kernel over float32 operands (undefined for other dtypes: the caller
 * runs the reference rule).
 */
export function poolRunner(k: OpaqueKernel, n: Node): Runner | undefined {
  if (n.prim !== "maxPool" && n.prim !== "maxPoolGather" && n.prim !== "maxPoolScatter") return undefined;
  const p: PoolParams = n.params;
  const xNode = n.prim === "maxPool" ? n.inputs[0]! : n.inputs[1]!;
  if (!isF32(xNode) || !n.inputs.every(isF32)) return undefined;
  const table = poolTable(p, xNode.shape);
  const flat = plain2d(p, xNode.shape);
  const maxOf = (x: Float32Array, vals: Float32Array): void => (flat ? max2d(x, flat, vals) : maxF32(x, table, vals));
  const selectOf = (x: Float32Array, sel: Int32Array): void => (flat ? select2d(x, flat, sel) : selectF32(x, table, sel));
  const xSlot = k.inputs[n.prim === "maxPool" ? 0 : 1]!;
  const xSize = sizeOf(xNode.shape);
  if (n.prim === "maxPool") return (bufs) => maxOf(bufs[xSlot]!.subarray(0, xSize) as Float32Array, bufs[k.output] as Float32Array);
  const sel = new Int32Array(table.lead * table.outer);
  const vSlot = k.inputs[0]!;
  if (n.prim === "maxPoolGather")
    return (bufs) => {
      selectOf(bufs[xSlot]! as Float32Array, sel);
      const t = bufs[vSlot] as Float32Array;
      const out = bufs[k.output] as Float32Array;
      for (let w = 0; w < sel.length; w++) out[w] = sel[w]! < 0 ? 0 : t[sel[w]!]!;
    };
  const overlap = p.strides.some((s, i) => s < p.window[i]!);
  let acc: Float64Array | undefined;
  return (bufs) => {
    selectOf(bufs[xSlot]! as Float32Array, sel);
    const g = bufs[vSlot] as Float32Array;
    const out = (bufs[k.output] as Float32Array).subarray(0, xSize);
    if (!overlap) {
      out.fill(0);
      for (let w = 0; w < sel.length; w++) if (sel[w]! >= 0) out[sel[w]!] = g[w]!;
      return;
    }
    acc ??= new Float64Array(xSize);
    acc.fill(0);
    for (let w = 0; w < sel.length; w++) {
      const s = sel[w]!;
      if (s >= 0) acc[s] = acc[s]! + g[w]!;
    }
    out.set(acc);
  };
}
