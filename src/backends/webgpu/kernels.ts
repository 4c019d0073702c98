/**
 * WGSL kernel templates, one per kind of materialized node: `map` (elementwise/view roots with
 * their fused producers), reductions (per-thread loops for short reductions, a workgroup tree
 * reduction for long ones), argmax, cumsum, a tiled matmul using workgroup memory, and scatter-add.
 * Shapes and strides are baked into the source; operands are read through `load`, so views and
 * fused elementwise producers fold into every template.
 */
import type { DType } from "../../core/dtype.js";
import type { Node } from "../../core/node.js";
import { sizeOf } from "../../core/shape.js";
import type { Shape } from "../../core/shape.js";
import { Block, Emitter, load, ravel, tyOf, unravel } from "./codegen.js";
import { castExpr, helperCode, litOf } from "./scalar.js";

/** A generated kernel: WGSL source, the materialized nodes it binds (in order), the grid. */
export interface KernelSpec {
  readonly wgsl: string;
  readonly inputs: readonly Node[];
  readonly groups: readonly [number, number, number];
}

/** Options derived from the device limits. */
export interface KernelLimits {
  /** 1-D workgroup size (a power of two). */
  readonly wg: number;
  /** Most invocations per workgroup (tiled matmul uses 16×16 tiles when 256 are allowed). */
  readonly maxInvocations: number;
  readonly maxGroups: number;
}

export const BUILTINS =
  "@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nw: vec3<u32>";

export function grid1d(count: number, lim: KernelLimits, perGroup: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / perGroup));
  const x = Math.min(groups, lim.maxGroups);
  const y = Math.ceil(groups / x);
  if (y > lim.maxGroups) throw new Error(`webgpu: ${count} elements is too many for one dispatch on this device`);
  return [x, y, 1];
}

export function finish(em: Emitter, out: DType, body: string, pre = "", wgAttr = "", builtins = BUILTINS): string {
  return [helperCode(em.helpers), em.declarations(out), pre, `@compute ${wgAttr}`, `fn main(${builtins}) {`, body, "}"].join("\n");
}

export function storeExpr(v: string, d: DType): string {
  return d === "bool" ? `select(0u, 1u, ${v})` : v;
}

