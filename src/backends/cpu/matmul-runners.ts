/**
 * The matmul runners of the CPU program executor: plain and batched products (table gemm over
 * all batch entries when A fits in L2), products fused with the elementwise kernel producing
 * their B operand (packed while produced), and products whose result is kept for a next kernel.
 */
import type { TypedArray } from "../../core/dtype.js";
import { sizeOf, stridesOf } from "../../core/shape.js";
import type { ElementwiseKernel, Kernel, MatmulKernel, Program, StridedOperand } from "../../scheduler/ir.js";
import type { KernelFn } from "./codegen.js";
import { elementwiseFn, matmulEpilogueFn, packFn } from "./codegen.js";
import type { Strided } from "./matmul.js";
import type { GemmTable } from "./matmul.js";
import { gatherStats, gemmTable, igemm, packedBOffset, sgemmAuto, sgemmFused, sgemmTable, simdGemmFor, stridedTable } from "./matmul.js";
import { NR } from "./wasm.js";

/** Runs one kernel over the program's buffer slots. */
export type Runner = (bufs: TypedArray[]) => void;

/**
 * The epilogue's operands, taken before the gemm writes the product: an operand that is the
 * output's own array (a donated input written over in place, see donation.ts: an SGD update
 * `p − lr·(xᵀ·dy)` whose epilogue reads p) is first copied into `spare` (kept by the runner), as
 * the product overwrites it before the epilogue reads it.
 */
function epilogueOperands(k: MatmulKernel, bufs: readonly TypedArray[], out: TypedArray, spare: { a?: TypedArray }): TypedArray[] {
  return k.inputs.map((s) => {
    const a = bufs[s]!;
    if (a !== out) return a;
    if (spare.a?.length !== a.length || spare.a.constructor !== a.constructor) spare.a = new (a.constructor as new (n: number) => TypedArray)(a.length);
    spare.a.set(a);
    return spare.a;
  });
}

/** A (batched) matmul kernel with its elementwise epilogue. */
export function matmulRunner(k: Extract<Kernel, { kind: "matmul" }>): Runner {
  const epi: KernelFn | undefined = matmulEpilogueFn(k);
  const gemm = k.dtype === "int32" ? igemm : sgemmAuto;
  const r = k.batch.length;
  const nb = sizeOf(k.batch);
  const { aOffs, bOffs } = batchOffsets(k);
  // A batched float product whose per-entry A fits in L2 runs as one table gemm over all
  // entries (B's panels gathered per thread, C written in place); else one gemm per entry.
  const table =
    k.dtype === "float32" && nb > 1 && k.m * k.k * 4 <= TABLE_MAX_A_BYTES && simdGemmFor(k.m, k.n, k.k)
      ? stridedTable(bOffs, k.b.strides[r]!, k.b.strides[r + 1]!, k.k, k.n)
      : null;
  const broadcastA = k.a.strides.slice(0, r).every((x) => x === 0);
  const spare: { a?: TypedArray } = {};
  return (bufs) => {
    const out = bufs[k.output]!;
    const operands = epi ? epilogueOperands(k, bufs, out, spare) : undefined;
    const A = bufs[k.inputs[k.a.input]!]!;
    const B = bufs[k.inputs[k.b.input]!]!;
    const As = { data: A, off: k.a.offset, rs: k.a.strides[r]!, cs: k.a.strides[r + 1]! };
    if (
      table &&
      A instanceof Float32Array &&
      B instanceof Float32Array &&
      out instanceof Float32Array &&
      sgemmTable(As, broadcastA ? undefined : aOffs, table, B, out, 0, k.m, nb, k.n, k.k)
    ) {
      // done on the table gemm
    } else {
      for (let bi = 0; bi < nb; bi++) {
        gemm(
          { data: A, off: aOffs[bi]!, rs: k.a.strides[r]!, cs: k.a.strides[r + 1]! },
          { data: B, off: bOffs[bi]!, rs: k.b.strides[r]!, cs: k.b.strides[r + 1]! },
          out,
          bi * k.m * k.n,
          k.m,
          k.n,
          k.k,
        );
      }
    }
    if (epi) epi(...operands!, out);
  };
}

/** Largest A (one batch entry) for the table gemm: its packed tiles are re-read for every B panel. */
const TABLE_MAX_A_BYTES = 512 * 1024;

