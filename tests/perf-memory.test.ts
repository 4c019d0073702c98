// Memory of long training loops, asserted as counts (memoryStats), never timings: an eager loop
// that reads only its loss over 10,000 steps keeps constant work per step, a pending graph that
// does not deepen and live buffers that stay flat; a jitted step keeps a captured scalar that it
// broadcasts as one stored element, not an array of the parameter's size.
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import * as tf from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { memoryStats } from "../src/index.js";
import { topoSort } from "../src/core/node.js";
import { planStats } from "../src/scheduler/engine.js";
import { adam, applyUpdates } from "../src/optim/index.js";

type T = Tensor;

// A full collection on demand (the flag only exposes `gc`), so that what is garbage is counted
// as freed before live buffers are read: the counts are then exact, not timing-dependent.
v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
/**
 * Collects garbage and lets the finalizers of collected buffers run, until the live counters have
 * not fallen for three rounds in a row (on a loaded machine a finalizer task can run many
 * event-loop turns after the GC that queued it), or two seconds have passed.
 */
async function settle(): Promise<void> {
  let last = Infinity;
  let still = 0;
  const end = Date.now() + 2000;
  while (still < 3 && Date.now() < end) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
    const live = memoryStats().liveBuffers;
    still = live >= last ? still + 1 : 0;
    last = Math.min(last, live);
  }
}

/**
 * Reads the live counters once they reach `want` ([buffers, bytes]), collecting garbage and
 * waiting for finalizers for up to five seconds: a leak never reaches it and the read differs.
 */
async function liveWhenSettledTo(want: number[]): Promise<number[]> {
  const end = Date.now() + 5000;
  for (;;) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
    const m = memoryStats();
    const got = [m.liveBuffers, m.liveBytes];
    if ((got[0] === want[0] && got[1] === want[1]) || Date.now() > end) return got;
  }
}

describe("eager loop over 10,000 steps", () => {
  it("reads only the loss: constant kernels per step, no deepening graph, flat live buffers", async () => {
    const x = tf.random.normal(tf.random.key(3), [16, 4]);
    const y = tf.random.normal(tf.random.key(4), [16, 1]);
    let w = tf.zeros([4, 1]);
    const loss = (v: T): T => tf.mean(tf.square(tf.subtract(tf.matmul(x, v), y)));
    const kernels = (): number => memoryStats().kernelsRun;
    const perStep: number[] = [];
    const losses: number[] = [];
    const depth: number[] = [];
    // What is live after step 10 and after step 10,000: x, y, w and the loss, nothing else.
    const live = [4, 4 * (16 * 4 + 16 * 1 + 4 * 1 + 1)];
    for (let i = 0; i < 10_000; i++) {
      const l = loss(w);
      w = tf.subtract(w, tf.multiply(tf.grad(loss)(w), 0.05));
      const k = kernels();
      losses.push(l.itemSync());
      perStep.push(kernels() - k);
      if (i % 1000 === 0) depth.push(topoSort([w.node]).length);
      if (i === 9 || i % 1000 === 999) expect(await liveWhenSettledTo(live), `after step ${i + 1}`).toEqual(live);
    }
    expect(Math.max(...perStep.slice(3))).toBe(perStep[3]!);
    expect(Math.max(...depth.slice(1))).toBeLessThanOrEqual(depth[1]!);
    expect(losses[9999]!).toBeLessThan(losses[0]!);
  }, 300_000);
});

describe("captured values in a jitted step", () => {
  it("keep a broadcast scalar (a learning rate) as one stored element", async () => {
    const N = 100_000;
    const p = { w: tf.ones([N]) };
    const opt = adam({ lr: 1e-3 });
    const step = tf.jit((q: { w: T }, s: unknown) => {
      const [u, s2] = opt.update({ w: tf.multiply(q.w, 2) }, s as never, q);
      return [applyUpdates(q, u), s2];
    });
    const s0 = opt.init(p);
    for (const t of tf.tree.leaves<T>([p, s0])) t.dataSync();
    await settle();
    const before = memoryStats().liveBytes;
    const [q, s1] = step(p, s0) as [{ w: T }, unknown];
    await settle();
    // the outputs (w, mu, nu and the count) and small hoisted scalars; no hoisted N-element array
    const grew = memoryStats().liveBytes - before;
    expect(grew).toBeGreaterThanOrEqual(3 * 4 * N);
    expect(grew).toBeLessThan(3 * 4 * N + 4096);
    expect(q.w.dataSync()[N - 1]).toBeCloseTo(1 - 1e-3, 6);
    expect(tf.tree.leaves<T>([p, s0, s1]).length).toBe(7); // (all kept alive up to here)
  });
});

describe("a jitted train step in steady state", () => {
  it("is traced and planned once, and with donated state holds live buffers flat", () => {
    type P = { w1: T; b1: T; w2: T };
    const x = tf.random.normal(tf.random.key(5), [32, 20]);
    const y = tf.random.normal(tf.random.key(6), [32, 3]);
    const opt = adam({ lr: 1e-2 });
    const loss = (p: P): T => tf.mean(tf.square(tf.subtract(tf.matmul(tf.maximum(tf.add(tf.matmul(x, p.w1), p.b1), 0), p.w2), y)));
    const step = tf.jit(
      (p: P, s: unknown) => {
        const [l, g] = tf.valueAndGrad(loss)(p) as unknown as [T, P];
        const [u, s2] = opt.update(g, s as never, p);
        return [applyUpdates(p, u), s2, l];
      },
      { donateArgnums: [0, 1] },
    );
    let p: P = { w1: tf.random.normal(tf.random.key(7), [20, 16]), b1: tf.zeros([16]), w2: tf.random.normal(tf.random.key(8), [16, 3]) };
    let s: unknown = opt.init(p);
    let l: T;
    [p, s, l] = step(p, s) as [P, unknown, T];
    const first = l.itemSync();
    [p, s, l] = step(p, s) as [P, unknown, T];
    const plans = planStats.plans;
    const live = memoryStats();
    for (let i = 0; i < 200; i++) {
      const prev = l;
      [p, s, l] = step(p, s) as [P, unknown, T];
      prev.dispose();
    }
    expect(planStats.plans).toBe(plans);
    expect(step.stats.traces).toBe(1);
    // the donated params and state are replaced one for one, the read loss disposed: exact counts
    const now = memoryStats();
    expect([now.liveBuffers, now.liveBytes]).toEqual([live.liveBuffers, live.liveBytes]);
    expect(l.itemSync()).toBeLessThan(first);
  });
});

describe("dropped results", () => {
  it("an unread result's array is freed by a minor GC (no FinalizationRegistry keeps it to a major one)", () => {
    const minor = (): void => (gc as unknown as (o: { type: string }) => void)({ type: "minor" });
    const x = tf.tensor(Float32Array.from({ length: 1 << 16 }, (_, i) => i / 65536));
    const f = tf.jit((v: T) => tf.exp(v));
    f(x).dataSync();
    gc();
    const freed: number[] = [];
    for (let i = 0; i < 5; i++) {
      f(x).dataSync(); // 256 KB, dropped at once
      const before = process.memoryUsage().arrayBuffers;
      minor();
      minor();
      freed.push(before - process.memoryUsage().arrayBuffers);
    }
    // V8 keeps FinalizationRegistry targets alive through scavenges: when the storage itself was
    // the target, nothing was freed here and loops of big results took fresh memory every call.
    expect(freed.filter((b) => b >= 4 << 16).length).toBeGreaterThanOrEqual(4);
  });
});