/** One thread per output element: computes `root` (and its fused producers). */
export function mapKernel(root: Node, mat: (n: Node) => boolean, lim: KernelLimits): KernelSpec {
  const em = new Emitter(mat);
  const b = new Block(em, "  ");
  const n = sizeOf(root.shape);
  b.stmt(`let gi = i32((wid.y * nw.x + wid.x) * ${lim.wg}u + lid);`);
  b.stmt(`if (gi >= ${n}) { return; }`);
  const idx = unravel(b, "gi", root.shape);
  const v = load(b, root, idx, true);
  b.stmt(`out[gi] = ${storeExpr(v, root.dtype)};`);
  return { wgsl: finish(em, root.dtype, b.text(), "", `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(n, lim, lim.wg) };
}

type RedPrim = "sum" | "rmax" | "rmin" | "prod";

/** Sum/max/min/prod over `axes`. */
export function reduceKernel(node: Node, mat: (n: Node) => boolean, lim: KernelLimits): KernelSpec {
  const prim = node.prim as RedPrim;
  const src = node.inputs[0]!;
  const axes = (node as Node<RedPrim>).params.axes;
  const outShape = src.shape.filter((_, d) => !axes.includes(d));
  const redShape = axes.map((a) => src.shape[a]!);
  const N = sizeOf(outShape);
  const R = sizeOf(redShape);
  const em = new Emitter(mat);
  const accTy = tyOf(node.dtype) === "f32" ? "f32" : "i32";
  const accD: DType = accTy === "f32" ? "float32" : "int32";
  if (accTy === "f32") em.helpers.add("minmax");
  const init =
    prim === "sum" ? litOf(0, accD, em)
    : prim === "prod" ? litOf(1, accD, em)
    : accTy === "f32" ? litOf(prim === "rmax" ? -Infinity : Infinity, accD, em)
    : prim === "rmax" ? "(-2147483647 - 1)" : "2147483647";
  const comb = (a: string, x: string): string =>
    prim === "sum" ? `${a} + ${x}`
    : prim === "prod" ? `${a} * ${x}`
    : accTy === "f32" ? `${prim === "rmax" ? "max_f" : "min_f"}(${a}, ${x})`
    : `${prim === "rmax" ? "max" : "min"}(${a}, ${x})`;
  const emitLoop = (b: Block, o: string, start: string, step: string): void => {
    const keep = unravel(b, o, outShape);
    b.stmt(`for (var r = ${start}; r < ${R}; r += ${step}) {`);
    const c = b.child();
    const red = unravel(c, "r", redShape);
    let ki = 0;
    let ri = 0;
    const full = src.shape.map((_, d) => (axes.includes(d) ? red[ri++]! : keep[ki++]!));
    const x = castExpr(em, load(c, src, full), src.dtype, accD);
    c.stmt(`acc = ${comb("acc", x)};`);
    b.lines.push(...c.lines, b.indent + "}");
  };
  const store = (v: string): string => storeExpr(node.dtype === "bool" ? `(${v} != 0)` : v, node.dtype);
  const b = new Block(em, "  ");
  if (R < 128 || N > 4096) {
    b.stmt(`let gi = i32((wid.y * nw.x + wid.x) * ${lim.wg}u + lid);`);
    b.stmt(`if (gi >= ${N}) { return; }`);
    b.stmt(`var acc: ${accTy} = ${init};`);
    emitLoop(b, "gi", "0", "1");
    b.stmt(`out[gi] = ${store("acc")};`);
    return { wgsl: finish(em, node.dtype, b.text(), "", `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(N, lim, lim.wg) };
  }
  b.stmt(`let o = i32(wid.y * nw.x + wid.x);`);
  b.stmt(`var acc: ${accTy} = ${init};`);
  b.stmt(`if (o < ${N}) {`);
  const inner = b.child();
  emitLoop(inner, "o", "i32(lid)", `${lim.wg}`);
  b.lines.push(...inner.lines);
  b.stmt("}");
  b.stmt("sh[lid] = acc;");
  b.stmt("workgroupBarrier();");
  b.stmt(`for (var s = ${lim.wg / 2}u; s > 0u; s = s >> 1u) {`);
  b.stmt(`  if (lid < s) { sh[lid] = ${comb("sh[lid]", "sh[lid + s]")}; }`);
  b.stmt("  workgroupBarrier();");
  b.stmt("}");
  b.stmt(`if (lid == 0u && o < ${N}) { out[o] = ${store("sh[0]")}; }`);
  const pre = `var<workgroup> sh: array<${accTy}, ${lim.wg}>;`;
  return { wgsl: finish(em, node.dtype, b.text(), pre, `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(N, lim, 1) };
}

/** Index of the first maximum along `axis` (a NaN wins at once, like the reference). */
export function argmaxKernel(node: Node, mat: (n: Node) => boolean, lim: KernelLimits): KernelSpec {
  const src = node.inputs[0]!;
  const axis = (node as Node<"argmax">).params.axis;
  const L = src.shape[axis]!;
  const N = sizeOf(node.shape);
  const em = new Emitter(mat);
  const b = new Block(em, "  ");
  const ty = tyOf(src.dtype);
  b.stmt(`let gi = i32((wid.y * nw.x + wid.x) * ${lim.wg}u + lid);`);
  b.stmt(`if (gi >= ${N}) { return; }`);
  const keep = unravel(b, "gi", node.shape);
  b.stmt(`var best: ${ty} = ${litOf(0, src.dtype, em)};`);
  b.stmt("var bi = 0;");
  b.stmt(`for (var k = 0; k < ${L}; k++) {`);
  const c = b.child();
  const full = [...keep.slice(0, axis), "k", ...keep.slice(axis)];
  const v = load(c, src, full);
  if (ty === "f32") {
    em.helpers.add("bits");
    c.stmt(`if (is_nan_f(${v})) { bi = k; break; }`);
  }
  c.stmt(`if (k == 0 || ${v} > best) { best = ${v}; bi = k; }`);
  b.lines.push(...c.lines, "  }");
  b.stmt("out[gi] = bi;");
  return { wgsl: finish(em, node.dtype, b.text(), "", `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(N, lim, lim.wg) };
}

/** Inclusive prefix sums along `axis`: one thread walks each lane sequentially. */
export function cumsumKernel(node: Node, mat: (n: Node) => boolean, lim: KernelLimits): KernelSpec {
  const src = node.inputs[0]!;
  const { axis, reverse } = (node as Node<"cumsum">).params;
  const L = node.shape[axis]!;
  const laneShape = node.shape.filter((_, d) => d !== axis);
  const N = sizeOf(laneShape);
  const em = new Emitter(mat);
  const b = new Block(em, "  ");
  const ty = tyOf(node.dtype);
  b.stmt(`let gi = i32((wid.y * nw.x + wid.x) * ${lim.wg}u + lid);`);
  b.stmt(`if (gi >= ${N}) { return; }`);
  const lane = unravel(b, "gi", laneShape);
  b.stmt(`var acc: ${ty} = ${litOf(0, node.dtype, em)};`);
  b.stmt(`for (var s = 0; s < ${L}; s++) {`);
  const c = b.child();
  const k = c.let(reverse ? `${L - 1} - s` : "s");
  const full = [...lane.slice(0, axis), k, ...lane.slice(axis)];
  const v = castExpr(em, load(c, src, full), src.dtype, node.dtype);
  c.stmt(`acc = acc + ${v};`);
  c.stmt(`out[${ravel(full, node.shape)}] = acc;`);
  b.lines.push(...c.lines, "  }");
  return { wgsl: finish(em, node.dtype, b.text(), "", `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(N, lim, lim.wg) };
}

/**
 * Batched matmul: a workgroup of TS×TS threads computes a (4·TS)×(4·TS) output tile, each thread a
 * 4×4 block held in registers; K advances in steps of TS with both operand tiles staged in
 * workgroup memory (each thread loads 4 elements of each).
 */
export function matmulKernel(node: Node, mat: (n: Node) => boolean, lim: KernelLimits): KernelSpec {
  const [A, B] = node.inputs as [Node, Node];
  const r = node.shape.length;
  const M = A.shape[r - 2]!;
  const K = A.shape[r - 1]!;
  const N = B.shape[r - 1]!;
  const batchShape: Shape = node.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  if (batch > lim.maxGroups) throw new Error(`webgpu: matmul batch of ${batch} is over this device's dispatch limit`);
  if (M * N * K < 64 * 64 * 64) return matmulSimple(node, mat, lim);
  const TS = lim.maxInvocations >= 256 ? 16 : 8;
  const RB = 4;
  const BM = TS * RB;
  const BK = TS;
  const em = new Emitter(mat);
  const ty = tyOf(node.dtype);
  const zero = litOf(0, node.dtype, em);
  const b = new Block(em, "  ");
  b.stmt(`let li = i32(lid);`);
  b.stmt(`let tx = i32(l3.x);`);
  b.stmt(`let ty = i32(l3.y);`);
  b.stmt(`let rowBase = i32(wid.y) * ${BM};`);
  b.stmt(`let colBase = i32(wid.x) * ${BM};`);
  const bi = unravel(b, "i32(wid.z)", batchShape);
  for (let i = 0; i < RB; i++) for (let j = 0; j < RB; j++) b.stmt(`var acc${i}${j}: ${ty} = ${zero};`);
  b.stmt(`for (var t = 0; t < ${K}; t += ${BK}) {`);
  const c = b.child();
  for (let l = 0; l < RB; l++) {
    const e = c.let(`li + ${l * TS * TS}`);
    const ar = c.let(`rowBase + ${e} / ${BK}`);
    const ac = c.let(`t + ${e} % ${BK}`);
    const av = load(c, A, [...bi, `min(${ar}, ${M - 1})`, `min(${ac}, ${K - 1})`]);
    c.stmt(`As[${e}] = select(${zero}, ${av}, ${ar} < ${M} && ${ac} < ${K});`);
    const br = c.let(`t + ${e} / ${BM}`);
    const bc = c.let(`colBase + ${e} % ${BM}`);
    const bv = load(c, B, [...bi, `min(${br}, ${K - 1})`, `min(${bc}, ${N - 1})`]);
    c.stmt(`Bs[${e}] = select(${zero}, ${bv}, ${br} < ${K} && ${bc} < ${N});`);
  }
  c.stmt("workgroupBarrier();");
  c.stmt(`for (var p = 0; p < ${BK}; p++) {`);
  for (let i = 0; i < RB; i++) c.stmt(`  let a${i} = As[(ty * ${RB} + ${i}) * ${BK} + p];`);
  for (let j = 0; j < RB; j++) c.stmt(`  let b${j} = Bs[p * ${BM} + tx * ${RB} + ${j}];`);
  for (let i = 0; i < RB; i++) for (let j = 0; j < RB; j++) c.stmt(`  acc${i}${j} = acc${i}${j} + a${i} * b${j};`);
  c.stmt("}");
  c.stmt("workgroupBarrier();");
  b.lines.push(...c.lines, "  }");
  b.stmt(`let outBase = i32(wid.z) * ${M * N};`);
  for (let i = 0; i < RB; i++) {
    for (let j = 0; j < RB; j++) {
      const row = `rowBase + ty * ${RB} + ${i}`;
      const col = `colBase + tx * ${RB} + ${j}`;
      b.stmt(`if (${row} < ${M} && ${col} < ${N}) { out[outBase + (${row}) * ${N} + ${col}] = acc${i}${j}; }`);
    }
  }
  const pre = `var<workgroup> As: array<${ty}, ${BM * BK}>;\nvar<workgroup> Bs: array<${ty}, ${BK * BM}>;`;
  const gx = Math.ceil(N / BM);
  const gy = Math.ceil(M / BM);
  if (gx > lim.maxGroups || gy > lim.maxGroups) throw new Error(`webgpu: matmul of [${M}, ${K}] x [${K}, ${N}] is over this device's dispatch limit`);
  return {
    wgsl: finish(
      em,
      node.dtype,
      b.text(),
      pre,
      `@workgroup_size(${TS}, ${TS})`,
      "@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) l3: vec3<u32>, @builtin(local_invocation_index) lid: u32",
    ),
    inputs: em.bindings,
    groups: [gx, gy, Math.max(1, batch)],
  };
}

/**
 * Small matmuls: one thread per output element looping over k (no workgroup memory or barriers,
 * which keeps pipeline compilation fast on CPU Vulkan drivers).
 */
function matmulSimple(node: Node, mat: (n: Node) => boolean, lim: KernelLimits): KernelSpec {
  const [A, B] = node.inputs as [Node, Node];
  const r = node.shape.length;
  const K = A.shape[r - 1]!;
  const total = sizeOf(node.shape);
  const em = new Emitter(mat);
  const b = new Block(em, "  ");
  b.stmt(`let gi = i32((wid.y * nw.x + wid.x) * ${lim.wg}u + lid);`);
  b.stmt(`if (gi >= ${total}) { return; }`);
  const idx = unravel(b, "gi", node.shape);
  b.stmt(`var acc: ${tyOf(node.dtype)} = ${litOf(0, node.dtype, em)};`);
  b.stmt(`for (var p = 0; p < ${K}; p++) {`);
  const c = b.child();
  const bi = idx.slice(0, r - 2);
  const av = load(c, A, [...bi, idx[r - 2]!, "p"]);
  const bv = load(c, B, [...bi, "p", idx[r - 1]!]);
  c.stmt(`acc = acc + ${av} * ${bv};`);
  b.lines.push(...c.lines, "  }");
  b.stmt(`out[gi] = acc;`);
  return { wgsl: finish(em, node.dtype, b.text(), "", `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(total, lim, lim.wg) };
}

/** Scatter-add into zeros: each output element sums the updates whose index lands on it. */
export function scatterAddKernel(node: Node, mat: (n: Node) => boolean, lim: KernelLimits): KernelSpec {
  const [upd, ind] = node.inputs as [Node, Node];
  const { axis, batchDims: bd } = (node as Node<"scatterAdd">).params;
  const xs = node.shape;
  const posShape = ind.shape.slice(bd);
  const P = sizeOf(posShape);
  const N = sizeOf(xs);
  const em = new Emitter(mat);
  const b = new Block(em, "  ");
  const ty = tyOf(node.dtype);
  b.stmt(`let gi = i32((wid.y * nw.x + wid.x) * ${lim.wg}u + lid);`);
  b.stmt(`if (gi >= ${N}) { return; }`);
  const ox = unravel(b, "gi", xs);
  b.stmt(`var acc: ${ty} = ${litOf(0, node.dtype, em)};`);
  b.stmt(`for (var p = 0; p < ${P}; p++) {`);
  const c = b.child();
  const pi = unravel(c, "p", posShape);
  const raw = load(c, ind, [...ox.slice(0, bd), ...pi]);
  const n = xs[axis]!;
  const k = c.let(`clamp(select(${raw}, ${raw} + ${n}, ${raw} < 0), 0, ${Math.max(0, n - 1)})`);
  c.stmt(`if (${k} == ${ox[axis]}) {`);
  const d = c.child();
  const u = load(d, upd, [...ox.slice(0, axis), ...pi, ...ox.slice(axis + 1)]);
  d.stmt(`acc = acc + ${u};`);
  c.lines.push(...d.lines, c.indent + "}");
  b.lines.push(...c.lines, "  }");
  b.stmt(`out[gi] = ${storeExpr("acc", node.dtype)};`);
  return { wgsl: finish(em, node.dtype, b.text(), "", `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(N, lim, lim.wg) };
}
