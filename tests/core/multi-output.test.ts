/**
 * Native multi-output nodes: a call primitive (scan, whileLoop, cond, customVjp, customJvp,
 * checkpoint, customVjpLinear) is ONE tuple node computing all its outputs, read through `proj`
 * nodes (XLA's get-tuple-element). Checked here: one call node per call in traced graphs and in the
 * graphs of jvp/grad/vmap, each output a projection, the call runs once when only one output is
 * used (reference interpreter and the CPU schedule), CSE merges identical calls, misuse of a tuple
 * node is a clear internal error, and values match hand-computed results.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import type { Graph } from "../../src/core/graph.js";
import { cse, makeCall, makeNode, projections, topoSort } from "../../src/core/node.js";
import type { Primitive } from "../../src/core/primitives.js";
import { EVAL, interpret } from "../../src/core/semantics-eval.js";
import { probeWebGpu } from "../webgpu/gpu.js";

const count = (g: Graph, prim: Primitive): number => g.nodes().filter((n) => n.prim === prim).length;

/** Running sum and running product of xs: carry [sum, prod], ys = the running sum. */
const sumProd = (xs: Tensor): Tensor[] => {
  const [[s, p], ys] = tf.scan(
    (c: [Tensor, Tensor], x: Tensor) => [[tf.add(c[0], x), tf.multiply(c[1], x)], tf.add(c[0], x)] as const,
    [tf.tensor(0), tf.tensor(1)],
    xs,
  );
  return [s, p, ys];
};

const twoWhile = (x: Tensor): Tensor[] => {
  const [a, b] = tf.whileLoop(
    ([v]: [Tensor, Tensor]) => tf.less(tf.sum(v), 10),
    ([v, w]: [Tensor, Tensor]) => [tf.multiply(v, 2), tf.add(w, 1)] as [Tensor, Tensor],
    [x, tf.zerosLike(x)] as [Tensor, Tensor],
  );
  return [a, b];
};

const twoCond = (x: Tensor, i: Tensor): Tensor[] =>
  tf.switchCase(i, [(v: Tensor) => [tf.sin(v), tf.multiply(v, 2)], (v: Tensor) => [tf.cos(v), tf.multiply(v, 3)]], x) as Tensor[];

let bwdCalls = 0;
const sinCos = tf.customVjp(
  (x: Tensor) => [tf.sin(x), tf.cos(x)],
  (x: Tensor): [Tensor[], Tensor] => [[tf.sin(x), tf.cos(x)], x],
  (x: Tensor, g: Tensor[]) => {
    bwdCalls++;
    return [tf.subtract(tf.multiply(g[0]!, tf.cos(x)), tf.multiply(g[1]!, tf.sin(x)))];
  },
);

const sinCosJ = tf.customJvp(
  (x: Tensor) => [tf.sin(x), tf.cos(x)],
  ([x]: [Tensor], [t]: [Tensor]): [Tensor[], Tensor[]] => [
    [tf.sin(x), tf.cos(x)],
    [tf.multiply(t, tf.cos(x)), tf.negative(tf.multiply(t, tf.sin(x)))],
  ],
);

const ckpt = tf.checkpoint((x: Tensor) => [tf.sin(tf.cos(x)), tf.exp(x)]);

interface Case {
  readonly name: string;
  readonly prim: Primitive;
  readonly f: (...args: Tensor[]) => Tensor[];
  readonly args: () => Tensor[];
  readonly outputs: number;
}

const CASES: readonly Case[] = [
  { name: "scan", prim: "scan", f: sumProd, args: () => [tf.tensor([1, 2, 3, 4])], outputs: 3 },
  { name: "whileLoop", prim: "whileLoop", f: twoWhile, args: () => [tf.tensor([1, 2])], outputs: 2 },
  { name: "cond", prim: "cond", f: twoCond, args: () => [tf.tensor([0.5, 1]), tf.tensor(1, { dtype: "int32" })], outputs: 2 },
  { name: "customVjp", prim: "customVjp", f: (x) => sinCos(x), args: () => [tf.tensor([0.5, 1])], outputs: 2 },
  { name: "customJvp", prim: "customJvp", f: (x) => sinCosJ(x), args: () => [tf.tensor([0.5, 1])], outputs: 2 },
  { name: "checkpoint", prim: "checkpoint", f: (x) => ckpt(x), args: () => [tf.tensor([0.5, 1])], outputs: 2 },
];

