/**
 * Graph → graph passes run before fusion, each pure: call inlining (customVjp, checkpoint with a
 * rematerialization barrier), algebraic simplification from primitive metadata, constant folding
 * of scalar (splat) subexpressions, and dead-code elimination. Common-subexpression elimination
 * is hash-consing: every rebuilt node goes through `makeNode`, so equal nodes merge.
 */
import { Graph } from "../core/graph.js";
import type { Node } from "../core/node.js";
import { bufferNode, freshId, isPrimIn, isTuple, makeNode, topoSort } from "../core/node.js";
import { ELEMENTWISE_PRIMS, META, isElementwisePrim, isViewPrim } from "../core/primitives.js";
import type { DType } from "../core/dtype.js";
import { isFloat } from "../core/dtype.js";
import { interpret } from "../core/semantics-eval.js";
import { scalarFn, storeAs } from "../core/semantics.js";
import { sizeOf } from "../core/shape.js";
import { Tensor } from "../core/tensor.js";
import { convDecomposed } from "../ops/conv-general.js";
import { poolDecomposed } from "../ops/pool.js";

/**
 * The lowerings of the composite primitives (kept whole through the transforms, lowered before
 * scheduling unless the device runs them whole: see `Device.native`).
 */
const LOWERINGS: ReadonlyMap<string, (n: Node) => Node> = new Map<string, (n: Node) => Node>([
  ["conv", (n) => (n.prim === "conv" ? convDecomposed(new Tensor(n.inputs[0]!), new Tensor(n.inputs[1]!), n.params).node : n)],
  ["maxPool", poolDecomposed],
  ["maxPoolGather", poolDecomposed],
  ["maxPoolScatter", poolDecomposed],
]);

type Rule = (n: Node) => Node;

const rebuild = (n: Node, inputs: readonly Node[]): Node => (inputs.every((x, i) => x === n.inputs[i]) ? n : makeNode(n.prim, n.params, inputs));

/**
 * Rebuilds `outputs` bottom-up, applying `rule` to every node (to a fixpoint, bounded) after its
 * inputs were rewritten. Nodes where `stopAt` holds are not entered (only `rule` is applied).
 */
export function rewriteNodes(outputs: readonly Node[], rule: Rule, stopAt?: (n: Node) => boolean): Node[] {
  const map = new Map<number, Node>();
  for (const n of topoSort(outputs, stopAt)) {
    if (stopAt?.(n)) {
      map.set(n.id, rule(n));
      continue;
    }
    let cur = rebuild(
      n,
      n.inputs.map((i) => map.get(i.id) ?? i),
    );
    for (let k = 0; k < 8; k++) {
      const next = rule(cur);
      if (next === cur) break;
      cur = next;
    }
    map.set(n.id, cur);
  }
  return outputs.map((o) => map.get(o.id) ?? o);
}

/** Applies a node rule to a whole graph (inputs stay the same placeholders). */
function rewrite(g: Graph, rule: Rule): Graph {
  return new Graph(g.inputs, rewriteNodes(g.outputs, rule));
}

/** Substitutes `args` for `g.inputs` in `g.outputs`. */
export function substitute(g: Graph, args: readonly Node[]): Node[] {
  const env = new Map<number, Node>();
  g.inputs.forEach((n, i) => env.set(n.id, args[i]!));
  const map = new Map<number, Node>();
  for (const n of topoSort(g.outputs, (x) => env.has(x.id))) {
    if (env.has(n.id)) map.set(n.id, env.get(n.id)!);
    else
      map.set(
        n.id,
        rebuild(
          n,
          n.inputs.map((i) => map.get(i.id) ?? i),
        ),
      );
  }
  return g.outputs.map((o) => map.get(o.id)!);
}

/**
 * Inlines customVjp, customJvp and checkpoint calls and lowers `conv` (ops/conv-general.ts) and
 * the max-pooling primitives (ops/pool.ts), except the nodes `native` claims (a device that runs them whole: see `Device.native`).
 * Checkpoint operands pass through a `barrier` unique to the call, so its recomputation is not
 * merged with the forward pass by hash-consing.
 * @example
 * ```ts
 * import { jit, checkpoint, sin, tensor } from "tenfold";
 * const f = jit(checkpoint((x) => sin(sin(x))));
 * console.log(f.lower(tensor([1, 2])).kernels.length); // 1
 * ```
 */
