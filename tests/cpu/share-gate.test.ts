// The share gate (helper-guard.ts): work whose shared calls lose to one thread (the caller waited
// on late helpers longer than doing it alone would have taken, or whole shared calls take longer
// on average than whole calls alone) runs alone for 2, 4, ... 64 calls; a won call halves the
// penalty; one call in PROBE_EVERY + 1 runs alone to time it; a pending injected failure always
// shares; gates are bounded.
import { describe, expect, it } from "vitest";
import { GATES, PROBE_EVERY, ShareGate, armHelper, gateFor, gateStats, injectHelperFailure, injectedPending } from "../../src/backends/cpu/helper-guard.js";

/** How many of the next `n` calls the gate lets share. */
const shares = (g: ShareGate, n: number): boolean[] => Array.from({ length: n }, () => g.share());

describe("ShareGate", () => {
  it("starts open and stays open while sharing wins", () => {
    const g = new ShareGate("gemm");
    expect(shares(g, 3)).toEqual([true, true, true]);
    g.report(1, 0.5, 0.5, 1.5); // 1.5 ms shared against ≈ 2 ms alone: won
    expect(shares(g, 3)).toEqual([true, true, true]);
  });

  it("backs off 2, 4, 8 calls after losses, and a win halves the penalty", () => {
    const g = new ShareGate("gemm");
    const lost0 = gateStats.lost;
    g.report(1, 2, 0.5, 3); // 3 ms shared against ≈ 2 ms alone: lost
    expect(shares(g, 3)).toEqual([false, false, true]);
    g.report(1, 0.1, 1, 1.1); // the caller did everything and still waited: lost
    expect(shares(g, 5)).toEqual([false, false, false, false, true]);
    g.report(1, 5, 0.5, 6);
    expect(shares(g, 9)).toEqual([...Array<boolean>(8).fill(false), true]);
    expect(gateStats.lost - lost0).toBe(3);
    g.report(1, 0, 0.5, 1); // won: strikes 3 -> 1
    expect(shares(g, 1)).toEqual([true]);
    g.report(1, 5, 0.5, 6); // lost: strikes 2 -> skip 4
    expect(shares(g, 5)).toEqual([false, false, false, false, true]);
  });

  it("runs one call alone after PROBE_EVERY shared calls in a row, and a call alone restarts the count", () => {
    const g = new ShareGate("simd");
    const probed0 = gateStats.probed;
    expect(shares(g, PROBE_EVERY + 2)).toEqual([...Array<boolean>(PROBE_EVERY).fill(true), false, true]);
    expect(gateStats.probed - probed0).toBe(1);
    g.reportAlone(1);
    expect(shares(g, PROBE_EVERY + 1)).toEqual([...Array<boolean>(PROBE_EVERY).fill(true), false]);
  });

  it("backs off when whole shared calls take longer than whole calls alone (medians of the last few)", () => {
    // The helpers kept up (0.5 ms here at half the work, 0.1 ms waiting: about 1 ms alone by
    // that measure), but the whole call, copies in and out included, took 1.3 ms against 1 ms alone.
    const g = new ShareGate("simd");
    g.reportAlone(1);
    g.report(0.5, 0.1, 0.5, 1.3);
    expect(shares(g, 3)).toEqual([false, false, true]);
    // Shared calls that are faster as a whole (their median below that of calls alone) keep it open.
    const h = new ShareGate("simd");
    h.reportAlone(2);
    h.report(0.5, 0.1, 0.5, 1);
    h.report(0.5, 0.1, 0.5, 1);
    expect(shares(h, 3)).toEqual([true, true, true]);
  });

  it("caps the penalty at 64 calls", () => {
    const g = new ShareGate("simd");
    for (let i = 0; i < 20; i++) {
      g.report(1, 10, 0.5, 11);
      while (!g.share());
    }
    g.report(1, 10, 0.5, 11);
    const s = shares(g, 65);
    expect(s.slice(0, 64).every((x) => !x)).toBe(true);
    expect(s[64]).toBe(true);
  });

  it("always shares while an injected failure of its kind waits", () => {
    const g = new ShareGate("simd");
    g.report(1, 10, 0.5, 11);
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
