// The share gate (helper-guard.ts): work whose shared calls lose to one thread (the caller waited
// on late helpers longer than doing it alone would have taken) runs alone for 2, 4, ... 64 calls;
// a won call halves the penalty; a pending injected failure always shares; gates are bounded.
import { describe, expect, it } from "vitest";
import { GATES, ShareGate, armHelper, gateFor, gateStats, injectHelperFailure, injectedPending } from "../../src/backends/cpu/helper-guard.js";

/** How many of the next `n` calls the gate lets share. */
const shares = (g: ShareGate, n: number): boolean[] => Array.from({ length: n }, () => g.share());

describe("ShareGate", () => {
  it("starts open and stays open while sharing wins", () => {
    const g = new ShareGate("gemm");
    expect(shares(g, 3)).toEqual([true, true, true]);
    g.report(1, 0.5, 0.5); // 1.5 ms shared against ≈ 2 ms alone: won
    expect(shares(g, 3)).toEqual([true, true, true]);
  });

  it("backs off 2, 4, 8 calls after losses, and a win halves the penalty", () => {
    const g = new ShareGate("gemm");
    const lost0 = gateStats.lost;
    g.report(1, 2, 0.5); // 3 ms shared against ≈ 2 ms alone: lost
    expect(shares(g, 3)).toEqual([false, false, true]);
    g.report(1, 0.1, 1); // the caller did everything and still waited: lost
    expect(shares(g, 5)).toEqual([false, false, false, false, true]);
    g.report(1, 5, 0.5);
    expect(shares(g, 9)).toEqual([...Array<boolean>(8).fill(false), true]);
    expect(gateStats.lost - lost0).toBe(3);
    g.report(1, 0, 0.5); // won: strikes 3 -> 1
    expect(shares(g, 1)).toEqual([true]);
    g.report(1, 5, 0.5); // lost: strikes 2 -> skip 4
    expect(shares(g, 5)).toEqual([false, false, false, false, true]);
  });

  it("caps the penalty at 64 calls", () => {
    const g = new ShareGate("simd");
    for (let i = 0; i < 20; i++) {
      g.report(1, 10, 0.5);
      while (!g.share());
    }
    g.report(1, 10, 0.5);
    const s = shares(g, 65);
    expect(s.slice(0, 64).every((x) => !x)).toBe(true);
    expect(s[64]).toBe(true);
  });

  it("always shares while an injected failure of its kind waits", () => {
    const g = new ShareGate("simd");
    g.report(1, 10, 0.5);
    expect(g.share()).toBe(false);
    injectHelperFailure("simd", "throw");
    try {
      expect(g.share()).toBe(true);
      expect(g.share()).toBe(true);
    } finally {
      armHelper("simd", new Int32Array(40), 33); // consumes the pending failure (the hook is module state)
    }
    expect(injectedPending("simd")).toBe(false);
    expect(g.share()).toBe(false); // back to its penalty
  });

  it("keeps one gate per key and at most GATES per kind", () => {
    const a = gateFor("gemm", "test-a");
    expect(gateFor("gemm", "test-a")).toBe(a);
    for (let i = 0; i < GATES; i++) gateFor("gemm", `test-${i}`);
    expect(gateFor("gemm", "test-a")).not.toBe(a); // evicted, made anew (open)
    expect(gateFor("gemm", "test-a").share()).toBe(true);
  });
});
