/**
 * Text form of a tensor for `toString()`, `console.log` and `util.inspect`: dtype, shape, device
 * and a NumPy-style preview of the values. Never computes anything: a tensor whose graph has not
 * run yet prints as lazy, and a computed tensor whose data lives on a device that cannot be read
 * synchronously (WebGPU) prints without values. Large tensors are summarised with `...` (the
 * first and last three entries of each axis), as NumPy does past 1000 elements.
 */
import type { DType, TypedArray } from "./dtype.js";
import type { Shape } from "./shape.js";
import { sizeOf } from "./shape.js";
import type { Node } from "./node.js";
import { backendInstance, getBackend } from "./backend.js";

/** Past this many elements the preview is summarised (NumPy's default threshold). */
export const SUMMARY_THRESHOLD = 1000;
/** Entries shown at each end of a summarised axis (NumPy's `edgeitems`). */
export const EDGE_ITEMS = 3;

/** What the formatter needs from a tensor (structural, so this module does not import Tensor). */
export interface Inspectable {
  readonly shape: number[];
  readonly dtype: DType;
  /** Throws when the tensor was disposed. */
  readonly node: Node;
}

/** The backend holding a node's data, or the backend that would compute it. */
function deviceOf(n: Node): string {
  const s = n.isBuffer() ? n.storage : undefined;
  if (!s) return getBackend();
  const [first] = [...s.device.keys()];
  return first ?? (s.host ? getBackend() : "unknown");
}

/** The values of an already-computed node, read without running anything; undefined otherwise. */
function peek(n: Node): TypedArray | undefined {
  if (!n.isBuffer() || !n.storage) return undefined;
  const s = n.storage;
  if (s.host) return s.host;
  const [name] = [...s.device.keys()];
  if (name === undefined) return undefined;
  try {
    return backendInstance(name).readSync(s, n);
  } catch {
    return undefined; // e.g. WebGPU: only async reads
  }
}

/**
 * `tensor([[1, 2],\n        [3, 4]], dtype=float32, shape=[2, 2], device=cpu)` for a computed
 * tensor, `tensor(<lazy>, dtype=float32, shape=[2, 2], device=cpu)` for a pending one.
 */
export function formatTensor(t: Inspectable): string {
  const meta = (n: Node | undefined): string => `dtype=${t.dtype}, shape=[${t.shape.join(", ")}], device=${n ? deviceOf(n) : "none"}`;
  let n: Node;
  try {
    n = t.node;
  } catch {
    return `tensor(<disposed>, ${meta(undefined)})`;
  }
  if (n.traced) return `tensor(<traced>, ${meta(n)})`;
  if (!n.isBuffer()) return `tensor(<lazy>, ${meta(n)})`;
  const data = peek(n);
  if (!data) return `tensor(<not read: use await t.data()>, ${meta(n)})`;
  return `tensor(${formatData(data, n.shape, t.dtype)}, ${meta(n)})`;
}

function fmtNum(v: number, dtype: DType): string {
  if (dtype === "bool") return v ? "true" : "false";
  if (dtype === "int32") return String(v);
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-4 || a >= 1e8) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
}

/** Indices shown along an axis of length `n` (-1 marks the `...`). */
function shown(n: number, summarise: boolean): number[] {
  if (!summarise || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
  const head = Array.from({ length: EDGE_ITEMS }, (_, i) => i);
  const tail = Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i);
  return [...head, -1, ...tail];
}

/** NumPy-style nested brackets, right-aligned columns, `...` rows/columns past the threshold. */
export function formatData(data: TypedArray, shape: Shape, dtype: DType): string {
  if (shape.length === 0) return fmtNum(data[0]!, dtype);
  const summarise = sizeOf(shape) > SUMMARY_THRESHOLD;
  // Only the entries that are printed take part in the column width.
  const strs = new Map<number, string>();
  const collect = (dim: number, off: number): void => {
    const stride = sizeOf(shape.slice(dim + 1));
    for (const i of shown(shape[dim]!, summarise)) {
      if (i < 0) continue;
      if (dim === shape.length - 1) strs.set(off + i, fmtNum(data[off + i]!, dtype));
      else collect(dim + 1, off + i * stride);
    }
  };
  collect(0, 0);
  const width = Math.max(0, ...[...strs.values()].map((s) => s.length));
  const rec = (dim: number, off: number, indent: string): string => {
    const stride = sizeOf(shape.slice(dim + 1));
    const items: string[] = [];
    for (const i of shown(shape[dim]!, summarise)) {
      if (i < 0) items.push("...");
      else if (dim === shape.length - 1) items.push(strs.get(off + i)!.padStart(width));
      else items.push(rec(dim + 1, off + i * stride, indent + " "));
    }
    const sep = dim === shape.length - 1 ? ", " : "," + "\n".repeat(shape.length - dim - 1) + indent + " ";
    return `[${items.join(sep)}]`;
  };
  return rec(0, 0, "       ");
}
