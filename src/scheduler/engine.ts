/**
 * The one device-neutral realize driver: optimize -> schedule -> memory plan -> run kernels. Every
 * scheduling backend (cpu, webgpu) is built by `engineBackend` from a `Device`, which supplies
 * only kernels (compiling a scheduled program into its executable form), buffers (allocation,
 * freeing, counters) and transfers (read, adopt); it never calls the optimizer or scheduler
 * itself. The driver also hoists work on captured constants out of jitted programs, applies the
 * memory budget, and hands out output storages that are freed deterministically.
 */
import type { Backend } from "../core/backend.js";
import type { TypedArray } from "../core/dtype.js";
import { Graph } from "../core/graph.js";
import type { MemoryStats } from "../core/memory.js";
import { checkBudget, memoryBudget } from "../core/memory.js";
import type { Node, Storage } from "../core/node.js";
import { bufferNode, cse, inputNode, makeNode, paramKeyOf, topoSort } from "../core/node.js";
import { LruCache } from "../core/lru.js";
import type { Primitive } from "../core/primitives.js";
import { VIEW_PRIMS } from "../core/primitives.js";
import type { Program } from "./ir.js";
import { optimizeGraph } from "./passes.js";
import { scheduleGraph } from "./schedule.js";

/**
 * The pipeline every backend realizes through: the graph optimized (inlining, simplification,
 * constant folding), then fused and scheduled into kernels with its slot (memory) plan.
 */
export function planGraph(graph: Graph, native?: (n: Node) => boolean): Program {
  planStats.plans++;
  return scheduleGraph(optimizeGraph(graph, native));
}

/** Graphs planned so far (optimize ▶ schedule): a jitted step plans once per signature (tests). */
export const planStats = { plans: 0 };

/** What a backend supplies to the driver: kernels, buffers and transfers. */
export interface Device<E> {
  readonly name: string;
  /**
   * Compiles a scheduled program whose leading slots are `inputs` into an executable; `body`
   * compiles the body graph of a scan (through the same pipeline).
   */
  compile(program: Program, inputs: readonly Node[], body: (graph: Graph) => E): E;
  /**
   * Runs an executable on input storages; one Storage per program output (owned by the caller).
   * `reuse` (jitted calls with donated inputs): see `Backend.compile`.
   */
  execute(exe: E, inputs: readonly Storage[], reuse?: readonly boolean[]): Storage[];
  /**
   * Drops what an executable keeps of its last call's inputs (the eager plan cache keeps programs
   * whose leaves change every call; their old data must not stay reachable through it).
   */
  forget?(exe: E): void;
  /** Reads realized data (async). */
  read(storage: Storage, node: Node): Promise<TypedArray>;
  /** Reads realized data synchronously, or throws a clear error. */
  readSync(storage: Storage, node: Node): TypedArray;
  /** Copies storage onto the device (no-op when already there). */
  adopt?(storage: Storage, node: Node): void;
  /** False once the device is lost. */
  readonly alive?: boolean;
  /** Buffer counters (the driver adds the budget and the kernel count). */
  memory(): Omit<MemoryStats, "budget" | "kernelsRun" | "eagerPlans" | "eagerPlanCapacity">;
  /** Whether jitted programs precompute the subgraphs that depend only on captured tensors. */
  readonly hoistConstants?: boolean;
  /**
   * Composite primitives this device runs as whole kernels instead of their lowering (the CPU
   * backend's Winograd conv): planning keeps such a node as an opaque kernel.
   */
  readonly native?: (n: Node) => boolean;
}

/** Leaves and views (movement primitives, from META): nodes that need no kernel of their own. */
const FREE = new Set<Primitive>(["const", "iota", "buffer", "input", ...VIEW_PRIMS]);

/** Whether computing `n` needs a kernel (not only leaves and views of leaves). */
function computes(n: Node): boolean {
  for (const m of topoSort([n])) if (!FREE.has(m.prim)) return true;
  return false;
}

/**
 * Replaces subgraphs that depend only on captured tensors by their precomputed values. A
 * broadcast read by traced work stays in the graph over the precomputed value it broadcasts (a
 * learning rate `-lr` broadcast to a parameter's shape is one stored scalar, not a stored array).
 */
