/** Tensor handles: realization, sharing, deep lazy chains, disposal, printing. */
import { describe, expect, it } from "vitest";
import { add, exp, grad, jit, multiply, setBackend, sum, tensor, zeros, ConcretizationError, Tensor } from "../../src/index.js";
import { cse } from "../../src/core/node.js";
import { realizeAll } from "../../src/core/tensor.js";
import { MAX_LAZY_DEPTH } from "../../src/ops/base.js";

describe("Tensor", () => {
  it("realizes several handles on one node together (regression)", () => {
    const x = tensor([1, 2]);
    const a = add(x, 1);
    const b = add(x, 1); // the same node as a
    realizeAll([a, b, a]);
    expect(a.arraySync()).toEqual([2, 3]);
    expect(b.arraySync()).toEqual([2, 3]);
    // a jitted function returning the same value twice
    const f = jit((v) => {
      const s = multiply(v, 2);
      return [s, s];
    });
    const [p, q] = f(tensor([3])) as [ReturnType<typeof tensor>, ReturnType<typeof tensor>];
    expect(p.arraySync()).toEqual([6]);
    expect(q.arraySync()).toEqual([6]);
  });

  it("shares a realized node between handles only on the backend that computed it (regression)", async () => {
    await setBackend("reference");
    const z = zeros([3]);
    const n = z.node;
    try {
      z.dataSync();
      expect(new Tensor(n).node.isBuffer()).toBe(true); // same backend: reused
    } finally {
      await setBackend("cpu");
    }
    expect(new Tensor(n).node.isBuffer()).toBe(false); // another backend computes its own
    expect(new Tensor(n).arraySync()).toEqual([0, 0, 0]);
  });

  it("a long synchronous loop does not pin the nodes and buffers it built (regression)", () => {
    const x = tensor(new Float32Array(10000));
    const start = process.memoryUsage();
    for (let i = 0; i < 4000; i++) exp(add(x, 1)).dataSync(); // 80 kB of fresh data per step
    const end = process.memoryUsage();
    const grown = end.heapUsed + end.arrayBuffers - (start.heapUsed + start.arrayBuffers);
    // pinned, this would be over 300 MB; the collector keeps it far lower
    expect(grown).toBeLessThan(150e6);
  });

  it("merges equal subexpressions before realizing (cse)", () => {
    const x = tensor([1, 2]);
    const a = exp(add(x, 1));
    const b = exp(add(x, 1));
    expect(a.node).not.toBe(b.node);
    const [ca, cb] = cse([add(a, b).node]).flatMap((n) => n.inputs);
    expect(ca).toBe(cb);
    const got = add(a, b).arraySync() as number[];
    expect(got[0]).toBeCloseTo(2 * Math.exp(2), 4);
    expect(got[1]).toBeCloseTo(2 * Math.exp(3), 4);
  });

  it("realizes a concrete lazy chain before it grows past the depth bound", () => {
    let x = tensor([0]);
    for (let i = 0; i < 3 * MAX_LAZY_DEPTH; i++) x = add(x, 1);
    expect(x.node.depth).toBeLessThanOrEqual(MAX_LAZY_DEPTH + 4);
    expect(x.arraySync()).toEqual([3 * MAX_LAZY_DEPTH]);
  });

  it("reading a traced value inside a transform raises a clear error", () => {
    expect(() =>
      grad((v) => {
        v.dataSync();
        return sum(v);
      })(tensor([1])),
    ).toThrow(ConcretizationError);
  });

  it("dispose makes later reads fail clearly; using disposes at scope end", () => {
    const t = tensor([1, 2]);
    t.dispose();
    expect(() => t.dataSync()).toThrow(/disposed/);
    let u: ReturnType<typeof tensor> | undefined;
    {
      using v = tensor([1]);
      u = v;
      expect(v.arraySync()).toEqual([1]);
    }
    expect(() => u!.dataSync()).toThrow(/disposed/);
  });

  it("prints like NumPy", () => {
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ]).toString(),
    ).toBe("tensor([[1, 2],\n        [3, 4]], dtype=float32, shape=[2, 2], device=cpu)");
    expect(tensor([true, false]).toString()).toBe("tensor([ true, false], dtype=bool, shape=[2], device=cpu)");
    expect(tensor(2.5).toString()).toBe("tensor(2.5, dtype=float32, shape=[], device=cpu)");
    expect(tensor([NaN, Infinity], { dtype: "float32" }).toString()).toBe("tensor([nan, inf], dtype=float32, shape=[2], device=cpu)");
  });
});
