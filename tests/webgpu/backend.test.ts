// The WebGPU backend against the cpu/reference backends: Threefry bits, gradients, random graphs,
// an MLP trained on both from the same key, scan, memory (dispose, pool, donated inputs over
// many jitted steps), devicePut, and the failure modes (sync reads, size limit, device lost).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { webgpuBackend } from "../../src/backends/webgpu/index.js";
import { assertClose, probeWebGpu } from "./gpu.js";

const available = await probeWebGpu();

/** Runs `f` on a backend and returns the results' data. */
async function on(backend: string, f: () => Tensor | Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = f();
  const list = Array.isArray(out) ? out : [out];
  const res = await Promise.all(list.map(async (t) => Float32Array.from(await t.data())));
  await tf.setBackend("webgpu");
  return res;
}

describe.skipIf(!available)("webgpu backend", () => {
  beforeAll(async () => {
    await tf.setBackend("webgpu");
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  it("generates Threefry random bits identical to the cpu backend", async () => {
    for (const seed of [0, 1, 42, 2 ** 31 - 1]) {
      const k = tf.random.key(seed);
      const f = (): Tensor[] => [tf.random.randint(k, [257], 0, 1 << 30), tf.random.uniform(tf.random.split(k)[1]!, [3, 5]), tf.random.bernoulli(k, 0.3, [50])];
      const [g, c] = [await on("webgpu", f), await on("cpu", f)];
      g.forEach((x, i) => assertClose(x, c[i]!, `seed ${seed} output ${i}`, 0, 0, true));
      const n = (): Tensor => tf.random.normal(k, [64]);
      assertClose((await on("webgpu", n))[0]!, (await on("cpu", n))[0]!, "normal", 1e-4, 1e-4);
    }
  });

  it("computes gradients that match the cpu backend", async () => {
    const k = tf.random.key(3);
    const [ka, kb] = tf.random.split(k);
    const f = (x: Tensor, w: Tensor): Tensor => tf.add(tf.sum(tf.square(tf.tanh(tf.matmul(x, w)))), tf.mean(tf.exp(tf.multiply(x, 0.1))));
    const run = (): Tensor[] => {
      const x = tf.random.normal(ka!, [4, 3]);
      const w = tf.random.normal(kb!, [3, 5]);
      const [gx, gw] = tf.grad(f, { argnums: [0, 1] })(x, w) as Tensor[];
      const h = tf.grad((z: Tensor) => tf.sum(tf.multiply(tf.grad((y: Tensor) => tf.sum(tf.sin(y)))(z), z)))(x);
      return [gx!, gw!, h];
    };
    const [g, c] = [await on("webgpu", run), await on("cpu", run)];
    g.forEach((x, i) => assertClose(x, c[i]!, `grad ${i}`));
  });

  it("agrees with the reference backend on random graphs", async () => {
    let s = 12345;
    const rnd = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const unary = [tf.exp, tf.tanh, tf.sin, tf.negative, tf.abs, (x: Tensor) => tf.sqrt(tf.abs(x)), (x: Tensor) => tf.log1p(tf.abs(x))];
    const binary = [tf.add, tf.subtract, tf.multiply, tf.maximum, tf.minimum];
    for (let trial = 0; trial < 12; trial++) {
      const seed = trial;
      const build = (): Tensor => {
        s = 1000 + seed;
        const key = tf.random.key(seed);
        let xs = [tf.random.normal(key, [3, 4]), tf.random.normal(tf.random.foldIn(key, 1), [3, 4])];
        for (let step = 0; step < 8; step++) {
          const a = xs[Math.floor(rnd() * xs.length)]!;
          const b = xs[Math.floor(rnd() * xs.length)]!;
          const r = rnd();
          let y: Tensor;
          if (r < 0.35) y = unary[Math.floor(rnd() * unary.length)]!(a);
          else if (r < 0.7) y = binary[Math.floor(rnd() * binary.length)]!(a, b);
          else if (r < 0.8) y = tf.reshape(tf.matrixTranspose(tf.reshape(a, [4, 3])), [3, 4]);
          else if (r < 0.9) y = tf.add(a, tf.sum(b, { axis: 1, keepdims: true }));
          else y = tf.matmul(a, tf.matrixTranspose(b)).shape[0] === 3 ? tf.add(a, tf.max(b, { axis: 0, keepdims: true })) : a;
          xs = [...xs, y];
        }
        return tf.add(xs[xs.length - 1]!, tf.flip(xs[xs.length - 2]!, { axis: 1 }));
      };
      const [g, r] = [await on("webgpu", build), await on("reference", build)];
      assertClose(g[0]!, r[0]!, `graph ${trial}`, 1e-4, 1e-4);
    }
  });

  it("trains an MLP to the same parameters as the cpu backend", async () => {
    const train = (): Tensor[] => {
      const key = tf.random.key(7);
      const [k1, k2, k3, k4] = tf.random.split(key, 4);
      const x = tf.random.normal(k1!, [32, 8]);
      const y = tf.random.randint(k2!, [32], 0, 3);
      let params = {
        w1: tf.multiply(tf.random.normal(k3!, [8, 16]), 0.3),
        b1: tf.zeros([16]),
        w2: tf.multiply(tf.random.normal(k4!, [16, 3]), 0.3),
        b2: tf.zeros([3]),
      };
      type P = typeof params;
      const loss = (p: P): Tensor => {
        const h = tf.maximum(tf.add(tf.matmul(x, p.w1), p.b1), 0);
        const logits = tf.add(tf.matmul(h, p.w2), p.b2);
        const lse = tf.logsumexp(logits, { axis: 1 });
        const picked = tf.sum(tf.multiply(logits, tf.astype(tf.equal(tf.expandDims(y, 1), tf.arange(3, undefined, 1, { dtype: "int32" })), "float32")), {
          axis: 1,
        });
        return tf.mean(tf.subtract(lse, picked));
      };
      const step = tf.jit((p: P): [P, Tensor] => {
        const [l, g] = tf.valueAndGrad(loss)(p) as [Tensor, P];
        return [tf.tree.map((a: Tensor, b: Tensor) => tf.subtract(a, tf.multiply(b, 0.5)), p, g) as P, l];
      });
      const losses: Tensor[] = [];
      for (let i = 0; i < 5; i++) {
        const [np, l] = step(params);
        params = np;
        losses.push(l);
      }
      return [params.w1, params.b1, params.w2, params.b2, ...losses];
    };
    const [g, c] = [await on("webgpu", train), await on("cpu", train)];
    g.forEach((x, i) => assertClose(x, c[i]!, `param/loss ${i}`, 1e-4, 1e-3));
    expect(g[8]![0]!).toBeLessThan(g[4]![0]!);
  });

  it("runs scan (an RNN-like loop) like the cpu backend", async () => {
    const run = (): Tensor[] => {
      const xs = tf.random.normal(tf.random.key(5), [6, 3]);
      const w = tf.random.normal(tf.random.key(6), [3, 3]);
      const [h, ys] = tf.scan(
        (c: Tensor, x: Tensor) => {
          const n = tf.tanh(tf.add(tf.matmul(tf.expandDims(c, 0), w), x));
          return [tf.squeeze(n, { axis: 0 }), tf.sum(n)];
        },
        tf.zeros([3]),
        xs,
      ) as [Tensor, Tensor];
      return [
        h,
        ys,
        tf.grad((v: Tensor) => tf.sum((tf.scan((c: Tensor, x: Tensor) => [tf.add(tf.multiply(c, v), x), c], tf.zeros([3]), xs) as Tensor[])[0]!))(
          w.shape[0] === 3 ? tf.ones([3]) : w,
        ),
      ];
    };
    const [g, c] = [await on("webgpu", run), await on("cpu", run)];
    g.forEach((x, i) => assertClose(x, c[i]!, `scan ${i}`));
  });

  it("keeps memory bounded over 10,000 jitted steps (donated inputs freed at once, no gc)", async () => {
    const b = webgpuBackend();
    const step = tf.jit((w: Tensor, x: Tensor) => tf.subtract(w, tf.multiply(tf.grad((v: Tensor) => tf.sum(tf.square(tf.matmul(x, v))))(w), 0.01)), {
      donateArgnums: 0,
    });
    const x = tf.random.normal(tf.random.key(1), [8, 4]);
    let w = tf.random.normal(tf.random.key(2), [4, 4]);
    const live: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      w = step(w, x);
      if (i % 2500 === 2499) {
        await w.data();
        live.push(b.memory.liveBuffers);
      }
    }
    expect(live[3]!).toBeLessThanOrEqual(live[0]!); // never more (dropped eager tensors may still be collected)
    expect(b.memory.liveBytes).toBeLessThan(1 << 20);
  });

  it("dispose() frees device memory at once", async () => {
    const b = webgpuBackend();
    const t = tf.exp(tf.ones([1000]));
    await t.data();
    const before = b.memory.liveBuffers;
    t.dispose();
    expect(b.memory.liveBuffers).toBe(before - 1);
    expect(() => t.node).toThrow(/disposed/);
  });

  it("dataSync() throws a clear error until the data was read with await data()", async () => {
    const t = tf.add(tf.ones([3]), 1);
    expect(() => t.dataSync()).toThrow(/await x\.data\(\)/);
    expect(Array.from(await t.data())).toEqual([2, 2, 2]);
    expect(Array.from(t.dataSync())).toEqual([2, 2, 2]);
  });

  it("moves tensors between backends with devicePut", async () => {
    const g = tf.add(tf.arange(4), 1);
    expect(() => tf.devicePut(g, "cpu")).toThrow(/devicePutAsync/);
    const c = await tf.devicePutAsync(g, "cpu");
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4]);
    await tf.setBackend("cpu");
    const h = tf.tensor([5, 6]);
    const d = tf.devicePut(h, "webgpu");
    await tf.setBackend("webgpu");
    expect(Array.from(await tf.multiply(d, 2).data())).toEqual([10, 12]);
  });

  it("splits elementwise kernels over the device's binding limit; refuses other kernels clearly", async () => {
    const b = webgpuBackend();
    const lim = b.info.limits.maxStorageBufferBindingSize;
    const n = Math.ceil(lim / 4) + 1000;
    // Written in chunks (iota + 1), then read in chunks at the same index by the next kernel.
    const y = tf.add(tf.arange(n, undefined, 1, { dtype: "int32" }), 1);
    const before = b.counters.dispatches;
    y.realize();
    expect(b.counters.dispatches - before).toBeGreaterThan(1);
    const z = tf.subtract(tf.multiply(y, 3), tf.arange(n, undefined, 1, { dtype: "int32" }));
    const got = await z.data();
    expect(got.length).toBe(n);
    for (const i of [0, 1, 12345, Math.floor(n / 2), n - 1001, n - 1]) expect(got[i], `element ${i}`).toBe(2 * i + 3);
    // A matmul over the limit runs in blocks of rows: A (n×4, over the limit) is bound in row
    // ranges and the output (n×8, over the limit) in matching parts; the epilogue sees global rows.
    const rows = 3 * Math.ceil((lim / 16 + 300) / 3);
    const i3 = tf.reshape(tf.broadcastTo(tf.tensor([0, 1, 2]), [rows / 3, 3]), [rows]); // i % 3
    const a = tf.add(tf.expandDims(i3, 1), tf.arange(4)); // a[i, p] = i % 3 + p
    a.realize();
    const w = tf.tensor([
      [1, 0, 1, 0, 1, 0, 1, 0],
      [1, 1, 1, 1, 1, 1, 1, 1],
      [1, 0, 1, 0, 1, 0, 1, 0],
      [1, 1, 1, 1, 1, 1, 1, 1],
    ]);
    const res = tf.add(tf.matmul(a, w), tf.expandDims(i3, 1)); // column 2j: 5(i%3) + 6; 2j+1: 3(i%3) + 4
    const mm = await res.data();
    for (const i of [0, 1, 2, 1000, Math.floor(rows / 2), rows - 1]) {
      expect(mm[i * 8 + 6], `row ${i}`).toBe(5 * (i % 3) + 6);
      expect(mm[i * 8 + 7], `row ${i}`).toBe(3 * (i % 3) + 4);
    }
    a.dispose();
    res.dispose();
    // A reduction reads its whole input through one binding: not split, a clear error instead.
    expect(() => tf.sum(y).realize()).toThrow(/storage buffer limit.*cannot be split.*Split the work/);
    y.dispose();
    z.dispose();
  });

  it("reports a lost device clearly and recovers with setBackend", async () => {
    const b = webgpuBackend();
    const kept = tf.add(tf.ones([2]), 1);
    await kept.data();
    b.destroyDevice();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => tf.add(tf.ones([2]), 2).realize()).toThrow(/device lost.*setBackend\("webgpu"\)/);
    await tf.setBackend("webgpu");
    expect(webgpuBackend()).not.toBe(b);
    expect(Array.from(await tf.add(tf.ones([2]), 2).data())).toEqual([3, 3]);
    expect(Array.from(await kept.data())).toEqual([2, 2]);
  });
});
