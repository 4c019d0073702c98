/**
 * jit tracing and caching (trace counts, the debug log naming the changed argument, static
 * arguments), and the transforms' error messages, each naming the argument at fault.
 */
import { describe, expect, it } from "vitest";
import type { Tensor } from "../../src/index.js";
import * as tf from "../../src/index.js";
import { ShapeError } from "../../src/index.js";
import { assertAllClose } from "../../laws/index.js";

describe("jit tracing", () => {
  it("traces once per signature, again for a new shape or dtype", () => {
    let bodyRuns = 0;
    const f = tf.jit((x: Tensor, y: Tensor) => {
      bodyRuns++;
      return tf.add(tf.multiply(x, y), 1);
    });
    assertAllClose(f(tf.tensor([1, 2]), tf.tensor([3, 4])), [4, 9]);
    assertAllClose(f(tf.tensor([5, 6]), tf.tensor([1, 1])), [6, 7]);
    assertAllClose(f(tf.tensor([0, 1]), tf.tensor([2, 2])), [1, 3]);
    expect(f.traceCount).toBe(1);
    expect(bodyRuns).toBe(1);
    f(tf.tensor([1, 2, 3]), tf.tensor([1, 2, 3]));
    expect(f.traceCount).toBe(2);
    f(tf.tensor([1, 2]), tf.tensor([3, 4])); // the first signature is still cached
    expect(f.traceCount).toBe(2);
    f(tf.tensor([1, 2], { dtype: "int32" }), tf.tensor([3, 4], { dtype: "int32" }));
    expect(f.traceCount).toBe(3);
    expect(bodyRuns).toBe(3);
  });

  it("re-traces for a new tree structure", () => {
    const f = tf.jit((p: { a: Tensor; b?: Tensor }) => (p.b ? tf.add(p.a, p.b) : p.a));
    f({ a: tf.tensor([1]) });
    f({ a: tf.tensor([2]) });
    expect(f.traceCount).toBe(1);
    assertAllClose(f({ a: tf.tensor([1]), b: tf.tensor([2]) }), [3]);
    expect(f.traceCount).toBe(2);
  });

  it("the debug log names the changed argument", () => {
    const log: string[] = [];
    const f = tf.jit(
      function scale(x: Tensor, y: Tensor) {
        return tf.multiply(x, y);
      },
      { debug: (m) => log.push(m) },
    );
    f(tf.tensor([1, 2]), tf.tensor([1, 2]));
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/first time/);
    f(tf.tensor([3, 4]), tf.tensor([5, 6]));
    expect(log).toHaveLength(1); // cache hit: nothing logged
    f(tf.tensor([1, 2]), tf.tensor([3]));
    expect(log).toHaveLength(2);
    expect(log[1]).toMatch(/argument 1/);
    expect(log[1]).toMatch(/float32\[2\]/);
    expect(log[1]).toMatch(/float32\[1\]/);
    f(tf.tensor([[1, 2]]), tf.tensor([3]));
    expect(log).toHaveLength(3);
    expect(log[2]).toMatch(/argument 0/);
    expect(log[2]).not.toMatch(/argument 1/);
  });

  it("staticArgnums: statics are part of the cache key, compared by value", () => {
    const log: string[] = [];
    let runs = 0;
    const f = tf.jit(
      (x: Tensor, opts: { power: number }) => {
        runs++;
        return tf.pow(x, opts.power);
      },
      { staticArgnums: 1, debug: (m) => log.push(m) },
    );
    assertAllClose(f(tf.tensor([2, 3]), { power: 2 }), [4, 9]);
    assertAllClose(f(tf.tensor([4, 5]), { power: 2 }), [16, 25]);
    expect(f.traceCount).toBe(1);
    assertAllClose(f(tf.tensor([2, 3]), { power: 3 }), [8, 27]);
    expect(f.traceCount).toBe(2);
    expect(runs).toBe(2);
    expect(log[1]).toMatch(/static argument 1/);
    // a static number is not traced: it can drive Python-style control flow
    const g = tf.jit(
      (x: Tensor, n: number) => {
        let y = x;
        for (let i = 0; i < n; i++) y = tf.multiply(y, 2);
        return y;
      },
      { staticArgnums: [1] },
    );
    assertAllClose(g(tf.tensor([1]), 3), [8]);
    assertAllClose(g(tf.tensor([1]), 1), [2]);
    expect(g.traceCount).toBe(2);
  });

  it("jit inside grad and vmap inlines without re-tracing per call", () => {
    const f = tf.jit((x: Tensor) => tf.sum(tf.sin(x)));
    const x = tf.tensor([0.1, 0.2]);
    assertAllClose(tf.grad(f)(x) as Tensor, tf.cos(x));
    assertAllClose(tf.grad(f)(x) as Tensor, tf.cos(x));
    assertAllClose(
      tf.vmap(f)(
        tf.tensor([
          [0.1, 0.2],
          [0.3, 0.4],
        ]),
      ),
      [Math.sin(0.1) + Math.sin(0.2), Math.sin(0.3) + Math.sin(0.4)],
      { atol: 1e-6 },
    );
    expect(f.traceCount).toBe(1); // grad and vmap both call it on a traced float32[2]: one signature
  });

  it("lower() and makeGraph() describe the program", () => {
    const f = tf.jit((x: Tensor) => tf.exp(tf.add(x, 1)));
    const low = f.lower(tf.tensor([1, 2]));
    expect(low.kernels.length).toBeGreaterThan(0);
    const g = tf.makeGraph((x: Tensor) => tf.exp(tf.add(x, 1)))(tf.tensor([1, 2]));
    expect(g.toString()).toMatch(/exp/);
    expect(g.toDot()).toMatch(/^digraph/);
  });
});