export function inlineCalls(g: Graph, native?: (n: Node) => boolean): Graph {
  // The inlined outputs of each call node (substituted once, read by each of its projections).
  const inlined = new Map<Node, Node[]>();
  const outputsOf = (c: Node): Node[] | undefined => {
    let outs = inlined.get(c);
    if (outs) return outs;
    if (c.prim === "customVjp") outs = substitute(c.params.info.graph, c.inputs);
    else if (c.prim === "customJvp") outs = substitute(c.params.info.graph, c.inputs);
    else if (c.prim === "checkpoint") {
      const id = freshId();
      outs = substitute(
        c.params.body.graph,
        c.inputs.map((i) => makeNode("barrier", { id }, [i])),
      );
    }
    if (outs) inlined.set(c, outs);
    return outs;
  };
  const rule: Rule = (n) => {
    if (n.prim === "proj") return outputsOf(n.inputs[0]!)?.[n.params.index] ?? n;
    const lower = LOWERINGS.get(n.prim);
    if (lower && !native?.(n)) return lower(n);
    return n;
  };
  // Bodies may contain further calls: iterate until none is left (bounded by nesting depth).
  let cur = g;
  for (let k = 0; k < 32; k++) {
    const next = rewrite(cur, rule);
    if (next.outputs.every((o, i) => o === cur.outputs[i]) && k > 0) return next;
    cur = next;
    const lowered = (n: Node): boolean => LOWERINGS.has(n.prim) && !native?.(n);
    if (!cur.nodes().some((n) => n.prim === "customVjp" || n.prim === "customJvp" || n.prim === "checkpoint" || lowered(n))) return cur;
  }
  return cur;
}

/** The scalar value of a splat (a const, possibly reshaped/broadcast), else undefined. */
export function splatValue(n: Node): number | undefined {
  let c = n;
  while (c.prim === "reshape" || c.prim === "broadcast") c = c.inputs[0]!;
  return c.prim === "const" ? c.params.value : undefined;
}

/** A splat of `value` with `shape` and `dtype`. */
export function splat(value: number, dtype: DType, shape: readonly number[]): Node {
  const c = makeNode("const", { value, dtype }, []);
  if (shape.length === 0) return c;
  const ones = shape.map(() => 1);
  const r = makeNode("reshape", { shape: ones }, [c]);
  return shape.every((d) => d === 1) ? r : makeNode("broadcast", { shape: [...shape] }, [r]);
}

/** Whether `n` is elementwise (same-shape operands, output at the same index; from META). */
export function isElementwise(n: Node): boolean {
  return isElementwisePrim(n.prim);
}

/**
 * Folds elementwise nodes whose operands are all splats into one splat (scalar constant
 * arithmetic costs no kernel).
 * @example
 * ```ts
 * import { jit, add, multiply, tensor } from "tenfold";
 * const f = jit((x) => add(x, multiply(2, 3)));
 * console.log(f.lower(tensor([1])).kernels.length); // 1
 * ```
 */
export function foldConstants(g: Graph): Graph {
  const s = rewrite(g, foldRule);
  return new Graph(s.inputs, foldPure(s.outputs));
}

/** Largest constant-only (const/iota) computation precomputed into a buffer. */
const FOLD_LIMIT = 1 << 16;

/** Precomputes maximal subgraphs with only const/iota leaves that contain real work. */
function foldPure(outputs: readonly Node[]): Node[] {
  const pure = new Map<Node, boolean>();
  const work = new Map<Node, boolean>();
  const order = topoSort(outputs);
  for (const n of order) {
    const leaf = n.prim === "const" || n.prim === "iota";
    // call nodes (and so their projections) are never folded: their loops run in the program
    pure.set(n, leaf || (n.inputs.length > 0 && !isTuple(n) && n.inputs.every((i) => pure.get(i))));
    work.set(n, !leaf && (n.inputs.some((i) => work.get(i)) || !(isViewPrim(n.prim) || isElementwise(n))));
  }
  const fold = new Set<Node>();
  const want = (x: Node): void => {
    if (pure.get(x) && work.get(x) && sizeOf(x.shape) <= FOLD_LIMIT) fold.add(x);
  };
  for (const n of order) if (!pure.get(n)) n.inputs.forEach(want);
  outputs.forEach(want);
  if (fold.size === 0) return [...outputs];
  const list = [...fold];
  const vals = interpret(list);
  const map = new Map<Node, Node>();
  list.forEach((n, i) => {
    const v = vals[i]!;
    map.set(n, v.length === 1 ? splat(v[0]!, n.dtype, n.shape) : bufferNode({ host: v, device: new Map() }, n.shape, n.dtype));
  });
  return rewriteNodes(
    outputs,
    (n) => map.get(n) ?? n,
    (n) => map.has(n),
  );
}

/** Folds an elementwise node of splats through the scalar definition (core/semantics.ts). */
function foldRule(n: Node): Node {
  if (!isPrimIn(n, ELEMENTWISE_PRIMS) || n.inputs.length === 0) return n;
  const raw = n.inputs.map(splatValue);
  if (raw.some((v) => v === undefined)) return n;
  const vals = raw.map((v, k) => storeAs(n.inputs[k]!.dtype, v!));
  const first = n.prim === "where" ? n.inputs[1]! : n.inputs[0]!;
  const f = scalarFn(n.prim, first.dtype, n.dtype, n.params);
  const v = f(vals[0]!, vals[1] ?? 0, vals[2] ?? 0, vals[3] ?? 0);
  return splat(v, n.dtype, n.shape);
}

