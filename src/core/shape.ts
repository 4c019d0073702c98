/** Shapes, strides, NumPy broadcasting and axis normalization. */
import { ShapeError, fmtShape } from "./errors.js";

/** A tensor shape: one non-negative integer per dimension. */
export type Shape = readonly number[];

/** Number of elements in a shape (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C order) strides of a shape, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Structural equality of shapes. */
export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting of two or more shapes; throws a ShapeError naming the op. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = nd - s.length + i;
      const d = s[i]!;
      const o = out[j]!;
      if (o === 1) out[j] = d;
      else if (d !== 1 && d !== o) {
        throw new ShapeError(`${op}: shapes ${shapes.map(fmtShape).join(" and ")} cannot be broadcast together ` + `(axis ${j - nd}: ${o} vs ${d})`);
      }
    }
  }
  if (!Number.isSafeInteger(sizeOf(out))) {
    throw new ShapeError(`${op}: the broadcast shape ${fmtShape(out)} of ${shapes.map(fmtShape).join(" and ")} has more than 2^53 - 1 elements`);
  }
  return out;
}

/** Normalizes a possibly negative axis against `ndim`; throws a ShapeError if out of range. */
export function normAxis(op: string, axis: number, ndim: number, shape?: Shape): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    const where = shape ? ` of shape ${fmtShape(shape)}` : "";
    throw new ShapeError(`${op}: axis ${axis} is out of range for a tensor of rank ${ndim}${where}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalizes `axis` (number, array, or undefined = all axes) to a sorted unique list. */
export function normAxes(op: string, axis: number | readonly number[] | undefined | null, ndim: number, shape?: Shape): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === "number" ? [axis] : axis;
  const out = list.map((a) => normAxis(op, a, ndim, shape));
  if (new Set(out).size !== out.length) throw new ShapeError(`${op}: repeated axis in ${JSON.stringify(list)}`);
  return out.sort((a, b) => a - b);
}

/** Validates a user shape (non-negative integers). */
export function checkShape(op: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape)) throw new ShapeError(`${op}: shape must be an array of integers, got ${String(shape)}`);
  shape.forEach((d, i) => {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: invalid shape ${fmtShape(shape)}: dimension ${i} is ${String(d)} (dimensions must be non-negative integers)`);
    }
  });
  if (!Number.isSafeInteger(sizeOf(shape))) {
    throw new ShapeError(`${op}: shape ${fmtShape(shape)} has ${sizeOf(shape)} elements, more than 2^53 - 1 (the most a tensor can index exactly)`);
  }
  return [...shape];
}

/** Checks that `perm` is a permutation of 0..n-1. */
export function checkPerm(op: string, perm: readonly number[], ndim: number): number[] {
  const p = perm.map((a) => normAxis(op, a, ndim));
  if (p.length !== ndim || new Set(p).size !== ndim) {
    throw new ShapeError(`${op}: axes ${JSON.stringify(perm)} are not a permutation of ${ndim} axes`);
  }
  return p;
}
