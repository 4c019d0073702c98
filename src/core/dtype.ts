/**
 * dtypes and promotion. `float32` is the default float, `int32` the default integer, `bool` for
 * comparisons. Promotion follows the lattice bool < int32 < float32 (JAX's, restricted to these).
 *
 * Weak scalars (Python-like): a plain JS number mixed with a tensor takes the tensor's dtype when
 * it fits that kind: `add(int32Tensor, 2)` is int32, `add(int32Tensor, 1.5)` is float32 (a
 * non-integer number promotes an integer tensor to float32), `add(boolTensor, 1)` is int32, and
 * `add(float32Tensor, 3)` stays float32. A number alone becomes float32 (or int32 with `{dtype}`).
 */
import { DTypeError } from "./errors.js";

/** The element types tenfold tensors can have. */
export type DType = "float32" | "int32" | "bool" | "float16";

/** All dtypes, in promotion order. */
export const DTYPES: readonly DType[] = ["bool", "int32", "float16", "float32"];

const rank: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 3 };

/** Whether `d` is a floating dtype. */
export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float16";
}

/** The result dtype of combining two dtypes (NumPy/JAX style). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  // int32 with float16 promotes to float16 in JAX; keep that.
  return rank[a] >= rank[b] ? a : b;
}

/** The dtype a weak scalar takes next to a tensor of dtype `d`. */
export function weakScalarDType(value: number | boolean, d: DType): DType {
  if (typeof value === "boolean") return d;
  if (isFloat(d)) return d;
  if (Number.isInteger(value) || !Number.isFinite(value)) {
    if (!Number.isFinite(value)) return "float32";
    return d === "bool" ? "int32" : d;
  }
  return "float32";
}

/** The typed array class storing a dtype (float16 is stored widened to float32 on CPU). */
export type TypedArray = Float32Array | Int32Array | Uint8Array;

/** Allocates a zeroed typed array for `n` elements of dtype `d`. */
export function allocArray(d: DType, n: number): TypedArray {
  switch (d) {
    case "float32":
    case "float16":
      return new Float32Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** Node's Buffer (absent in browsers): `allocUnsafe` gives memory without the zero fill. */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(n: number): Uint8Array } }).Buffer;

/** Arrays of at least this many bytes skip the zero fill in `allocFilled`. */
const UNSAFE_MIN_BYTES = 1 << 20;

/**
 * A block just under glibc's largest dynamic mmap threshold (32 MiB on 64-bit), allocated and
 * dropped once, at the first big result on Linux (see `allocFilled`).
 */
const RAISE_BYTES = (32 << 20) - (64 << 10);
/** Results from this size on trigger it (glibc's initial trim threshold is 128 KiB). */
const RAISE_MIN_BYTES = 64 << 10;
let raised = false;

/**
 * A fresh array that the caller overwrites completely before anyone reads it (kernel outputs):
 * big ones come from `Buffer.allocUnsafe` where Node has it, skipping a zero fill the kernel
 * would overwrite anyway (its own ArrayBuffer of exactly this size, offset 0).
 *
 * On Linux, the first result of 64 KiB or more also allocates and drops one untouched block of
 * RAISE_BYTES. glibc serves it by mmap, and freeing it (at the next GC) raises the allocator's
 * dynamic thresholds to their maximum: results up to 32 MiB come from the heap, and the heap's
 * top is returned to the OS only past 64 MiB free, instead of 2× the biggest block freed so far
 * (128 KiB at first). Without it a loop making a 16 MB result per call has V8 free two results
 * per GC, exactly the 32 MB trim threshold: glibc returns them, and the next results fault their
 * pages back in (≈ 4,096 faults, 30–50 ms on a VM, in half the calls of a softmax loop; see
 * docs/troubleshooting.md); a loop of 64 KB matmul results faulted 14.7 pages per call (1,000
 * calls), 8 with the block freed.
 */
export function allocFilled(d: DType, n: number): TypedArray {
  const bytes = d === "bool" ? n : 4 * n;
  if (!raised && NodeBuffer && bytes >= RAISE_MIN_BYTES) {
    raised = true;
    if ((globalThis as { process?: { platform?: string } }).process?.platform === "linux") NodeBuffer.allocUnsafe(RAISE_BYTES);
  }
  if (!NodeBuffer || bytes < UNSAFE_MIN_BYTES) return allocArray(d, n);
  const b = NodeBuffer.allocUnsafe(bytes);
  if (b.byteOffset !== 0 || b.buffer.byteLength !== bytes) return allocArray(d, n);
  switch (d) {
    case "float32":
    case "float16":
      return new Float32Array(b.buffer, 0, n);
    case "int32":
      return new Int32Array(b.buffer, 0, n);
    case "bool":
      return new Uint8Array(b.buffer, 0, n);
  }
}

/** Validates a user-supplied dtype string. */
export function checkDType(d: unknown, op: string): DType {
  if (d === "float32" || d === "int32" || d === "bool" || d === "float16") return d;
  throw new DTypeError(`${op}: unknown dtype ${JSON.stringify(d)} (expected float32, int32, bool or float16)`);
}

/** Converts a JS number to the value stored for dtype `d`. */
export function castScalar(v: number, d: DType): number {
  switch (d) {
    case "float32":
    case "float16":
      return Math.fround(v);
    case "int32":
      return Number.isNaN(v) ? 0 : Math.trunc(v) | 0;
    case "bool":
      return v !== 0 ? 1 : 0;
  }
}