const isIdentityPerm = (p: readonly number[]): boolean => p.every((v, i) => v === i);
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** One algebraic rewrite of a node (identity when none applies). */
function simplifyRule(n: Node): Node {
  const [a, b] = n.inputs;
  const meta = META[n.prim];
  switch (n.prim) {
    case "add":
    case "mul": {
      // Only rewrites exact under IEEE: x·1 = x for every x, but x + (+0) is +0 for x = -0, so a
      // float sum drops only a -0 addend. Nothing folds x·0, x − x or x / x (NaN/Inf operands).
      const exact = (v: number | undefined): boolean => v === meta.identity && (n.prim === "mul" || !isFloat(n.dtype) || Object.is(v, -0));
      if (exact(splatValue(b!))) return a!;
      if (exact(splatValue(a!))) return b!;
      return n;
    }
    case "div":
      return splatValue(b!) === 1 ? a! : n;
    case "pow": {
      const e = splatValue(b!);
      if (e === 1) return a!;
      if (e === 2) return makeNode("mul", {}, [a!, a!]);
      return n;
    }
    case "neg":
      return a!.prim === "neg" ? a!.inputs[0]! : n;
    case "cast":
      return a!.dtype === n.dtype ? a! : n;
    case "stopGradient":
      return a!;
    case "where": {
      const c = splatValue(a!);
      if (c !== undefined) return c ? n.inputs[1]! : n.inputs[2]!;
      return n.inputs[1] === n.inputs[2] ? n.inputs[1]! : n;
    }
    case "reshape":
      if (sameShape(a!.shape, n.shape)) return a!;
      if (a!.prim === "reshape") return makeNode("reshape", { shape: [...n.shape] }, [a!.inputs[0]!]);
      return n;
    case "permute": {
      const p = n.params.perm;
      if (isIdentityPerm(p)) return a!;
      if (a!.prim === "permute") {
        const q = a!.params.perm;
        const perm = p.map((i) => q[i]!);
        return isIdentityPerm(perm) ? a!.inputs[0]! : makeNode("permute", { perm }, [a!.inputs[0]!]);
      }
      return n;
    }
    case "broadcast":
      if (sameShape(a!.shape, n.shape)) return a!;
      if (a!.prim === "broadcast") return makeNode("broadcast", { shape: [...n.shape] }, [a!.inputs[0]!]);
      return n;
    case "flip": {
      const axes = n.params.axes;
      if (axes.every((ax) => a!.shape[ax] === 1)) return a!;
      if (a!.prim === "flip" && JSON.stringify(a!.params.axes) === JSON.stringify(axes)) return a!.inputs[0]!;
      return n;
    }
    case "slice": {
      const p = n.params;
      return sameShape(a!.shape, n.shape) && p.starts.every((s) => s === 0) && p.steps.every((s, i) => s === 1 || a!.shape[i]! <= 1) ? a! : n;
    }
    case "pad":
      return n.params.widths.every(([lo, hi]) => lo === 0 && hi === 0) ? a! : n;
    default:
      return n;
  }
}

/**
 * Algebraic simplification, only where exact under IEEE 754: x·1, x + (−0) (so x − 0), integer
 * x + 0, x/1, −(−x), x^1, x^2 → x·x, cast to the same dtype, permute∘permute, reshape chains,
 * broadcast of broadcast, identity views, where on a constant. (x + 0 for floats, x·0, x − x and
 * x/x are not rewritten: they differ for −0, ±Inf or NaN.)
 * @example
 * ```ts
 * import { jit, subtract, multiply, negative, exp, tensor } from "tenfold";
 * const f = jit((x) => exp(negative(negative(subtract(multiply(x, 1), 0)))));
 * console.log(f.lower(tensor([1])).kernels[0]?.ops); // ["exp"]
 * ```
 */
export function simplify(g: Graph): Graph {
  return rewrite(g, simplifyRule);
}

/**
 * Dead-code elimination: a graph is rebuilt from its outputs only, so unreachable nodes vanish
 * (and nothing keeps them alive).
 * @example
 * ```ts
 * import { jit, exp, log, tensor } from "tenfold";
 * const f = jit((x) => { log(x); return exp(x); });
 * console.log(f.lower(tensor([1])).kernels.length); // 1
 * ```
 */
export function dce(g: Graph): Graph {
  return new Graph(g.inputs, [...g.outputs]);
}

/**
 * The standard pipeline: inline calls, then simplify and fold to a fixpoint (bounded).
 * @example
 * ```ts
 * import { jit, add, tensor } from "tenfold";
 * console.log(jit((x) => add(add(x, 0), 0)).lower(tensor([1])).kernels.length); // 1
 * ```
 */
export function optimizeGraph(g: Graph, native?: (n: Node) => boolean): Graph {
  let cur = dce(inlineCalls(g, native));
  for (let k = 0; k < 4; k++) {
    const next = foldConstants(simplify(cur));
    if (next.outputs.every((o, i) => o === cur.outputs[i])) return next;
    cur = next;
  }
  return cur;
}