describe("call primitives are single multi-output nodes", () => {
  for (const c of CASES) {
    it(`${c.name}: one call node, every output a proj of it`, () => {
      const g = tf.jit(c.f).graph(...c.args());
      expect(count(g, c.prim)).toBe(1);
      const call = g.nodes().find((n) => n.prim === c.prim)!;
      expect(call.avals?.length).toBe(c.outputs);
      expect(g.outputs.map((o) => (o.prim === "proj" && o.inputs[0] === call ? o.params.index : -1))).toEqual(Array.from({ length: c.outputs }, (_, i) => i));
      // the tuple node reports no value of its own; each projection has its output's aval
      expect([call.shape, call.dtype]).toEqual([[], "float32"]);
      g.outputs.forEach((o, i) => expect([o.shape, o.dtype]).toEqual([call.avals![i]!.shape, call.avals![i]!.dtype]));
      expect(g.toString()).toMatch(new RegExp(`= ${c.prim}\\[`));
      expect(g.toString()).toContain("proj[index=1]");
    });
  }

  it("values: each output of each call (hand-computed)", () => {
    const [s, p, ys] = tf.jit(sumProd)(tf.tensor([1, 2, 3, 4]));
    expect([s!.itemSync(), p!.itemSync(), ys!.arraySync()]).toEqual([10, 24, [1, 3, 6, 10]]);
    const [a, b] = tf.jit(twoWhile)(tf.tensor([1, 2]));
    expect([a!.arraySync(), b!.arraySync()]).toEqual([
      [4, 8],
      [2, 2],
    ]);
    const [u, v] = tf.jit(twoCond)(tf.tensor([0.5, 1]), tf.tensor(1, { dtype: "int32" }));
    expect(u!.arraySync()).toEqual([Math.fround(Math.cos(0.5)), Math.fround(Math.cos(1))]);
    expect(v!.arraySync()).toEqual([1.5, 3]);
    for (const f of [sinCos, sinCosJ, ckpt]) {
      const [o1, o2] = tf.jit((x: Tensor) => f(x))(tf.tensor([0.5, 1]));
      expect((o1!.arraySync() as number[])[0]).toBeCloseTo(f === ckpt ? Math.sin(Math.cos(0.5)) : Math.sin(0.5), 6);
      expect((o2!.arraySync() as number[])[1]).toBeCloseTo(f === ckpt ? Math.exp(1) : Math.cos(1), 5);
    }
  });
});