describe("transform errors name the argument at fault", () => {
  it("grad of a non-scalar output", () => {
    const f = (x: Tensor): Tensor => tf.multiply(x, 2);
    expect(() => tf.grad(f)(tf.tensor([1, 2]))).toThrow(ShapeError);
    expect(() => tf.grad(f)(tf.tensor([1, 2]))).toThrow(/grad: f must return a scalar, got shape \[2\]/);
  });

  it("vmap with mismatched batch sizes", () => {
    const f = (a: Tensor, b: Tensor): Tensor => tf.add(a, b);
    expect(() => tf.vmap(f)(tf.zeros([3, 2]), tf.zeros([4, 2]))).toThrow(ShapeError);
    expect(() => tf.vmap(f)(tf.zeros([3, 2]), tf.zeros([4, 2]))).toThrow(/mismatched batch sizes.*leaf 0 has size 3.*leaf 1 \(shape \[4, 2\]\) has 4/);
  });

  it("jvp with tangents whose shapes differ from the primals", () => {
    const f = (a: Tensor, b: Tensor): Tensor => tf.multiply(a, b);
    const call = (): unknown => tf.jvp(f, [tf.zeros([2]), tf.zeros([3])], [tf.zeros([2]), tf.zeros([2, 3])]);
    expect(call).toThrow(ShapeError);
    expect(call).toThrow(/jvp: tangent 1 has shape \[2, 3\] but its primal has shape \[3\]/);
    expect(() => tf.jvp(f, [tf.zeros([2]), tf.zeros([2])], [tf.zeros([2])])).toThrow(/jvp: tangents have structure/);
  });

  it("customVjp whose bwd returns the wrong structure or shapes", () => {
    const wrongCount = tf.customVjp(
      function twoArgs(x: Tensor, y: Tensor) {
        return tf.multiply(x, y);
      },
      (x: Tensor, y: Tensor) => [tf.multiply(x, y), [x, y]] as const,
      (_res: Tensor[], g: Tensor) => [g], // one cotangent for two arguments
    );
    const loss = (x: Tensor, y: Tensor): Tensor => tf.sum(wrongCount(x, y));
    expect(() => tf.grad(loss)(tf.ones([2]), tf.ones([2]))).toThrow(/customVjp\(twoArgs\): bwd returned structure .*one cotangent per argument/);
    const wrongShape = tf.customVjp(
      function sq(x: Tensor) {
        return tf.square(x);
      },
      (x: Tensor) => [tf.square(x), x] as const,
      (x: Tensor, g: Tensor) => [tf.sum(tf.multiply(g, x))],
    );
    expect(() => tf.grad((x: Tensor) => tf.sum(wrongShape(x)))(tf.ones([3]))).toThrow(
      /customVjp\(sq\): bwd cotangent 0 has shape \[\], but the argument has shape \[3\]/,
    );
  });

  it("grad of an integer argument and argnums out of range", () => {
    expect(() => tf.grad((x: Tensor) => tf.sum(tf.astype(x, "float32")))(tf.tensor([1], { dtype: "int32" }))).toThrow(/int32 input/);
    expect(() => tf.grad((x: Tensor) => tf.sum(x), { argnums: 2 })(tf.tensor([1]))).toThrow(/argnums 2 out of range/);
  });

  it("vjp with a cotangent of the wrong shape", () => {
    const [, pullback] = tf.vjp((x: Tensor) => tf.multiply(x, 2), tf.zeros([3]));
    expect(() => pullback(tf.zeros([2]))).toThrow(/vjp: cotangent 0 has shape \[2\] but the output has shape \[3\]/);
  });

  it("scan with a carry that changes shape", () => {
    expect(() => tf.scan((c: Tensor, x: Tensor) => [tf.concat([c, x]), x] as const, tf.zeros([1]), tf.zeros([3, 1]))).toThrow(
      /scan: carry leaf 0 changed from float32\[1\] to float32\[2\]/,
    );
  });
});
