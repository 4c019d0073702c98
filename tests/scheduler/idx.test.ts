// Idx simplification (ir.ts): the rewritten index equals the plain arithmetic at every point, and
// the conv/im2col shapes collapse (mixed-radix digit splits, division through a multiple).
import { describe, expect, it } from "vitest";
import type { Idx } from "../../src/scheduler/ir.js";
import { iadd, idiv, idxText, imod, imul, ivar } from "../../src/scheduler/ir.js";

const evalIdx = (i: Idx, env: Record<string, number>): number => {
  switch (i.k) {
    case "var": return env[i.name]!;
    case "lit": return i.v;
    case "add": return evalIdx(i.a, env) + evalIdx(i.b, env);
    case "mul": return evalIdx(i.a, env) * i.c;
    case "div": return Math.floor(evalIdx(i.a, env) / i.c);
    case "mod": return evalIdx(i.a, env) % i.c;
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
