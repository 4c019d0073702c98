/**
 * Static types of grad/valueAndGrad results (checked by `tsc` in npm test) and their runtime values:
 * gradients mirror the differentiated arguments' pytrees (number leaves become Tensors), argnums
 * arrays give tuples, hasAux gives [grads, aux].
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import { add, grad, jvp, multiply, scan, sin, square, sum, tensor, valueAndGrad, vjp } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

describe("typed gradients", () => {
  it("mirror the argument pytrees", () => {
    const g1 = grad((x: Tensor) => sum(square(x)))(tensor([1, 2]));
    expectTypeOf(g1).toEqualTypeOf<Tensor>();
    expect(g1.arraySync()).toEqual([2, 4]);

    const g2 = grad((p: { w: Tensor; b: number }) => sum(multiply(p.w, p.b)))({ w: tensor([1, 1]), b: 2 });
    expectTypeOf(g2).toEqualTypeOf<{ w: Tensor; b: Tensor }>();
    expect(g2.b.arraySync()).toBe(2);

    const g3 = grad((a: Tensor, b: Tensor) => multiply(a, b), { argnums: 1 })(tensor(2), tensor(3));
    expectTypeOf(g3).toEqualTypeOf<Tensor>();
    expect(g3.arraySync()).toBe(2);
  });

  it("give tuples for argnums arrays and [value, aux] with hasAux", () => {
    const [v, [ga, gb]] = valueAndGrad((a: Tensor, b: Tensor) => multiply(a, b), { argnums: [0, 1] })(tensor(2), tensor(3));
    expectTypeOf(v).toEqualTypeOf<Tensor>();
    expectTypeOf(ga).toEqualTypeOf<Tensor>();
    expect([v.arraySync(), ga.arraySync(), gb.arraySync()]).toEqual([6, 3, 2]);

    const [[value, aux], g] = valueAndGrad((a: Tensor) => [multiply(a, a), "note"] as const, { hasAux: true })(tensor(2));
    expectTypeOf(aux).toEqualTypeOf<"note">();
    expectTypeOf(g).toEqualTypeOf<Tensor>();
    expect([value.arraySync(), aux, g.arraySync()]).toEqual([4, "note", 4]);

    const [gx, auxG] = grad((a: Tensor) => [sum(a), 1] as const, { hasAux: true })(tensor([1, 2]));
    expectTypeOf(auxG).toEqualTypeOf<Tensor>(); // numbers in aux are traced: they come back as tensors
    expect(auxG.arraySync()).toBe(1);
    expect(gx.arraySync()).toEqual([1, 1]);
  });

  it("type vjp pullbacks and jvp tangents", () => {
    const [y, pullback] = vjp((a: Tensor, p: { w: Tensor }) => multiply(a, p.w), tensor(2), { w: tensor(3) });
    expectTypeOf(y).toEqualTypeOf<Tensor>();
    const [ga, gp] = pullback(tensor(1));
    expectTypeOf(ga).toEqualTypeOf<Tensor>();
    expectTypeOf(gp).toEqualTypeOf<{ w: Tensor }>();
    expect([ga.arraySync(), gp.w.arraySync()]).toEqual([3, 2]);
    const [s, ds] = jvp((x: Tensor) => sin(x), [tensor(0)], [tensor(1)]);
    expectTypeOf(ds).toEqualTypeOf<Tensor>();
    expect([s.arraySync(), ds.arraySync()]).toEqual([0, 1]);
  });

  it("type scan's step inputs from xs and its results from the step", () => {
    // Untyped lambdas: the carry comes from init, x from xs (one leading axis less at run time).
    const [total, running] = scan(
      (c, x) => {
        const t = add(c, x);
        return [t, t];
      },
      tensor(0),
      tensor([1, 2, 3]),
    );
    expectTypeOf(total).toEqualTypeOf<Tensor>();
    expectTypeOf(running).toEqualTypeOf<Tensor>();
    expect([total.arraySync(), running.arraySync()]).toEqual([6, [1, 3, 6]]);
    const [c2, ys] = scan(
      (c, x) => {
        expectTypeOf(x).toEqualTypeOf<{ a: Tensor; b: Tensor }>();
        return [add(c, x.a), { prod: multiply(x.a, x.b) }];
      },
      tensor(0),
      { a: tensor([1, 2]), b: tensor([3, 4]) },
    );
    expectTypeOf(ys).toEqualTypeOf<{ prod: Tensor }>();
    expect([c2.arraySync(), ys.prod.arraySync()]).toEqual([3, [3, 8]]);
  });
});
