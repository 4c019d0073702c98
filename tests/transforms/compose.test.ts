/**
 * Transforms composed and nested: per-example gradients with vmap(grad), grad of grad, jit of
 * grad of vmap, checkpoint, customVjp under grad, scan options and pytree carries, stopGradient.
 */
import fc from "fast-check";
import { yielding } from "../yielding.js";
import { describe, expect, it, vi } from "vitest";
import type { Tensor } from "../../src/index.js";
import * as tf from "../../src/index.js";
import { arb, assertAllClose, checkGrads } from "../../laws/index.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 8);
// thousand-run property sessions (npm run test:props) need more than the default timeout
vi.setConfig({ testTimeout: Math.max(60_000, RUNS * 1_000) });

type Params = { w: Tensor; b: Tensor };
const loss = (p: Params, x: Tensor, y: Tensor): Tensor => {
  const pred = tf.tanh(tf.add(tf.matmul(x, p.w), p.b));
  return tf.mean(tf.square(tf.subtract(pred, y)));
};
const row = (t: Tensor, i: number): Tensor => tf.reshape(tf.take(t, [i], { axis: 0 }), t.shape.slice(1));

describe("composition", () => {
  it("vmap(grad(loss)) gives per-example gradients equal to a loop", async () => {
    await fc.assert(
      yielding(arb.tensor({ shape: [3, 2] }), arb.tensor({ shape: [2] }), arb.tensor({ shape: [4, 3] }), arb.tensor({ shape: [4, 2] }), (w, b, xs, ys) => {
        const p = { w, b };
        const single = (pp: Params, x: Tensor, y: Tensor): Tensor => loss(pp, tf.reshape(x, [1, 3]), tf.reshape(y, [1, 2]));
        const per = tf.vmap(tf.grad(single), { inAxes: [null, 0, 0] })(p, xs, ys) as Params;
        expect(per.w.shape).toEqual([4, 3, 2]);
        expect(per.b.shape).toEqual([4, 2]);
        for (let i = 0; i < 4; i++) {
          const g = tf.grad(single)(p, row(xs, i), row(ys, i)) as Params;
          assertAllClose(row(per.w, i), g.w, { atol: 1e-6, rtol: 1e-5 });
          assertAllClose(row(per.b, i), g.b, { atol: 1e-6, rtol: 1e-5 });
        }
        // the mean of per-example gradients is the batch gradient
        const batch = tf.grad(loss)(p, xs, ys) as Params;
        assertAllClose(tf.mean(per.w, { axis: 0 }), batch.w, { atol: 1e-6, rtol: 1e-4 });
      }),
      { numRuns: RUNS },
    );
  });

  it("grad of grad (of grad) matches closed forms", async () => {
    await fc.assert(
      yielding(fc.float({ min: Math.fround(-2), max: Math.fround(2), noNaN: true }), (v) => {
        const x = tf.scalar(v);
        const f = (y: Tensor): Tensor => tf.multiply(tf.sin(y), tf.exp(y));
        const d1 = tf.grad(f);
        const d2 = tf.grad(d1);
        const d3 = tf.grad(d2);
        const s = Math.sin(v);
        const c = Math.cos(v);
        const e = Math.exp(v);
        assertAllClose(d1(x), e * (s + c), { atol: 1e-5, rtol: 1e-4 });
        assertAllClose(d2(x), 2 * e * c, { atol: 1e-5, rtol: 1e-4 });
        assertAllClose(d3(x), 2 * e * (c - s), { atol: 1e-5, rtol: 1e-4 });
      }),
      { numRuns: RUNS },
    );
  });

  it("jit(grad(vmap(f))) = grad(vmap(f)) and vmap(jit(f)) = vmap(f)", async () => {
    await fc.assert(
      yielding(arb.tensor({ shape: [3, 2] }), arb.tensor({ shape: [4, 3] }), (w, xs) => {
        const f = (ww: Tensor, x: Tensor): Tensor => tf.sum(tf.tanh(tf.matmul(tf.reshape(x, [1, 3]), ww)));
        const total = (ww: Tensor): Tensor => tf.sum(tf.vmap(f, { inAxes: [null, 0] })(ww, xs));
        const jg = tf.jit(tf.grad(total));
        assertAllClose(jg(w), tf.grad(total)(w) as Tensor, { atol: 1e-6, rtol: 1e-5 });
        assertAllClose(jg(w), tf.grad(total)(w) as Tensor, { atol: 1e-6, rtol: 1e-5 });
        expect(jg.traceCount).toBe(1);
        assertAllClose(tf.vmap(tf.jit(f), { inAxes: [null, 0] })(w, xs), tf.vmap(f, { inAxes: [null, 0] })(w, xs), { atol: 1e-6 });
      }),
      { numRuns: RUNS },
    );
  });

  it("checkpoint gives identical values and gradients (first and second order)", async () => {
    await fc.assert(
      yielding(arb.tensor({ shape: [3] }), arb.tensor({ shape: [3, 3] }), (x, w) => {
        const body = (y: Tensor): Tensor => tf.tanh(tf.matmul(w, tf.sin(y)));
        const plain = (y: Tensor): Tensor => tf.sum(body(body(y)));
        const ck = tf.checkpoint(body);
        const remat = (y: Tensor): Tensor => tf.sum(ck(ck(y)));
        assertAllClose(remat(x), plain(x), { atol: 1e-6 });
        assertAllClose(tf.grad(remat)(x) as Tensor, tf.grad(plain)(x) as Tensor, { atol: 1e-6, rtol: 1e-5 });
        assertAllClose(tf.hessian(remat)(x), tf.hessian(plain)(x), { atol: 1e-5, rtol: 1e-4 });
        expect(
          tf
            .makeGraph(remat)(x)
            .nodes()
            .some((n) => n.prim === "checkpoint"),
        ).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("customVjp's bwd is what grad uses", async () => {
    let calls = 0;
    // deliberately scaled gradient: grad must return bwd's answer, not the derivative of f
    const f = tf.customVjp(
      (x: Tensor) => tf.square(x),
      (x: Tensor) => [tf.square(x), x] as const,
      (x: Tensor, g: Tensor) => {
        calls++;
        return [tf.multiply(g, tf.multiply(x, 10))];
      },
    );
    const x = tf.tensor([1, -2, 0.5]);
    assertAllClose(f(x), [1, 4, 0.25]);
    assertAllClose(tf.grad((y: Tensor) => tf.sum(f(y)))(x) as Tensor, [10, -20, 5]);
    expect(calls).toBeGreaterThan(0);
    // under jit and vmap too
    assertAllClose(tf.jit(tf.grad((y: Tensor) => tf.sum(f(y))))(x) as Tensor, [10, -20, 5]);
    const per = tf.vmap(tf.grad((y: Tensor) => f(y)))(x);
    assertAllClose(per, [10, -20, 5]);
    // a correct customVjp passes checkGrads in reverse mode, the scaled one does not
    const good = tf.customVjp(
      (x2: Tensor) => tf.square(x2),
      (x2: Tensor) => [tf.square(x2), x2] as const,
      (x2: Tensor, g: Tensor) => [tf.multiply(g, tf.multiply(x2, 2))],
    );
    checkGrads(good, [x], { modes: ["rev"], order: 2 });
    expect(() => checkGrads(f, [x], { modes: ["rev"] })).toThrow(/rev mode, order 1, f, argument 0/);
  });

  it("scan with reverse: true runs from the end", async () => {
    const xs = tf.tensor([1, 2, 3, 4]);
    const step = (c: Tensor, x: Tensor): readonly [Tensor, Tensor] => {
      const s = tf.add(tf.multiply(c, 2), x);
      return [s, s] as const;
    };
    const [cf, ysf] = tf.scan(step, tf.scalar(0), xs);
    const [cr, ysr] = tf.scan(step, tf.scalar(0), xs, { reverse: true });
    assertAllClose(cf, 26); // ((1*2+2)*2+3)*2+4
    assertAllClose(ysf, [1, 4, 11, 26]);
    assertAllClose(cr, 49); // ((4*2+3)*2+2)*2+1
    // ys stay aligned with xs: ys[i] is the carry after consuming xs[i]
    assertAllClose(ysr, [49, 24, 11, 4]);
    // the reversed scan equals the forward scan of the flipped input, flipped back
    const [, ysFlip] = tf.scan(step, tf.scalar(0), tf.flip(xs));
    assertAllClose(ysr, tf.flip(ysFlip));
    // gradients through a reversed scan
    checkGrads(
      (x: Tensor) =>
        tf.scan(
          (c: Tensor, v: Tensor) => {
            const s = tf.sin(tf.add(tf.multiply(c, v), v));
            return [s, tf.square(s)] as const;
          },
          tf.scalar(0.3),
          x,
          { reverse: true },
        )[1],
      [tf.tensor([0.1, -0.5, 0.7])],
      { order: 2 },
    );
  });

  it("scan with a pytree carry and pytree xs/ys", async () => {
    type C = { h: Tensor; n: [Tensor, Tensor] };
    const f = (init: C, xs: { a: Tensor; b: Tensor }): Tensor => {
      const [c, ys] = tf.scan(
        (carry: C, x: { a: Tensor; b: Tensor }) => {
          const h = tf.add(tf.multiply(carry.h, x.a), x.b);
          const next: C = { h, n: [tf.add(carry.n[0], 1), tf.multiply(carry.n[1], x.a)] };
          return [next, { h2: tf.square(h), sum: tf.sum(h) }] as const;
        },
        init,
        xs,
      );
      expect(ys.h2.shape).toEqual([3, 2]);
      expect(ys.sum.shape).toEqual([3]);
      return tf.add(tf.add(tf.sum(c.h), tf.sum(ys.h2)), tf.add(tf.sum(c.n[1]), tf.sum(ys.sum)));
    };
    const init: C = { h: tf.tensor([0.5, -0.5]), n: [tf.scalar(0), tf.tensor([1, 1])] };
    const xs = {
      a: tf.tensor([
        [0.5, 1],
        [1.5, -1],
        [0.2, 0.3],
      ]),
      b: tf.tensor([
        [0.1, 0.2],
        [0.3, 0.4],
        [0.5, 0.6],
      ]),
    };
    // value against an unrolled loop
    let h = init.h;
    let n1 = init.n[1];
    let acc = 0;
    const a = xs.a.arraySync() as number[][];
    const b = xs.b.arraySync() as number[][];
    const hv = h.arraySync() as number[];
    const nv = n1.arraySync() as number[];
    for (let t = 0; t < 3; t++) {
      for (let j = 0; j < 2; j++) {
        hv[j] = hv[j]! * a[t]![j]! + b[t]![j]!;
        nv[j] = nv[j]! * a[t]![j]!;
        acc += hv[j]! ** 2 + hv[j]!;
      }
    }
    acc += hv[0]! + hv[1]! + nv[0]! + nv[1]!;
    h = tf.tensor(hv);
    n1 = tf.tensor(nv);
    void h;
    void n1;
    assertAllClose(f(init, xs), acc, { atol: 1e-5, rtol: 1e-5 });
    // the carry counter is counted (int-like float carried through)
    const [cEnd] = tf.scan(
      (c: C, x: { a: Tensor; b: Tensor }) => [{ h: tf.add(c.h, x.b), n: [tf.add(c.n[0], 1), c.n[1]] as [Tensor, Tensor] }, x.a] as const,
      init,
      xs,
    );
    assertAllClose(cEnd.n[0], 3);
    // gradients with respect to the whole pytree carry and xs
    checkGrads(f, [init, xs], { order: 1 });
    const g = tf.grad(f, { argnums: [0, 1] })(init, xs) as [C, { a: Tensor; b: Tensor }];
    expect(g[0].h.shape).toEqual([2]);
    expect(g[0].n[1].shape).toEqual([2]);
    expect(g[1].a.shape).toEqual([3, 2]);
  });

  it("stopGradient blocks exactly the stopped path", async () => {
    const x = tf.tensor([1, 2, 3]);
    assertAllClose(tf.grad((y: Tensor) => tf.sum(tf.multiply(y, tf.stopGradient(y))))(x) as Tensor, [1, 2, 3]);
    assertAllClose(tf.grad((y: Tensor) => tf.sum(tf.stopGradient(tf.exp(y))))(x) as Tensor, [0, 0, 0]);
    const [, t] = tf.jvp((y: Tensor) => tf.add(y, tf.stopGradient(tf.square(y))), [x], [tf.onesLike(x)]) as [Tensor, Tensor];
    assertAllClose(t, [1, 1, 1]);
  });

  it("valueAndGrad with argnums and hasAux mirrors the argument pytrees", async () => {
    const f = (p: { a: Tensor; b: [Tensor] }, k: Tensor): [Tensor, { note: Tensor }] => {
      const v = tf.sum(tf.multiply(tf.multiply(p.a, p.b[0]), k));
      return [v, { note: tf.multiply(v, 2) }];
    };
    const p = { a: tf.tensor([1, 2]), b: [tf.tensor([3, 4])] as [Tensor] };
    const [[v, aux], g] = tf.valueAndGrad(f, { argnums: [0, 1], hasAux: true })(p, tf.scalar(2)) as [
      [Tensor, { note: Tensor }],
      [{ a: Tensor; b: [Tensor] }, Tensor],
    ];
    assertAllClose(v, 22);
    assertAllClose(aux.note, 44);
    assertAllClose(g[0].a, [6, 8]);
    assertAllClose(g[0].b[0], [2, 4]);
    assertAllClose(g[1], 11);
  });

  it("jacfwd = jacrev on a vector function", async () => {
    await fc.assert(
      yielding(arb.tensor({ shape: [3], min: -2, max: 2 }), (x) => {
        const f = (y: Tensor): Tensor => tf.concat([tf.sin(y), tf.multiply(tf.cumsum(y), tf.sum(tf.square(y), { keepdims: true }))]);
        assertAllClose(tf.jacfwd(f)(x), tf.jacrev(f)(x), { atol: 1e-5, rtol: 1e-5 });
      }),
      { numRuns: RUNS },
    );
  });
});

describe("scan gradients through several outputs", () => {
  it("transposes all used outputs of one scan with a single reverse scan", () => {
    const xs = tf.random.normal(tf.random.key(0), [5, 3]);
    const f = (w: Tensor): Tensor => {
      const [h, ys] = tf.scan(
        (c: Tensor, x: Tensor) => {
          const n = tf.tanh(tf.add(tf.multiply(c, w), x));
          return [n, tf.multiply(n, 2)] as const;
        },
        tf.zeros([3]),
        xs,
      ) as [Tensor, Tensor];
      return tf.add(tf.sum(tf.square(h)), tf.sum(ys));
    };
    const g = tf.makeGraph(tf.grad(f))(tf.tensor(0.5));
    const reverse = new Set(
      g
        .nodes()
        .filter((n) => n.prim === "scan")
        .filter((n) => n.params.reverse)
        .map((n) => n.params.body.id),
    );
    expect(reverse.size).toBe(1);
    const e = 1e-2;
    const fd = (f(tf.tensor(0.5 + e)).itemSync() - f(tf.tensor(0.5 - e)).itemSync()) / (2 * e);
    expect(tf.grad(f)(tf.tensor(0.5)).itemSync()).toBeCloseTo(fd, 2);
  });
});
