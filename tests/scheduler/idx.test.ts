// Idx simplification (ir.ts): the rewritten index equals the plain arithmetic at every point, and
// the conv/im2col shapes collapse (mixed-radix digit splits, division through a multiple).
import { describe, expect, it } from "vitest";
import type { Idx } from "../../src/scheduler/ir.js";
import { bounds, iadd, idiv, idxText, imod, imul, ivar, narrowed, substIdx } from "../../src/scheduler/ir.js";
import { optimizeGraph } from "../../src/scheduler/passes.js";
import { scheduleGraph } from "../../src/scheduler/schedule.js";
import * as tf from "../../src/index.js";

const evalIdx = (i: Idx, env: Record<string, number>): number => {
  switch (i.k) {
    case "var":
      return env[i.name]!;
    case "lit":
      return i.v;
    case "add":
      return evalIdx(i.a, env) + evalIdx(i.b, env);
    case "mul":
      return evalIdx(i.a, env) * i.c;
    case "div":
      return Math.floor(evalIdx(i.a, env) / i.c);
    case "mod":
      return evalIdx(i.a, env) % i.c;
  }
};

describe("Idx simplification", () => {
  const a = ivar("a", 6);
  const b = ivar("b", 36);
  // Plain (unsimplified) meaning of each case, next to the simplified construction.
  const cases: [string, Idx, (a: number, b: number) => number][] = [
    ["(a*36 + b) / 12", idiv(iadd(imul(a, 36), b), 12), (x, y) => Math.floor((x * 36 + y) / 12)],
    ["(a*36 + b) / 108", idiv(iadd(imul(a, 36), b), 108), (x, y) => Math.floor((x * 36 + y) / 108)],
    ["(a*36 + b) % 108", imod(iadd(imul(a, 36), b), 108), (x, y) => (x * 36 + y) % 108],
    ["(b % 12) % 4", imod(imod(b, 12), 4), (_x, y) => (y % 12) % 4],
    ["(a*36 + b + 5) / 7", idiv(iadd(iadd(imul(a, 36), b), { k: "lit", v: 5 }), 7), (x, y) => Math.floor((x * 36 + y + 5) / 7)],
    ["((a*36 + b) / 4) % 27", imod(idiv(iadd(imul(a, 36), b), 4), 27), (x, y) => Math.floor((x * 36 + y) / 4) % 27],
  ];
  it.each(cases)("%s is exact", (_name, idx, want) => {
    for (let x = 0; x < 6; x++) for (let y = 0; y < 36; y++) expect(evalIdx(idx, { a: x, b: y })).toBe(want(x, y));
  });
  it("splits digits instead of dividing the whole sum", () => {
    expect(idxText(idiv(iadd(imul(a, 36), b), 12))).toBe("(a * 3 + ((b / 12) | 0))");
    expect(idxText(idiv(iadd(imul(a, 36), b), 108))).toBe("((a / 3) | 0)");
    expect(idxText(imod(imod(b, 12), 4))).toBe("(b % 4)");
  });
});

describe("guard narrowing", () => {
  it("narrows the variables a pad's conditions bound, and only those", () => {
    const x = ivar("x", 30);
    const y = ivar("y", 30);
    // lo <= x + 1 < hi and 2 <= y < 10 (affine in one variable); x + y is left alone.
    const env = narrowed([
      { idx: iadd(x, { k: "lit", v: 1 }), lo: 2, hi: 30 },
      { idx: y, lo: 2, hi: 10 },
      { idx: iadd(x, y), lo: 0, hi: 5 },
    ]);
    expect(bounds(env.get("x")!)).toEqual([1, 28]);
    expect(bounds(env.get("y")!)).toEqual([2, 9]);
    // Under the guard, ((x - 1) + 28·y) / 28 is y and its mod 28 is x - 1: no division left.
    const flat = iadd(iadd(x, { k: "lit", v: -1 }), imul(y, 28));
    const q = substIdx(idiv(flat, 28), env);
    const r = substIdx(imod(flat, 28), env);
    expect(idxText(q)).toBe("y");
    expect(idxText(r)).not.toMatch(/[/%]/);
    for (let xv = 1; xv <= 28; xv++)
      for (let yv = 2; yv <= 9; yv++) {
        expect(evalIdx(q, { x: xv, y: yv })).toBe(Math.floor((xv - 1 + 28 * yv) / 28));
        expect(evalIdx(r, { x: xv, y: yv })).toBe((xv - 1 + 28 * yv) % 28);
      }
  });

  it("the col2im kernel of an im2col conv's input gradient has no integer division", () => {
    // conv as im2col from public ops (the `conv` primitive's input gradient is a conv itself)
    const im2col = (a: tf.Tensor, w: tf.Tensor): tf.Tensor => {
      const [N, C, H, W] = a.shape as [number, number, number, number];
      const xp = tf.pad(a, [
        [0, 0],
        [0, 0],
        [1, 1],
        [1, 1],
      ]);
      const pieces = [0, 1, 2].flatMap((dh) => [0, 1, 2].map((dw) => tf.slice(xp, [0, 0, dh, dw], [N, C, dh + H, dw + W])));
      const patches = tf.reshape(tf.permuteDims(tf.reshape(tf.stack(pieces), [9, N, C, H * W]), [1, 2, 0, 3]), [N, C * 9, H * W]);
      return tf.matmul(tf.broadcastTo(tf.reshape(w, [1, w.shape[0]!, C * 9]), [N, w.shape[0]!, C * 9]), patches);
    };
    const f = tf.jit(tf.grad((a: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(im2col(a, w)))));
    const program = scheduleGraph(optimizeGraph(f.lower(tf.ones([2, 3, 10, 10]), tf.ones([4, 3, 3, 3])).graph));
    const col2im = program.kernels.filter((k) => k.kind === "elementwise" && k.shape.join() === "2,3,10,10");
    expect(col2im.length).toBe(1);
    expect(JSON.stringify(col2im[0])).not.toMatch(/"k":"(div|mod)"/);
  });
});
