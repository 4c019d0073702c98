/**
 * WGSL templates of the scheduler's opaque kernels, over materialized (contiguous) operands:
 * `map` (gather, Threefry: one thread per element), argmax, cumsum and scatter-add, plus the
 * grid and store helpers shared with wgsl.ts (which prints the fused elementwise, reduce and
 * matmul kernels of the kernel IR). Shapes are baked into the source.
 */
import type { DType } from "../../core/dtype.js";
import type { Node } from "../../core/node.js";
import { sizeOf } from "../../core/shape.js";
import { Block, Emitter, load, ravel, tyOf, unravel } from "./codegen.js";
import { castExpr, helperCode, litOf } from "./scalar.js";

/** A generated kernel: WGSL source, the materialized nodes it binds (in order), the grid. */
export interface KernelSpec {
  readonly wgsl: string;
  readonly inputs: readonly Node[];
  readonly groups: readonly [number, number, number];
}

/** Options derived from the device limits and features. */
export interface GenOptions {
  /** 1-D workgroup size (a power of two). */
  readonly wg: number;
  /** Most invocations per workgroup (tiled matmul uses 16×16 tiles when 256 are allowed). */
  readonly maxInvocations: number;
  readonly maxGroups: number;
  /** float16 buffers hold f16 (the device has `shader-f16`); otherwise f32. */
  readonly f16: boolean;
}

export const BUILTINS = "@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nw: vec3<u32>";

export function grid1d(count: number, lim: GenOptions, perGroup: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / perGroup));
  const x = Math.min(groups, lim.maxGroups);
  const y = Math.ceil(groups / x);
  if (y > lim.maxGroups) throw new Error(`webgpu: ${count} elements is too many for one dispatch on this device`);
  return [x, y, 1];
}

function finish(em: Emitter, out: DType, body: string, pre = "", wgAttr = "", builtins = BUILTINS): string {
  const f16 = em.f16 && [...em.bindings.map((n) => n.dtype), out].includes("float16");
  return [f16 ? "enable f16;" : "", helperCode(em.helpers), em.declarations(out), pre, `@compute ${wgAttr}`, `fn main(${builtins}) {`, body, "}"].join("\n");
}

/** A value as stored in a buffer of dtype `d` (bool as u32; float16 as f16 when `f16`). */
export function storeExpr(v: string, d: DType, f16 = false): string {
  return d === "bool" ? `select(0u, 1u, ${v})` : d === "float16" && f16 ? `f16(${v})` : v;
}

/** One thread per output element: computes `root` (and its fused producers). */
export function mapKernel(root: Node, lim: GenOptions): KernelSpec {
  const em = new Emitter(lim.f16);
  const b = new Block(em, "  ");
  const n = sizeOf(root.shape);
  b.stmt(`let gi = i32((wid.y * nw.x + wid.x) * ${lim.wg}u + lid);`);
  b.stmt(`if (gi >= ${n}) { return; }`);
  const idx = unravel(b, "gi", root.shape);
  const v = load(b, root, idx, true);
  b.stmt(`out[gi] = ${storeExpr(v, root.dtype, lim.f16)};`);
  return { wgsl: finish(em, root.dtype, b.text(), "", `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(n, lim, lim.wg) };
}

/** Index of the first maximum along `axis` (a NaN wins at once, like the reference). */
export function argmaxKernel(node: Node<"argmax">, lim: GenOptions): KernelSpec {
  const src = node.inputs[0]!;
  const axis = node.params.axis;
  const L = src.shape[axis]!;
  const N = sizeOf(node.shape);
  const em = new Emitter(lim.f16);
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
export function cumsumKernel(node: Node<"cumsum">, lim: GenOptions): KernelSpec {
  const src = node.inputs[0]!;
  const { axis, reverse } = node.params;
  const L = node.shape[axis]!;
  const laneShape = node.shape.filter((_, d) => d !== axis);
  const N = sizeOf(laneShape);
  const em = new Emitter(lim.f16);
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
  c.stmt(`out[${ravel(full, node.shape)}] = ${storeExpr("acc", node.dtype, lim.f16)};`);
  b.lines.push(...c.lines, "  }");
  return { wgsl: finish(em, node.dtype, b.text(), "", `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(N, lim, lim.wg) };
}

/** Scatter-add into zeros: each output element sums the updates whose index lands on it. */
export function scatterAddKernel(node: Node<"scatterAdd">, lim: GenOptions): KernelSpec {
  const [upd, ind] = node.inputs as [Node, Node];
  const { axis, batchDims: bd } = node.params;
  const xs = node.shape;
  const posShape = ind.shape.slice(bd);
  const P = sizeOf(posShape);
  const N = sizeOf(xs);
  const em = new Emitter(lim.f16);
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
  b.stmt(`out[gi] = ${storeExpr("acc", node.dtype, lim.f16)};`);
  return { wgsl: finish(em, node.dtype, b.text(), "", `@workgroup_size(${lim.wg})`), inputs: em.bindings, groups: grid1d(N, lim, lim.wg) };
}