/** Element offsets of A and B for each batch entry of a matmul kernel. */
function batchOffsets(k: MatmulKernel): { aOffs: number[]; bOffs: number[] } {
  const nb = sizeOf(k.batch);
  const bStr = stridesOf(k.batch);
  const offs = (o: StridedOperand): number[] =>
    Array.from({ length: nb }, (_, bi) => k.batch.reduce((s, size, d) => s + (Math.floor(bi / bStr[d]!) % size) * o.strides[d]!, o.offset));
  return { aOffs: offs(k.a), bOffs: offs(k.b) };
}

/**
 * Implicit im2col: a float matmul whose B is the output of an elementwise kernel that only
 * matmuls read as B (the im2col patches of a conv: see `matmulFusions`). The producer is not run:
 * - when it only copies elements of its one float input (found once by probing it, see
 *   `gemmTable`), the table gemm gathers each B panel from that input inside the gemm's threads
 *   (`sgemmTable`; A is packed once, or once per batch entry when it differs);
 * - else, when the product has no batch and B is contiguous (`packable`), the gemm's B panels
 *   are packed by a routine generated from the producer's body (`packFn`).
 * Otherwise the producer runs (`src.produce`, once per call) and the product runs as usual.
 * `src.source` gives the producer's inputs (a snapshot when the memory plan may have reused
 * their buffers by now). With `keep`, the product stays in wasm memory for the next kernel (its
 * only reader), which reads it through `keep.set` instead of a copy into the output slot.
 */
export function fusedMatmulRunner(
  k: MatmulKernel,
  producer: ElementwiseKernel,
  packable: boolean,
  bSize: number,
  keep: { set(c: Float32Array): void } | undefined,
  src: { source(bufs: TypedArray[]): TypedArray[]; produce: Runner },
): Runner {
  const { m, n, k: kk } = k;
  const r = k.batch.length;
  const nb = sizeOf(k.batch);
  const offs = batchOffsets(k);
  const bOffs = offs.bOffs;
  // A per image, unless it is the same for all (broadcast).
  const aOffs = nb > 1 && k.a.strides.slice(0, r).some((x) => x !== 0) ? offs.aOffs : undefined;
  const plain = elementwiseFn(producer);
  const epi = matmulEpilogueFn(k);

  const pack = packable ? packFn(producer, kk, n, NR, packedBOffset(m, kk)) : undefined;
  const unfused = matmulRunner(k);
  // The gather table (built on the first call; null: the producer is not a gather).
  let table: (GemmTable & { inLen: number }) | null | undefined;
  const strided = (d: TypedArray, o: StridedOperand): Strided => ({ data: d, off: o.offset, rs: o.strides[r]!, cs: o.strides[r + 1]! });
  const spare: { a?: TypedArray } = {};
  return (bufs) => {
    const out = bufs[k.output]!;
    const operands = epi ? epilogueOperands(k, bufs, out, spare) : undefined;
    const A = strided(bufs[k.inputs[k.a.input]!]!, k.a);
    const ins = src.source(bufs);
    const inp = ins.length === 1 && ins[0] instanceof Float32Array ? ins[0] : undefined;
    const simd = simdGemmFor(m, n, kk);
    if (simd && inp && (table === undefined || (table !== null && table.inLen !== inp.length))) {
      const t = gemmTable((x, o) => plain(x, o), inp.length, bSize, bOffs, k.b.strides[r]!, k.b.strides[r + 1]!, kk, n);
      table = t ? { ...t, inLen: inp.length } : null;
    }
    if (simd && inp && table && sgemmTable(A, aOffs, table, inp, out as Float32Array, 0, m, nb, n, kk, keep ? (c) => keep.set(c) : undefined)) {
      gatherStats.implicit++;
    } else if (simd && pack) {
      const B = strided(bufs[k.inputs[k.b.input]!]!, k.b);
      const packB = (f: Float32Array, pb: number): void => {
        if (pb !== packedBOffset(m, kk)) throw new Error("cpu backend: unexpected packed B offset");
        pack(...ins, f);
      };
      sgemmFused(A, B, out, 0, m, n, kk, { packB, keepC: keep ? (c) => keep.set(c) : undefined });
    } else {
      src.produce(bufs);
      unfused(bufs);
      return;
    }
    // (A kept product has no epilogue: see matmulFusions.)
    if (epi) epi(...operands!, out);
  };
}