export function hoistConstants(g: Graph, run: (nodes: readonly Node[]) => Storage[]): Graph {
  const nodes = g.nodes();
  const pre = new Set<Node>();
  const views: Node[] = []; // broadcasts of hoisted values, rebuilt over their buffers (inner first)
  const need = (x: Node, throughViews = false): void => {
    const outer: Node[] = [];
    while (throughViews && !x.traced && x.prim === "broadcast" && !pre.has(x)) {
      outer.push(x);
      x = x.inputs[0]!;
    }
    if (!x.traced && x.prim !== "buffer" && !pre.has(x) && computes(x)) pre.add(x);
    if (pre.has(x)) views.push(...outer.reverse());
  };
  for (const n of nodes) if (n.traced) for (const i of n.inputs) need(i, true);
  for (const o of g.outputs) need(o);
  if (pre.size === 0) return g;
  const list = [...pre];
  const stores = run(list);
  const map = new Map<number, Node>();
  list.forEach((n, i) => map.set(n.id, bufferNode(stores[i]!, n.shape, n.dtype)));
  for (const v of views) if (!map.has(v.id)) map.set(v.id, makeNode(v.prim, v.params, [map.get(v.inputs[0]!.id) ?? v.inputs[0]!]));
  for (const n of topoSort(g.outputs, (x) => map.has(x.id) || !x.traced)) {
    if (map.has(n.id) || !n.traced) continue;
    const ins = n.inputs.map((i) => map.get(i.id) ?? i);
    map.set(n.id, ins.every((x, k) => x === n.inputs[k]) ? n : makeNode(n.prim, n.params, ins));
  }
  return new Graph(
    g.inputs,
    g.outputs.map((o) => map.get(o.id) ?? o),
  );
}

/**
 * Eager plans (compiled programs of realized graphs) each backend keeps, least recently used going
 * first: an eager training loop realizes a graph of the same structure every step (new nodes, new
 * leaf data), and plans it once. See `eagerStructure`.
 */
export const EAGER_PLAN_LIMIT = 32;
/**
 * Bytes of temporaries (each program's intermediate pool, allocated on its first run) the kept
 * eager plans may hold together; the least recently used go first past it, and a program with
 * more than this is not kept. Without the cache these would be freed after each realization.
 */
export const EAGER_PLAN_MAX_BYTES = 64 << 20;

/** Eager realizations so far: planned afresh, and run on a kept plan (tests). */
export const eagerPlanStats = { planned: 0, reused: 0 };

/**
 * The structure of a graph to realize: a key equal for graphs that differ only in the data of their
 * realized leaves (buffer nodes), and those leaves in key order. Undefined when a node's params
 * hold something the key cannot spell (a function): such a graph is planned afresh.
 */
function eagerStructure(outputs: readonly Node[]): { key: string; order: Node[]; leaves: Node[] } | undefined {
  const order = topoSort(outputs);
  const at = new Map<number, number>();
  const leaves: Node[] = [];
  const parts: string[] = [];
  for (const n of order) {
    at.set(n.id, at.size);
    if (n.isBuffer()) {
      leaves.push(n);
      parts.push(`B${n.dtype}[${n.shape.join(",")}]`);
      continue;
    }
    const params = paramKeyOf(n);
    if (params === undefined) return undefined;
    parts.push(`${n.prim}${params}(${n.inputs.map((i) => at.get(i.id)).join(",")})`);
  }
  parts.push(`->${outputs.map((o) => at.get(o.id)).join(",")}`);
  return { key: parts.join(";"), order, leaves };
}

/** The graph of `outputs` with an input placeholder in place of each realized leaf (in `leaves` order). */
function withLeafInputs(order: readonly Node[], leaves: readonly Node[], outputs: readonly Node[]): Graph {
  const map = new Map<number, Node>();
  const inputs = leaves.map((l) => {
    const i = inputNode(l.shape, l.dtype);
    map.set(l.id, i);
    return i;
  });
  for (const n of order) {
    if (map.has(n.id)) continue;
    const ins = n.inputs.map((i) => map.get(i.id)!);
    map.set(n.id, ins.length ? makeNode(n.prim, n.params, ins) : n);
  }
  return new Graph(
    inputs,
    outputs.map((o) => map.get(o.id)!),
  );
}

