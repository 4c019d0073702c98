// One epoch of a 784-128-10 MLP with Adam (batch 128, softmax cross-entropy) on the bundled
// MNIST sample (loadMnist), in tenfold (one jitted step) and TensorFlow.js (optimizer.minimize);
// and the same epoch in tenfold eagerly (no jit), reading the loss after every step.
import * as tf from "../src/index.js";
import { loadMnist } from "../src/train/index.js";
import type { Tensor } from "../src/index.js";
import type { AnyMod } from "./peers.js";

type Fn = () => unknown;
type Impl = { setup: () => Promise<Fn> | Fn } | undefined;
type T = Tensor;
interface P {
  W1: T;
  b1: T;
  W2: T;
  b2: T;
}

/** The MNIST MLP epoch cases: jitted beside tfjs, and eager (tenfold only). */
export async function mlpCases(tfjsBoth: (make: () => Fn) => Record<string, Impl>, quick: boolean): Promise<{ name: string; impls: Record<string, Impl> }[]> {
  const n = quick ? 2048 : 8064;
  const { train } = loadMnist({ testSize: 0 });
  const B = 128;
  const xs = train.x.dataSync().slice(0, n * 784) as Float32Array;
  const ys = new Float32Array(n * 10);
  train.y
    .dataSync()
    .subarray(0, n)
    .forEach((l, i) => (ys[i * 10 + l] = 1));
  const nb = Math.floor(n / B);
  const init0 = (k: number, shape: number[]): Float32Array =>
    Float32Array.from({ length: shape[0]! * (shape[1] ?? 1) }, (_, i) => Math.sin((i + 1) * 78.233 * k) * Math.sqrt(2 / shape[0]!));
  // The initial weights are computed once (as JAX's peer computes them with NumPy, ≈ 1 ms); each
  // epoch starts from a fresh copy.
  const W1init = init0(1, [784, 128]);
  const W2init = init0(2, [128, 10]);
  const init = (k: number): Float32Array => (k === 1 ? W1init : W2init).slice();
  const loss = (p: P, x: T, y: T): T => {
    const h = tf.maximum(tf.add(tf.matmul(x, p.W1), p.b1), 0);
    const lo = tf.add(tf.matmul(h, p.W2), p.b2);
    return tf.negative(tf.mean(tf.sum(tf.multiply(y, tf.subtract(lo, tf.logsumexp(lo, { axis: -1, keepdims: true }))), { axis: -1 })));
  };
  const [b1, b2, lr, eps] = [0.9, 0.999, 1e-3, 1e-8];
  /** The Adam step (also the jitted function's body). */
  const adamStep = (p: P, m: P, v: P, t: T, g: P): [P, P, P] => {
    const m2 = tf.tree.map((mi: T, gi: T) => tf.add(tf.multiply(mi, b1), tf.multiply(gi, 1 - b1)), m, g) as unknown as P;
    const v2 = tf.tree.map((vi: T, gi: T) => tf.add(tf.multiply(vi, b2), tf.multiply(tf.square(gi), 1 - b2)), v, g) as unknown as P;
    const c1 = tf.subtract(1, tf.pow(b1, t));
    const c2 = tf.subtract(1, tf.pow(b2, t));
    const p2 = tf.tree.map(
      (pi: T, mi: T, vi: T) => tf.subtract(pi, tf.multiply(lr, tf.divide(tf.divide(mi, c1), tf.add(tf.sqrt(tf.divide(vi, c2)), eps)))),
      p,
      m2,
      v2,
    ) as unknown as P;
    return [p2, m2, v2];
  };
  const params = (): P => ({
    W1: tf.tensor(init(1), { shape: [784, 128] }),
    b1: tf.zeros([128]),
    W2: tf.tensor(init(2), { shape: [128, 10] }),
    b2: tf.zeros([10]),
  });
  let batches: (readonly [T, T])[] | undefined;
  const tenfoldBatches = (): (readonly [T, T])[] => {
    if (batches) return batches;
    const X = tf.tensor(xs, { shape: [n, 784] });
    const Y = tf.tensor(ys, { shape: [n, 10] });
    batches = Array.from({ length: nb }, (_, i) => [tf.slice(X, [i * B, 0], [(i + 1) * B, 784]), tf.slice(Y, [i * B, 0], [(i + 1) * B, 10])] as const);
    batches.forEach(([x, y]) => {
      x.dataSync();
      y.dataSync();
    });
    return batches;
  };

  const tenfold: Impl = {
    setup: () => {
      // Parameters and optimizer state are donated (as with JAX's donate_argnums): the step
      // writes the new values over the old arrays instead of allocating.
      const step = tf.jit((p: P, m: P, v: P, t: T, x: T, y: T) => adamStep(p, m, v, t, tf.grad(loss)(p, x, y) as unknown as P), {
        donateArgnums: process.env.MLP_DONATE === "0" ? [] : [0, 1, 2],
      });
      const bs = tenfoldBatches();
      return () => {
        let p = params();
        let m = tf.tree.map((a: T) => tf.zerosLike(a), p) as unknown as P;
        let v = tf.tree.map((a: T) => tf.zerosLike(a), p) as unknown as P;
        bs.forEach(([x, y], i) => {
          [p, m, v] = step(p, m, v, tf.scalar(i + 1), x, y) as [P, P, P];
        });
        return p.W1.dataSync();
      };
    },
  };
  const eager: Impl = {
    setup: () => {
      const bs = tenfoldBatches();
      const lossAndGrad = tf.valueAndGrad(loss);
      return () => {
        let p = params();
        let m = tf.tree.map((a: T) => tf.zerosLike(a), p) as unknown as P;
        let v = m;
        bs.forEach(([x, y], i) => {
          const [l, g] = lossAndGrad(p, x, y) as unknown as [T, P];
          [p, m, v] = adamStep(p, m, v, tf.scalar(i + 1), g);
          l.itemSync();
        });
        return p.W1.dataSync();
      };
    },
  };
  const viaTfjs = (t: AnyMod): Fn => {
    const X = t.tensor(xs, [n, 784]);
    const Y = t.tensor(ys, [n, 10]);
    const batches = Array.from({ length: nb }, (_, i) => [X.slice([i * B, 0], [B, 784]), Y.slice([i * B, 0], [B, 10])]);
    return () => {
      const W1 = t.variable(t.tensor(init(1), [784, 128]));
      const c1 = t.variable(t.zeros([128]));
      const W2 = t.variable(t.tensor(init(2), [128, 10]));
      const c2 = t.variable(t.zeros([10]));
      const opt = t.train.adam(1e-3);
      for (const [x, y] of batches) {
        opt.minimize(() => t.losses.softmaxCrossEntropy(y, t.relu(x.matMul(W1).add(c1)).matMul(W2).add(c2)));
      }
      const out = W1.dataSync();
      [W1, c1, W2, c2].forEach((w) => w.dispose());
      opt.dispose();
      return out;
    };
  };
  return [
    { name: `MNIST MLP 784-128-10 Adam, 1 epoch (${nb} batches of ${B})`, impls: { tenfold, ...tfjsBoth(() => viaTfjs(globalTfjs!)) } },
    { name: `MNIST MLP 784-128-10 Adam, eager (no jit, loss read every step), 1 epoch (${nb} batches of ${B})`, impls: { tenfold: eager } },
  ];
}

