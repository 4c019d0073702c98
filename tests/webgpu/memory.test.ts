// WebGPU device memory made deterministic: jitted steps with donated inputs hold live buffers and
// bytes flat from step 2 without any gc(), memoryStats() and the memory budget on the device, and
// scan whose carry is also its output (once wrong values and Dawn validation errors).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { DeviceMemoryError, memoryStats, setMemoryBudget } from "../../src/index.js";
import { webgpuBackend } from "../../src/backends/webgpu/index.js";
import { adam, applyUpdates } from "../../src/optim/index.js";
import { assertClose, probeWebGpu } from "./gpu.js";

type T = Tensor;
const available = await probeWebGpu();

describe.skipIf(!available)("webgpu deterministic memory", () => {
  beforeAll(async () => {
    await tf.setBackend("webgpu");
  });
  afterAll(async () => {
    setMemoryBudget(Infinity);
    await tf.setBackend("cpu");
  });

  it("holds live buffers and bytes flat over 10,000 jitted steps from step 2, without gc", async () => {
    const loss = (w: T, x: T): T => tf.sum(tf.square(tf.matmul(x, w)));
    const step = tf.jit((w: T, x: T) => tf.subtract(w, tf.multiply(tf.grad(loss)(w, x), 0.01)), { donateArgnums: 0 });
    const x = tf.random.normal(tf.random.key(1), [8, 4]);
    let w = tf.random.normal(tf.random.key(2), [4, 4]);
    const l0 = await loss(w, x).item();
    w = step(w, x);
    w = step(w, x);
    const s2 = memoryStats();
    expect(s2.backend).toBe("webgpu");
    for (let i = 2; i < 10_000; i++) {
      w = step(w, x);
      if (i % 2000 === 0) {
        const s = memoryStats();
        expect([s.liveBuffers, s.liveBytes], `step ${i}`).toEqual([s2.liveBuffers, s2.liveBytes]);
      }
    }
    await webgpuBackend().sync();
    // once the event loop runs, tensors dropped before step 2 (the first loss, the keys) may be
    // finalized too: never more than in the loop
    const s = memoryStats();
    expect(s.liveBuffers).toBeLessThanOrEqual(s2.liveBuffers);
    expect(s.liveBytes).toBeLessThanOrEqual(s2.liveBytes);
    expect(s.liveBytes).toBeLessThan(1 << 20);
    expect(await loss(w, x).item()).toBeLessThan(l0);
  }, 120_000);

  it("an MLP trained with Adam for 10,000 jitted steps holds live buffers and bytes flat from step 2, without gc", async () => {
    type P = { w1: T; b1: T; w2: T; b2: T };
    const x = tf.random.normal(tf.random.key(11), [32, 20]);
    const y = tf.random.normal(tf.random.key(12), [32, 3]);
    const opt = adam({ lr: 1e-2 });
    const loss = (p: P): T => tf.mean(tf.square(tf.subtract(tf.add(tf.matmul(tf.maximum(tf.add(tf.matmul(x, p.w1), p.b1), 0), p.w2), p.b2), y)));
    const step = tf.jit(
      (p: P, s: unknown) => {
        const [l, g] = tf.valueAndGrad(loss)(p) as unknown as [T, P];
        const [u, s2] = opt.update(g, s as never, p);
        return [applyUpdates(p, u), s2, l];
      },
      { donateArgnums: [0, 1] },
    );
    let p: P = {
      w1: tf.multiply(tf.random.normal(tf.random.key(13), [20, 16]), 0.3),
      b1: tf.zeros([16]),
      w2: tf.multiply(tf.random.normal(tf.random.key(14), [16, 3]), 0.3),
      b2: tf.zeros([3]),
    };
    let s: unknown = opt.init(p);
    let l: T;
    [p, s, l] = step(p, s) as [P, unknown, T];
    const first = await l.item();
    l.dispose();
    [p, s, l] = step(p, s) as [P, unknown, T];
    const s2 = memoryStats(); // params, Adam state and this step's loss
    l.dispose();
    for (let i = 2; i < 10_000; i++) {
      [p, s, l] = step(p, s) as [P, unknown, T];
      if (i % 2000 === 0) {
        const m = memoryStats();
        expect([m.liveBuffers, m.liveBytes], `step ${i}`).toEqual([s2.liveBuffers, s2.liveBytes]);
      }
      if (i < 9_999) l.dispose();
    }
    const last = await l.item();
    await webgpuBackend().sync();
    // after the queue drains, buffers held for in-flight work are back too: never more than in the loop
    const m = memoryStats();
    expect(m.liveBuffers).toBeLessThanOrEqual(s2.liveBuffers);
    expect(m.liveBytes).toBeLessThanOrEqual(s2.liveBytes);
    l.dispose();
    expect(step.stats.traces).toBe(1);
    expect(last).toBeLessThan(first / 2);
  }, 240_000);

  it("a donated input read afterwards gives a clear error, on the device too", async () => {
    const f = tf.jit((a: T) => tf.multiply(a, 2), { donateArgnums: 0 });
    const a = tf.add(tf.ones([4]), 0);
    await a.data();
    const before = memoryStats().liveBuffers;
    const y = f(a);
    expect(Array.from(await y.data())).toEqual([2, 2, 2, 2]);
    expect(memoryStats().liveBuffers).toBe(before); // a's buffer freed, y's taken
    await expect(a.data()).rejects.toThrow(/donated/);
  });

  it("refuses an op over the memory budget with a DeviceMemoryError naming it, leaving counters unchanged", async () => {
    const x = tf.add(tf.ones([1000]), 0);
    await x.data();
    const before = memoryStats();
    setMemoryBudget(before.liveBytes + 4096);
    try {
      const big = tf.exp(tf.broadcastTo(tf.reshape(x, [1, 1000]), [100, 1000]));
      let err: unknown;
      try {
        await big.data();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DeviceMemoryError);
      expect((err as Error).message).toMatch(/webgpu: .*exp.*of shape \[100, 1000\] needs \d+ bytes/);
      expect(memoryStats().liveBuffers).toBe(before.liveBuffers);
    } finally {
      setMemoryBudget(Infinity);
    }
    // the device still works
    expect(Array.from(await tf.multiply(x, 3).data()).slice(0, 2)).toEqual([3, 3]);
    await webgpuBackend().sync();
  });

  it("runs scan whose carry is also its output like the cpu backend, without validation errors", async () => {
    const run = (): T[] => {
      const xs = tf.random.normal(tf.random.key(7), [5, 3]);
      const w = tf.random.normal(tf.random.key(8), [3, 3]);
      const [c, ys] = tf.scan(
        (c: T, x: T) => {
          const n = tf.tanh(tf.add(tf.squeeze(tf.matmul(tf.expandDims(c, 0), w), { axis: 0 }), x));
          return [n, n];
        },
        tf.zeros([3]),
        xs,
      ) as [T, T];
      const [c2, ys2] = tf.scan((c: T, x: T) => [tf.add(c, x), tf.add(c, x)], tf.zeros([3]), xs) as [T, T];
      return [c, ys, c2, ys2];
    };
    const g = await Promise.all(run().map(async (t) => Float32Array.from(await t.data())));
    await webgpuBackend().sync();
    await tf.setBackend("cpu");
    const c = run().map((t) => Float32Array.from(t.dataSync()));
    await tf.setBackend("webgpu");
    g.forEach((v, i) => assertClose(v, c[i]!, `scan output ${i}`));
    // the last stacked output is the final carry
    assertClose(g[1]!.slice(12), g[0]!, "last y = carry");
  });

  it("memoryStats reports the pipeline cache bounded by its capacity", () => {
    const s = memoryStats("webgpu");
    expect(s.programs).toBeGreaterThan(0);
    expect(s.programs).toBeLessThanOrEqual(s.programCapacity);
  });
});