describe("transforms handle a call node once", () => {
  const scalarLoss =
    (f: (...a: Tensor[]) => Tensor[]) =>
    (x: Tensor, ...rest: Tensor[]) =>
      f(x, ...rest)
        .map((o) => tf.sum(tf.multiply(o, o)))
        .reduce((a, b) => tf.add(a, b));

  it("jvp: one primal call (with residuals where the rule needs them) and one tangent call", () => {
    // scan: the primal scan also emits the carries entering each step; the tangent scan is linear
    const sj = tf.makeGraph((x: Tensor, t: Tensor) => tf.jvp(sumProd, [x], [t])[1])(tf.tensor([1, 2, 3]), tf.tensor([1, 1, 1]));
    expect(count(sj, "scan")).toBe(2);
    // cond, whileLoop, checkpoint: the call's outputs and one call computing every tangent
    const cj = tf.makeGraph((x: Tensor, i: Tensor, t: Tensor) => tf.jvp((y: Tensor) => twoCond(y, i), [x], [t]))(
      tf.tensor([0.5, 1]),
      tf.tensor(0, { dtype: "int32" }),
      tf.tensor([1, 1]),
    );
    expect(count(cj, "cond")).toBe(2);
    const wj = tf.makeGraph((x: Tensor, t: Tensor) => tf.jvp(twoWhile, [x], [t]))(tf.tensor([1, 2]), tf.tensor([1, 1]));
    expect(count(wj, "whileLoop")).toBe(2);
    const kj = tf.makeGraph((x: Tensor, t: Tensor) => tf.jvp((y: Tensor) => ckpt(y), [x], [t]))(tf.tensor([1, 2]), tf.tensor([1, 1]));
    expect(count(kj, "checkpoint")).toBe(2);
    // customVjp: the call and one linear tangent map for all its outputs
    const vj = tf.makeGraph((x: Tensor, t: Tensor) => tf.jvp((y: Tensor) => sinCos(y), [x], [t])[1])(tf.tensor([1, 2]), tf.tensor([1, 1]));
    expect(count(vj, "customVjpLinear")).toBe(1);
    // values: d/dx of [sin, cos] along t = 1 (customJvp's rule; customVjp has no forward mode)
    const [, [ds, dc]] = tf.jvp((y: Tensor) => sinCosJ(y), [tf.tensor([1, 2])], [tf.tensor([1, 1])]);
    expect((ds!.arraySync() as number[])[1]).toBeCloseTo(Math.cos(2), 5);
    expect((dc!.arraySync() as number[])[0]).toBeCloseTo(-Math.sin(1), 5);
  });

  it("grad: one forward call and one transposed call, however many outputs are used", () => {
    const gs = tf.makeGraph(tf.grad(scalarLoss(sumProd)))(tf.tensor([1, 2, 3]));
    // forward scan with residuals + one reverse scan (the tangent scan is dead after transposition)
    expect(
      gs
        .nodes()
        .filter((n) => n.prim === "scan")
        .map((n) => (n.prim === "scan" ? n.params.reverse : null))
        .sort(),
    ).toEqual([false, true]);
    const gc = tf.makeGraph(tf.grad(scalarLoss(twoCond)))(tf.tensor([0.5, 1]), tf.tensor(0, { dtype: "int32" }));
    expect(count(gc, "cond")).toBe(2);
    const gk = tf.makeGraph(tf.grad(scalarLoss((x) => ckpt(x))))(tf.tensor([0.5, 1]));
    expect(count(gk, "checkpoint")).toBe(2);
    // customVjp: the user's bwd runs once, for the cotangents of both outputs
    bwdCalls = 0;
    const gv = tf.makeGraph(tf.grad(scalarLoss((x) => sinCos(x))))(tf.tensor([0.5, 1]));
    expect([count(gv, "customVjp"), count(gv, "customVjpLinear"), bwdCalls]).toEqual([1, 0, 1]);
    // d/dx (sin² + cos²) = 0
    const gz = tf
      .grad(scalarLoss((x) => sinCos(x)))(tf.tensor([0.5, 1]))
      .arraySync() as number[];
    gz.forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-6));
    // values against finite differences of the scalar loss
    const loss = scalarLoss(sumProd);
    const x0 = [1, 2, 3];
    const g = tf.grad(loss)(tf.tensor(x0)).arraySync() as number[];
    const e = 1e-2;
    x0.forEach((_, i) => {
      const up = x0.map((v, j) => (j === i ? v + e : v));
      const dn = x0.map((v, j) => (j === i ? v - e : v));
      const fd = (loss(tf.tensor(up)).itemSync() - loss(tf.tensor(dn)).itemSync()) / (2 * e);
      expect(g[i]).toBeCloseTo(fd, 1);
    });
  });

  it("vmap: one batched call per call node", () => {
    for (const c of CASES) {
      const batched = c.args().map((a, i) => (i === 0 ? tf.stack([a, tf.multiply(a, 0.5)]) : a));
      const inAxes = batched.map((_, i) => (i === 0 ? 0 : null));
      const g = tf.makeGraph(tf.vmap(c.f, { inAxes }))(...batched);
      // a batched operand of cond's branches keeps the index unbatched: still one cond
      expect([c.name, count(g, c.prim)]).toEqual([c.name, 1]);
      const outs = tf.vmap(c.f, { inAxes })(...batched);
      const lane1 = c.f(...c.args().map((a, i) => (i === 0 ? tf.multiply(a, 0.5) : a)));
      outs.forEach((o, k) => {
        const got = (o.arraySync() as number[][])[1]!;
        const want = lane1[k]!.arraySync();
        expect(got).toEqual(want);
      });
    }
  });
});

