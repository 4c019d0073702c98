// jit's signature check (transforms/jit.ts): a call with the last call's structure, dtypes and
// shapes reuses its entry without building the cache key; anything else that differs re-traces,
// the LRU order stays right, and donated arguments are found by their place among the leaves
// (static arguments before them included).
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

type T = Tensor;
const sumAll = (p: Record<string, T>): T => Object.values(p).reduce((a, b) => tf.add(tf.sum(a), tf.sum(b)));

describe("jit signatures", () => {
  it("re-traces when a tree's keys, a shape or a dtype change, and only then", () => {
    const f = tf.jit(sumAll);
    const x = tf.tensor([1, 2]);
    expect(f({ a: x, b: x }).itemSync()).toBe(6);
    expect(f({ a: tf.tensor([3, 4]), b: x }).itemSync()).toBe(10); // same signature
    expect(f.traceCount).toBe(1);
    expect(f({ a: x, c: x }).itemSync()).toBe(6); // other keys
    expect(f.traceCount).toBe(2);
    expect(f({ a: x, c: tf.tensor([1, 2, 3]) }).itemSync()).toBe(9); // other shape
    expect(f.traceCount).toBe(3);
    expect(f({ a: x, c: tf.tensor([1, 2, 3], { dtype: "int32" }) }).itemSync()).toBe(9); // other dtype
    expect(f.traceCount).toBe(4);
    expect(f({ a: x, c: tf.tensor([[1, 2, 3]]) }).itemSync()).toBe(9); // same size, other rank
    expect(f.traceCount).toBe(5);
    expect(f({ a: x, c: tf.tensor([[5, 5, 5]]) }).itemSync()).toBe(18);
    expect(f.traceCount).toBe(5);
    expect(f([x, x] as unknown as Record<string, T>).itemSync()).toBe(6); // an array, not an object
    expect(f.traceCount).toBe(6);
  });

  it("keeps the LRU order when a call repeats the last signature", () => {
    const f = tf.jit((x: T) => tf.sum(x), { cacheSize: 2 });
    const [a, b, c] = [tf.zeros([1]), tf.zeros([2]), tf.zeros([3])];
    f(a);
    f(b);
    f(b); // the last signature again: b stays the most recent
    f(a); // cached
    expect(f.traceCount).toBe(2);
    f(c); // evicts b, the least recently used
    f(a);
    expect(f.traceCount).toBe(3);
    f(b);
    expect(f.traceCount).toBe(4);
    expect(f.stats.evictions).toBe(2);
  });

  it("traces again after its entry was evicted, even with the last call's signature", () => {
    const f = tf.jit((x: T) => tf.sum(x), { cacheSize: 1 });
    const [a, b] = [tf.zeros([1]), tf.zeros([2])];
    f(a);
    f(b);
    f(a);
    f(a);
    expect(f.traceCount).toBe(3);
  });

  it("donates the leaves of the donated argument only, with static arguments before it", () => {
    const f = tf.jit((k: number, p: { w: T; v: T }, x: T) => tf.add(tf.multiply(p.w, k), tf.add(p.v, x)), { staticArgnums: 0, donateArgnums: 1 });
    for (let i = 0; i < 2; i++) {
      const p = { w: tf.tensor([1, 2]), v: tf.tensor([3, 4]) };
      const x = tf.tensor([10, 20]);
      expect(f(2, p, x).arraySync()).toEqual([15, 28]);
      expect(() => p.w.dataSync()).toThrow(/donated/);
      expect(() => p.v.dataSync()).toThrow(/donated/);
      expect(x.arraySync()).toEqual([10, 20]);
    }
    expect(f.traceCount).toBe(1);
  });
});
