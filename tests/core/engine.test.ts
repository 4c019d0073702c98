// The engine layer on the default (cpu) backend: backends registered by loaders, deterministic
// memory (jit donation, live counters flat without gc), the memory budget, bounded jit caches,
// eager reads that keep shared work (counted in kernels run), and scan whose carry is its output.
import { afterEach, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { DeviceMemoryError, memoryStats, registerBackend, registerBackendLoader, setBackend, setMemoryBudget } from "../../src/index.js";
import { referenceBackend } from "../../src/backends/reference/index.js";
import { topoSort } from "../../src/core/node.js";

type T = Tensor;

afterEach(async () => {
  setMemoryBudget(Infinity);
  await setBackend("cpu");
});

describe("backend registry", () => {
  it("loads a backend registered by a loader once, on first setBackend", async () => {
    let loads = 0;
    registerBackendLoader("ref-lazy", async () => {
      loads++;
      registerBackend("ref-lazy", referenceBackend);
    });
    await setBackend("ref-lazy");
    expect(tf.getBackend()).toBe("ref-lazy");
    expect(tf.add(tf.tensor([1, 2]), 1).arraySync()).toEqual([2, 3]);
    await setBackend("cpu");
    await setBackend("ref-lazy");
    expect(loads).toBe(1);
  });

  it("selects a synchronous backend before setBackend returns (code that does not await runs on it)", async () => {
    registerBackend("ref-sync", referenceBackend);
    const p = setBackend("ref-sync");
    expect(tf.getBackend()).toBe("ref-sync");
    expect(tf.multiply(tf.tensor([1, 2]), 3).arraySync()).toEqual([3, 6]);
    void setBackend("cpu");
    expect(tf.getBackend()).toBe("cpu");
    await p;
    // an earlier call that resolves later does not switch back behind the caller's back
    expect(tf.getBackend()).toBe("cpu");
    let resolve!: (b: ReturnType<typeof referenceBackend>) => void;
    registerBackend("ref-async", () => new Promise((r) => (resolve = r)));
    const q = setBackend("ref-async");
    expect(tf.getBackend()).toBe("cpu");
    resolve(referenceBackend());
    await q;
    expect(tf.getBackend()).toBe("ref-async");
    // the latest call wins over one still pending
    registerBackend("ref-async2", () => new Promise((r) => (resolve = r)));
    const r = setBackend("ref-async2");
    await setBackend("cpu");
    resolve(referenceBackend());
    await r;
    expect(tf.getBackend()).toBe("cpu");
  });

  it("rejects (never throws) when a loader or a factory fails, and stays on the current backend", async () => {
    registerBackendLoader("bad-loader", () => {
      throw new Error("loader broke");
    });
    registerBackend("bad-factory", () => {
      throw new Error("factory broke");
    });
    let p: Promise<void> | undefined;
    expect(() => (p = setBackend("bad-loader"))).not.toThrow();
    await expect(p).rejects.toThrow("loader broke");
    await expect(setBackend("bad-factory")).rejects.toThrow("factory broke");
    expect(tf.getBackend()).toBe("cpu");
  });

  it("names the known backends, webgpu included, for an unknown name", async () => {
    await expect(setBackend("nope")).rejects.toThrow(/unknown backend "nope".*webgpu/);
  });
});

describe("deterministic memory (cpu)", () => {
  it("reports memoryStats with live buffers, bytes, pool, budget and caches", () => {
    const s = memoryStats();
    expect(s.backend).toBe("cpu");
    for (const k of ["liveBuffers", "liveBytes", "pooledBytes", "created", "programs", "programCapacity", "kernelsRun"] as const)
      expect(Number.isFinite(s[k])).toBe(true);
    expect(s.budget).toBe(Infinity);
    expect(s.programs).toBeLessThanOrEqual(s.programCapacity);
  });

  it("keeps live buffers and bytes flat over 10,000 jitted steps with donated params, without gc", () => {
    const step = tf.jit((w: T, x: T) => tf.subtract(w, tf.multiply(tf.grad((v: T) => tf.sum(tf.square(tf.matmul(x, v))))(w), 0.01)), { donateArgnums: 0 });
    const x = tf.random.normal(tf.random.key(1), [8, 4]);
    let w = tf.random.normal(tf.random.key(2), [4, 4]);
    const w0 = Float32Array.from(w.dataSync());
    w = step(w, x);
    w = step(w, x);
    const after2 = memoryStats();
    for (let i = 2; i < 10_000; i++) {
      w = step(w, x);
      if (i % 1000 === 0) {
        const s = memoryStats();
        expect([s.liveBuffers, s.liveBytes]).toEqual([after2.liveBuffers, after2.liveBytes]);
      }
    }
    const s = memoryStats();
    expect([s.liveBuffers, s.liveBytes]).toEqual([after2.liveBuffers, after2.liveBytes]);
    // gradient descent on sum((x w)^2) shrinks w
    const norm = (a: ArrayLike<number>): number => Math.hypot(...Array.from(a));
    expect(norm(w.dataSync())).toBeLessThan(norm(w0));
  });

  it("donated inputs read afterwards give a clear error; results and other inputs stay readable", () => {
    const f = tf.jit((a: T, b: T) => tf.add(a, b), { donateArgnums: [0] });
    const a = tf.tensor([1, 2]);
    const b = tf.tensor([10, 20]);
    const y = f(a, b);
    expect(y.arraySync()).toEqual([11, 22]);
    expect(b.arraySync()).toEqual([10, 20]);
    expect(() => a.dataSync()).toThrow(/donated to jit\(.*\) \(donateArgnums\)/);
    // an output that is the donated input itself is kept
    const id = tf.jit((a: T) => a, { donateArgnums: 0 });
    const c = tf.add(tf.tensor([3]), 0);
    expect(id(c).arraySync()).toEqual([3]);
  });

  it("rejects bad donateArgnums at the call", () => {
    expect(() => tf.jit((a: T) => a, { donateArgnums: -1 })).toThrow(/donateArgnums must be argument indices/);
    expect(() => tf.jit((a: T) => a, { donateArgnums: 0, staticArgnums: 0 })).toThrow(/both staticArgnums and donateArgnums/);
    const f = tf.jit((a: T) => a, { donateArgnums: 2 });
    expect(() => f(tf.tensor([1]))).toThrow(/donateArgnums 2 is out of range for a call with 1 arguments/);
  });

  it("throws DeviceMemoryError naming the op when the budget is exceeded, and counts nothing", () => {
    const before = memoryStats();
    setMemoryBudget(before.liveBytes + 1000);
    expect(memoryStats().budget).toBe(before.liveBytes + 1000);
    const data = tf.tensor(new Float32Array(10_000).fill(1));
    const big = tf.exp(data);
    expect(() => big.dataSync()).toThrow(DeviceMemoryError);
    expect(() => tf.exp(data).dataSync()).toThrow(/exp of shape \[10000\] needs 40000 bytes.*budget is \d+ bytes/);
    expect(memoryStats().liveBuffers).toBe(before.liveBuffers);
    setMemoryBudget(Infinity);
    expect(big.dataSync()[0]).toBeCloseTo(Math.E, 5);
    expect(() => setMemoryBudget(-1)).toThrow(/setMemoryBudget\(bytes\): bytes must be/);
  });
});

describe("bounded caches", () => {
  it("keeps at most cacheSize traces per jitted function over 3,000 distinct shapes", () => {
    const f = tf.jit((x: T) => tf.sum(tf.exp(x)));
    const heap0 = process.memoryUsage().heapUsed;
    for (let n = 1; n <= 3000; n++) {
      const v = f(tf.zeros([n])).dataSync()[0]!;
      if (n % 500 === 0) expect(v).toBe(n);
    }
    const s = f.stats;
    expect(s.capacity).toBe(tf.JIT_CACHE_SIZE);
    expect(s.cached).toBe(tf.JIT_CACHE_SIZE);
    expect(s.traces).toBe(3000);
    expect(s.evictions).toBe(3000 - tf.JIT_CACHE_SIZE);
    expect(memoryStats().programs).toBeLessThanOrEqual(memoryStats().programCapacity);
    // 3,000 cached programs would be hundreds of MB; 64 are a few
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(200 * 2 ** 20);
    const g = tf.jit((x: T) => tf.exp(x), { cacheSize: 2 });
    for (const n of [1, 2, 3, 1]) g(tf.zeros([n]));
    expect(g.stats).toEqual({ traces: 4, cached: 2, capacity: 2, evictions: 2 });
  });
});

describe("eager without recomputation", () => {
  const kernels = (): number => memoryStats().kernelsRun;

  it("reading sum(x) then mean(x) of a lazy x computes x once", () => {
    const a = tf.random.normal(tf.random.key(1), [16, 8]);
    const b = tf.random.normal(tf.random.key(2), [8, 12]);
    a.dataSync();
    b.dataSync();
    // kernels of the mean alone, over an already computed matmul
    const mm = tf.matmul(a, b);
    mm.dataSync();
    let k = kernels();
    const want = tf.mean(tf.exp(tf.multiply(mm, 0.1))).itemSync();
    const meanAlone = kernels() - k;
    const x = tf.exp(tf.multiply(tf.matmul(a, b), 0.1));
    k = kernels();
    const s = tf.sum(x).itemSync();
    expect(kernels() - k).toBeGreaterThan(meanAlone - 1); // the matmul (kept) and the sum
    k = kernels();
    const m = tf.mean(x).itemSync();
    expect(kernels() - k).toBe(meanAlone); // the matmul is not run again
    expect(m).toBeCloseTo(want, 5);
    expect(m).toBeCloseTo(s / (16 * 12), 4);
  });

  it("keeps work shared with other pending tensors: an eager loop reading only the loss does constant work per step", () => {
    const x = tf.random.normal(tf.random.key(3), [16, 4]);
    const y = tf.random.normal(tf.random.key(4), [16, 1]);
    let w = tf.zeros([4, 1]);
    const loss = (v: T): T => tf.mean(tf.square(tf.subtract(tf.matmul(x, v), y)));
    const perStep: number[] = [];
    const losses: number[] = [];
    const live: number[] = [];
    const depth: number[] = []; // nodes in the pending graph of w
    for (let i = 0; i < 1000; i++) {
      const l = loss(w);
      w = tf.subtract(w, tf.multiply(tf.grad(loss)(w), 0.05));
      const k = kernels();
      const v = l.itemSync();
      perStep.push(kernels() - k);
      depth.push(topoSort([w.node]).length);
      losses.push(v);
      if (i % 250 === 249) live.push(memoryStats().liveBytes);
    }
    // once the inputs are realized, no step runs more kernels than the 4th (nothing recomputed
    // from older steps: without keeping shared work the count grows with the step number)
    expect(Math.max(...perStep.slice(3))).toBe(perStep[3]!);
    expect(perStep[3]!).toBeLessThan(12);
    expect(losses[999]!).toBeLessThan(losses[0]!);
    expect(losses[999]!).toBeLessThanOrEqual(losses[500]! + 1e-6);
    // the history behind old steps is not kept: the pending graph of w does not deepen
    expect(Math.max(...depth.slice(3))).toBeLessThanOrEqual(depth[3]!);
    expect(live.length).toBe(4);
  });
});

describe("scan whose carry is also its output", () => {
  it("returns the running values (cpu and reference agree)", async () => {
    const run = (): number[][] => {
      const [c, ys] = tf.scan(
        (c: T, x: T) => {
          const n = tf.add(tf.multiply(c, 2), x);
          return [n, n];
        },
        tf.zeros([2]),
        tf.tensor([
          [1, 1],
          [2, 3],
          [0, 1],
        ]),
      ) as [T, T];
      return [Array.from(c.dataSync()), Array.from(ys.dataSync())];
    };
    const cpu = run();
    expect(cpu).toEqual([
      [8, 11],
      [1, 1, 4, 5, 8, 11],
    ]);
    await setBackend("reference");
    expect(run()).toEqual(cpu);
  });
});