/** A compiled program with what the budget check needs. */
interface Compiled<E> {
  readonly exe: E;
  /** Bytes of the outputs a call hands out. */
  readonly bytes: number;
  /** The ops computing the outputs, for error messages. */
  readonly what: string;
  /** Kernels the program runs. */
  readonly kernels: number;
  /** Bytes of the program's temporaries. */
  readonly tempBytes: number;
}

function describe(program: Program): { bytes: number; what: string; tempBytes: number } {
  const tempBytes = program.pool.reduce((b, p) => b + p.size * 4, 0);
  let bytes = 0;
  const ops: string[] = [];
  for (const o of program.outputs) {
    const s = program.slots[o]!;
    bytes += s.size * (s.dtype === "bool" ? 1 : 4);
    const k = program.kernels.find((k) => k.output === o || (k.kind === "opaque" && k.outputs?.includes(o)));
    if (k) ops.push(`${k.kind === "opaque" ? k.prim : k.ops.join("+")} of shape [${k.shape.join(", ")}]`);
  }
  return { bytes, what: ops.length ? ops.join(", ") : "a copy", tempBytes };
}

/**
 * A Backend over a device: `run` realizes pending nodes and `compile` prepares a jitted graph, both
 * through `planGraph` and the device's kernels; every call checks the memory budget first.
 */
export function engineBackend<E>(device: Device<E>): Backend {
  const compileGraph = (graph: Graph): E => device.compile(planGraph(graph, device.native), graph.inputs, compileGraph);
  const prepare = (graph: Graph): Compiled<E> => {
    const program = planGraph(graph, device.native);
    return { exe: device.compile(program, graph.inputs, compileGraph), kernels: program.kernels.length, ...describe(program) };
  };
  let kernelsRun = 0;
  const execute = (c: Compiled<E>, inputs: readonly Storage[], reuse?: readonly boolean[]): Storage[] => {
    if (memoryBudget() !== Infinity) checkBudget(device.name, device.memory().liveBytes, c.bytes, c.what);
    const out = device.execute(c.exe, inputs, reuse);
    kernelsRun += c.kernels;
    return out;
  };
  let planBytes = 0;
  const plans = new LruCache<string, Compiled<E>>(EAGER_PLAN_LIMIT, (c) => (planBytes -= c.tempBytes));
  // Realizes nodes: a graph of a structure realized before runs the plan kept for it, on the
  // storages of its leaves. The key is taken before equal subexpressions are merged: `cse` runs
  // only when a graph is planned (the merge is a function of the structure, so the kept plan
  // serves every graph of the key; merging on every eager step took a tenth of a small step).
  const run = (nodes: readonly Node[]): Storage[] => {
    const s = eagerStructure(nodes);
    if (!s) return execute(prepare(new Graph([], cse(nodes))), []);
    let c = plans.get(s.key);
    if (c) eagerPlanStats.reused++;
    else {
      eagerPlanStats.planned++;
      const g = withLeafInputs(s.order, s.leaves, nodes);
      c = prepare(new Graph(g.inputs, cse(g.outputs)));
      if (c.tempBytes <= EAGER_PLAN_MAX_BYTES) {
        planBytes += c.tempBytes;
        plans.set(s.key, c);
        while (planBytes > EAGER_PLAN_MAX_BYTES) plans.evictOldest();
      }
    }
    try {
      return execute(
        c,
        s.leaves.map((l) => l.storage!),
      );
    } finally {
      device.forget?.(c.exe);
    }
  };
  return {
    name: device.name,
    get alive() {
      return device.alive ?? true;
    },
    run,
    compile(graph) {
      let c: Compiled<E> | undefined;
      return (inputs, reuse) => {
        c ??= prepare(device.hoistConstants ? hoistConstants(graph, run) : graph);
        return execute(c, inputs, reuse);
      };
    },
    read: (s, n) => device.read(s, n),
    readSync: (s, n) => device.readSync(s, n),
    adopt: device.adopt ? (s, n) => device.adopt!(s, n) : undefined,
    memoryStats: () => ({ ...device.memory(), budget: memoryBudget(), kernelsRun, eagerPlans: plans.size, eagerPlanCapacity: EAGER_PLAN_LIMIT }),
  };
}