/** A float matmul without batch whose product stays in wasm memory for its one reader (see `fusedMatmulRunner`). */
export function keptMatmulRunner(k: MatmulKernel, keep: { set(c: Float32Array): void }): Runner {
  const unfused = matmulRunner(k);
  const r = k.batch.length;
  const strided = (d: TypedArray, o: StridedOperand): Strided => ({ data: d, off: o.offset, rs: o.strides[r]!, cs: o.strides[r + 1]! });
  return (bufs) => {
    if (!simdGemmFor(k.m, k.n, k.k)) return unfused(bufs);
    const A = strided(bufs[k.inputs[k.a.input]!]!, k.a);
    const B = strided(bufs[k.inputs[k.b.input]!]!, k.b);
    sgemmFused(A, B, bufs[k.output]!, 0, k.m, k.n, k.k, { keepC: (c) => keep.set(c) });
  };
}

/** Matmul kernel i's fusions with its neighbours (see `fusedMatmulRunner`). */
export function matmulFusions(
  kernels: readonly Kernel[],
  slots: Program["slots"],
  simd: readonly unknown[],
): { pack: Map<number, { producer: number; packable: boolean }>; keep: Map<number, number> } {
  const readers = new Map<number, number[]>();
  kernels.forEach((k, i) => {
    for (const s of new Set(k.inputs)) (readers.get(s) ?? readers.set(s, []).get(s)!).push(i);
  });
  const only = (s: number, i: number): boolean =>
    slots[s]!.kind === "temp" && slots[s]!.dtype === "float32" && readers.get(s)?.length === 1 && readers.get(s)![0] === i;
  const pack = new Map<number, { producer: number; packable: boolean }>();
  const keep = new Map<number, number>();
  kernels.forEach((mk, i) => {
    if (mk.kind !== "matmul" || mk.dtype !== "float32" || mk.n < 2) return;
    const r = mk.batch.length;
    const e = kernels[i - 1];
    const S = mk.inputs[mk.b.input]!;
    const epiReads = new Set(mk.epilogue.flatMap((x) => (x.op === "load" ? [mk.inputs[x.input]!] : [])));
    if (e?.kind !== "elementwise" || simd[i - 1] || e.output !== S || !only(S, i) || mk.inputs[mk.a.input] === S || epiReads.has(S)) return;
    const packable =
      sizeOf(mk.batch) === 1 &&
      mk.b.offset === 0 &&
      mk.b.strides[r] === mk.n &&
      mk.b.strides[r + 1] === 1 &&
      e.shape[e.shape.length - 1] === mk.n &&
      sizeOf(e.shape) === mk.k * mk.n;
    const gather = e.inputs.length === 1 && slots[e.inputs[0]!]!.dtype === "float32";
    if (packable || gather) pack.set(i, { producer: i - 1, packable });
  });
  // A gather producer read only as B by several float matmuls (a conv's patches in forward and
  // weight-gradient products) is gathered by each of them.
  kernels.forEach((e, p) => {
    if (e.kind !== "elementwise" || simd[p] || e.inputs.length !== 1 || slots[e.inputs[0]!]!.dtype !== "float32") return;
    const S = e.output;
    const rs = readers.get(S) ?? [];
    if (slots[S]!.kind !== "temp" || rs.length < 2 || rs.some((i) => i <= p)) return;
    const ok = rs.every((i) => {
      const mk = kernels[i]!;
      return (
        mk.kind === "matmul" &&
        mk.dtype === "float32" &&
        mk.n >= 2 &&
        mk.inputs[mk.b.input] === S &&
        mk.inputs.filter((s) => s === S).length === 1 &&
        !mk.epilogue.some((x) => x.op === "load" && mk.inputs[x.input] === S)
      );
    });
    if (ok) for (const i of rs) pack.set(i, { producer: p, packable: false });
  });
  // A kept product lives in the gemm's memory: its reader must not be packing the next gemm.
  kernels.forEach((mk, i) => {
    const c = kernels[i + 1];
    if (
      mk.kind === "matmul" &&
      mk.dtype === "float32" &&
      c?.kind === "elementwise" &&
      !simd[i + 1] &&
      !pack.has(i + 2) &&
      (sizeOf(mk.batch) === 1 || pack.has(i)) &&
      mk.epilogue.length === 1 &&
      mk.epilogue[0]!.op === "acc" &&
      only(mk.output, i + 1)
    )
      keep.set(i, i + 1);
  });
  return { pack, keep };
}
