/** Forward mode: push tangents through a traced graph with the JVP table; public `jvp`. */
import { isFloat } from "../core/dtype.js";
import { ShapeError, fmtShape } from "../core/errors.js";
import type { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { isTuple, makeNode, proj, topoSort } from "../core/node.js";
import type { CallPrim, Primitive } from "../core/primitives.js";
import { Tensor } from "../core/tensor.js";
import { treeKey } from "../core/tree.js";
import type { CallJvpRule, JvpRule } from "./jvp-rules.js";
import { JVP, instantiate } from "./jvp-rules.js";
import { flattenArgs, rebuild, traceFlat } from "./trace.js";
import { provide } from "./recurse.js";
import type { GradTree } from "./vjp.js";

/** Result of pushing tangents through a graph: primal outputs and tangents (null = zero). */
export interface JvpResult {
  readonly outs: Tensor[];
  readonly touts: (Tensor | null)[];
}

/** A call node's primal outputs (undefined: projections of `call` itself) and tangents, after its rule ran. */
interface CallJvp {
  readonly call: Node;
  readonly outs?: readonly Tensor[];
  readonly touts: readonly (Tensor | null)[];
}

/** Applies `graph` to `primals` while pushing `tangents` forward. */
export function jvpGraph(graph: Graph, primals: readonly Tensor[], tangents: readonly (Tensor | null)[]): JvpResult {
  const pm = new Map<number, Node>();
  const tm = new Map<number, Tensor | null>();
  // Call nodes (multi-output) are transformed once; their proj nodes read the result here.
  const calls = new Map<number, CallJvp>();
  graph.inputs.forEach((n, i) => {
    pm.set(n.id, primals[i]!.node);
    tm.set(n.id, tangents[i] ?? null);
  });
  for (const n of topoSort(graph.outputs, (m) => pm.has(m.id))) {
    if (pm.has(n.id)) continue;
    if (n.prim === "proj") {
      const c = calls.get(n.inputs[0]!.id)!;
      const i = n.params.index;
      pm.set(n.id, c.outs ? c.outs[i]!.node : c.call === n.inputs[0] ? n : proj(c.call, i));
      tm.set(n.id, JVP.proj(c.touts, n));
      continue;
    }
    let changed = false;
    const ins = n.inputs.map((i) => {
      const r = pm.get(i.id) ?? i;
      if (r !== i) changed = true;
      return r;
    });
    const p = changed ? makeNode(n.prim, n.params, ins) : n;
    pm.set(n.id, p);
    const tins = n.inputs.map((i) => tm.get(i.id) ?? null);
    if (isTuple(p)) {
      if (tins.every((t) => t === null)) calls.set(n.id, { call: p, touts: [] });
      else {
        const rule = JVP[p.prim] as CallJvpRule<CallPrim>;
        calls.set(n.id, {
          call: p,
          ...rule(
            ins.map((i) => new Tensor(i)),
            tins,
            p,
          ),
        });
      }
      continue;
    }
    if (tins.every((t) => t === null) || !isFloat(p.dtype)) {
      tm.set(n.id, null);
      continue;
    }
    const rule = JVP[p.prim] as JvpRule<Primitive>;
    tm.set(
      n.id,
      rule(
        ins.map((i) => new Tensor(i)),
        tins,
        p,
        new Tensor(p),
      ),
    );
  }
  return {
    outs: graph.outputs.map((o) => new Tensor(pm.get(o.id) ?? o)),
    touts: graph.outputs.map((o) => tm.get(o.id) ?? null),
  };
}

/**
 * Forward-mode derivative: evaluates `f(...primals)` and the directional derivative along
 * `tangents` (same tree structure and shapes as `primals`).
 * @example
 * ```ts
 * import { jvp, sin, tensor } from "tenfold";
 * const [y, dy] = jvp(sin, [tensor(0)], [tensor(1)]);
 * console.log(y.arraySync(), dy.arraySync()); // 0 1
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function jvp<F extends (...args: any[]) => unknown>(
  f: F,
  primals: Parameters<F>,
  tangents: readonly unknown[],
): [ReturnType<F>, GradTree<ReturnType<F>>] {
  if (!Array.isArray(primals) || !Array.isArray(tangents)) throw new TypeError("jvp: primals and tangents must be arrays (one entry per argument of f)");
  const p = flattenArgs(primals, "jvp");
  const t = flattenArgs(tangents, "jvp");
  if (treeKey(p.def) !== treeKey(t.def)) {
    throw new ShapeError(`jvp: tangents have structure ${treeKey(t.def)} but primals have ${treeKey(p.def)}`);
  }
  p.leaves.forEach((x, i) => {
    const tt = t.leaves[i]!;
    if (x.shape.join() !== tt.shape.join()) {
      throw new ShapeError(`jvp: tangent ${i} has shape ${fmtShape(tt.shape)} but its primal has shape ${fmtShape(x.shape)}`);
    }
  });
  const tr = traceFlat(
    (xs) => f(...(rebuild(p.def, xs) as unknown[])),
    p.leaves.map((x) => ({ shape: x.shape, dtype: x.dtype })),
    "jvp",
  );
  const res = jvpGraph(
    tr.graph,
    p.leaves,
    t.leaves.map((x, i) => (isFloat(p.leaves[i]!.dtype) ? x : null)),
  );
  const touts = res.touts.map((x, i) => instantiate(x, res.outs[i]!));
  return [rebuild(tr.outDef, res.outs) as ReturnType<F>, rebuild(tr.outDef, touts) as GradTree<ReturnType<F>>];
}

provide("jvpGraph", jvpGraph);