let globalTfjs: AnyMod | undefined;
/** Hands the loaded tfjs module to this case. */
export function setTfjs(t: AnyMod): void {
  globalTfjs = t;
}

/**
 * `npx tsx bench/mlp.ts` (MLP_EPOCHS=20, MLP_TFJS=1 to add tfjs-wasm): the jitted tenfold epoch
 * alone, reporting the median and fastest epoch and the CPU time per epoch (user + system, all
 * threads), for A/B runs on a shared machine; then `python bench/python/peers.py` for JAX.
 */
async function standalone(): Promise<void> {
  const epochs = Number(process.env.MLP_EPOCHS ?? 20);
  const { tryImport } = await import("./peers.js");
  let tfjs: AnyMod | undefined;
  if (process.env.MLP_TFJS === "1") {
    tfjs = await tryImport("@tensorflow/tfjs");
    const wasm = tfjs ? await tryImport("@tensorflow/tfjs-backend-wasm") : undefined;
    if (tfjs && wasm && (await tfjs.setBackend("wasm"))) await tfjs.ready();
    else tfjs = undefined;
    if (tfjs) setTfjs(tfjs);
  }
  const [jitted] = await mlpCases((make) => (tfjs ? { "tfjs-wasm": { setup: make } } : {}), false);
  const { gateStats } = await import("../src/backends/cpu/helper-guard.js");
  const os = await import("node:os");
  console.log(
    `${jitted!.name}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  for (const [engine, impl] of Object.entries(jitted!.impls)) {
    if (!impl) continue;
    const fn = await impl.setup();
    fn();
    const n = engine === "tenfold" ? epochs : Math.min(epochs, 5);
    const wall: number[] = [];
    const cpu: number[] = [];
    const faults: number[] = [];
    for (let i = 0; i < n; i++) {
      const c0 = process.cpuUsage();
      const f0 = process.resourceUsage().minorPageFault;
      const t0 = performance.now();
      fn();
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      faults.push(process.resourceUsage().minorPageFault - f0);
    }
    const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    console.log(
      `${engine}: median ${med(wall).toFixed(1)} ms, fastest ${Math.min(...wall).toFixed(1)} ms, CPU ${med(cpu).toFixed(1)} ms, ${med(faults)} minor page faults per epoch (${n} epochs)`,
    );
  }
  console.log(
    `helper sharing: ${JSON.stringify(gateStats)}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
}

// Run directly (not when bench/run.ts imports this module, nor from a bundle).
if (/[\\/]bench[\\/]mlp\.[jt]s$/.test(process.argv[1] ?? "") && /\/bench\/mlp\.[jt]s$/.test(import.meta.url)) await standalone();