describe("no per-node memo tables: a body batched twice sees each batch size", () => {
  it("vmap of a jitted nested scan at batch 2, then 3 (regression: batch-rules' scanMemo keyed by node)", () => {
    const inner = (c: Tensor, x: Tensor): [Tensor, Tensor] => tf.scan((a: Tensor, y: Tensor) => [tf.add(a, y), a] as const, c, x) as [Tensor, Tensor];
    const h = tf.jit(
      (xs: Tensor) =>
        tf.scan(
          (c: Tensor, row: Tensor) => {
            const [s] = inner(c, row);
            return [s, s] as const;
          },
          tf.tensor(0),
          xs,
        )[0] as Tensor,
    );
    // the outer scan's body graph (and the inner scan node in it) is batched once per vmap
    expect(
      tf
        .vmap(h)(tf.ones([2, 3, 4]))
        .arraySync(),
    ).toEqual([12, 12]);
    expect(
      tf
        .vmap(h)(tf.multiply(tf.ones([3, 3, 4]), tf.reshape(tf.tensor([1, 2, 3]), [3, 1, 1])))
        .arraySync(),
    ).toEqual([12, 24, 36]);
  });
});

describe("a call runs once, whichever of its outputs are used", () => {
  it("reference interpreter: EVAL.scan runs once for two projections, once for one", () => {
    const spy = vi.spyOn(EVAL, "scan");
    try {
      const g = tf.makeGraph(sumProd)(tf.tensor([1, 2, 3]));
      const x = g.inputs[0]!;
      const env = () => new Map([[x.id, Float32Array.of(1, 2, 3)]]);
      const all = interpret(g.outputs, env());
      expect(spy).toHaveBeenCalledTimes(1);
      expect([...all[0]!, ...all[1]!, ...all[2]!]).toEqual([6, 6, 1, 3, 6]);
      spy.mockClear();
      expect([...interpret([g.outputs[1]!], env())[0]!]).toEqual([6]);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it("schedule: one opaque kernel per call node; a dead output has no slot (DCE keeps the call once)", () => {
    const onlyProd = tf.jit((xs: Tensor) => tf.multiply(sumProd(xs)[1]!, 2));
    const p = onlyProd.lower(tf.tensor([1, 2, 3]));
    const scans = p.program.kernels.filter((k) => k.kind === "opaque" && k.prim === "scan");
    expect(scans.length).toBe(1);
    const k = scans[0]!;
    expect(k.kind === "opaque" ? k.outputs?.map((s) => s !== undefined) : undefined).toEqual([false, true, false]);
    expect(onlyProd(tf.tensor([1, 2, 3])).itemSync()).toBe(12);
    const both = tf.jit((xs: Tensor) => {
      const [s, pr, ys] = sumProd(xs);
      return tf.add(tf.add(s!, pr!), tf.sum(ys!));
    });
    const q = both.lower(tf.tensor([1, 2, 3]));
    const k2 = q.program.kernels.filter((kk) => kk.kind === "opaque" && kk.prim === "scan");
    expect(k2.length).toBe(1);
    expect(k2[0]!.kind === "opaque" ? k2[0]!.outputs?.every((s) => s !== undefined) : false).toBe(true);
    expect(both(tf.tensor([1, 2, 3])).itemSync()).toBe(6 + 6 + 10);
  });

  it("a scan over constants (hoisted out of the jitted program, folded by the passes) computes its outputs", () => {
    const f = tf.jit((y: Tensor) => tf.add(sumProd(tf.arange(1, 4))[1]!, y));
    expect(f(tf.tensor(1)).itemSync()).toBe(7);
    const g = tf.jit((y: Tensor) => tf.multiply(sumProd(tf.add(tf.arange(1, 3), 1))[2]!, y));
    expect(g(tf.tensor(2)).arraySync()).toEqual([4, 10]);
  });
});

describe("hash-consing and CSE merge identical calls", () => {
  it("a jitted function called twice on the same value inlines to one call node", () => {
    const inner = tf.jit(sumProd);
    const g = tf.makeGraph((x: Tensor) => {
      const a = inner(x);
      const b = inner(x);
      return [tf.add(a[0]!, b[1]!)];
    })(tf.tensor([1, 2]));
    expect(count(g, "scan")).toBe(1);
  });

  it("cse merges two equal call nodes built outside a trace, and their projections", () => {
    const traced = tf.makeGraph(sumProd)(tf.tensor([1, 2, 3]));
    const call = traced.nodes().find((n) => n.prim === "scan")!;
    if (call.prim !== "scan") throw new Error("no scan");
    const xs = tf.tensor([1, 2, 3]).node;
    const a = makeCall("scan", call.params, [call.inputs[0]!, call.inputs[1]!, xs]);
    const b = makeCall("scan", call.params, [call.inputs[0]!, call.inputs[1]!, xs]);
    expect(a[0]!.inputs[0]).not.toBe(b[0]!.inputs[0]);
    const merged = cse([a[0]!, b[1]!, b[0]!]);
    expect(topoSort(merged).filter((n) => n.prim === "scan").length).toBe(1);
    expect(merged[0]).toBe(merged[2]);
    expect([...interpret(merged)[1]!]).toEqual([6]);
  });
});

describe("misuse of a tuple node is a clear internal error", () => {
  it("an op reading the call node itself, a proj of a non-call node, an index out of range", () => {
    const call = tf.makeGraph(sumProd)(tf.tensor([1, 2])).outputs[0]!.inputs[0]!;
    expect(() => makeNode("neg", {}, [call])).toThrow(/internal: neg reads the multi-output scan node .* through proj/);
    expect(() => makeNode("proj", { index: 0 }, [tf.tensor([1]).node])).toThrow(/internal: proj reads buffer node .* not a multi-output call/);
    expect(() => makeNode("proj", { index: 3 }, [call])).toThrow(/internal: proj index 3 is out of range .* 3 outputs/);
    expect(projections(call).map((p) => p.shape)).toEqual([[], [], [2]]);
    expect(() => projections(tf.tensor([1]).node)).toThrow(/not a multi-output call/);
  });
});

const gpu = await probeWebGpu();

describe.skipIf(!gpu)("multi-output calls on webgpu", () => {
  beforeAll(async () => {
    await tf.setBackend("webgpu");
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  it("one scan/whileLoop/cond kernel per call writes the live outputs; values match the cpu", async () => {
    const f = tf.jit((xs: Tensor, i: Tensor) => {
      const [s, p, ys] = sumProd(xs);
      const [a, b] = twoWhile(xs);
      const [c] = twoCond(xs, i);
      return [tf.add(s!, p!), ys!, tf.add(a!, b!), c!];
    });
    const only = tf.jit((xs: Tensor) => sumProd(xs)[1]!);
    const outs = f(tf.tensor([1, 2, 3]), tf.tensor(1, { dtype: "int32" }));
    const vals = await Promise.all(outs.map(async (o) => Array.from(await o.data())));
    expect(vals[0]).toEqual([12]);
    expect(vals[1]).toEqual([1, 3, 6]);
    // sum [1, 2, 3] = 6 < 10: one doubling to [2, 4, 6] (sum 12), w counts 1
    expect(vals[2]).toEqual([3, 5, 7]);
    expect(vals[3]).toEqual([1, 2, 3].map((v) => Math.fround(Math.cos(v))).map((v) => expect.closeTo(v, 6)));
    expect(Array.from(await only(tf.tensor([2, 3, 4])).data())).toEqual([24]);
  });
});

describe("ONNX export emits one Loop/If per call node", () => {
  it("a scan, a whileLoop and a cond, every output used: 2 Loops and 1 If", async () => {
    const f = (xs: Tensor, i: Tensor): Tensor[] => {
      const [s, p, ys] = sumProd(xs);
      const [a, b] = twoWhile(xs);
      const [c, d] = twoCond(xs, i);
      return [tf.add(s!, p!), ys!, tf.add(a!, b!), tf.add(c!, d!)];
    };
    const bytes = await tf.exportOnnx(f, [tf.tensor([1, 2, 3]), tf.tensor(1, { dtype: "int32" })]);
    // node names are `n_<op>_<k>`: one per emitted ONNX node
    const text = new TextDecoder("latin1").decode(bytes);
    const nodes = (op: string): number => new Set(text.match(new RegExp(`n_${op}_\\d+`, "g")) ?? []).size;
    expect([nodes("Loop"), nodes("If")]).toEqual([2, 1]);
  });
});
