// Row ops (softmax, logSoftmax, logsumexp, layerNorm over 4096x1024) beside tfjs-wasm and jax-js,
// timed by wall clock AND by process CPU time per call (user + system over all threads). On a
// shared, oversubscribed machine the wall clock mostly measures the scheduler; CPU time is the
// work each engine does, comparable in one run. `npx tsx bench/rowops.ts` (peers from
// bench/node_modules, installed by `npm --prefix bench install`; missing ones are skipped).
import os from "node:os";
import * as tf from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { type AnyMod, tryImport } from "./peers.js";

type Fn = () => unknown;
const R = 4096;
const C = 1024;
const xs = Float32Array.from({ length: R * C }, (_, i) => Math.sin(i * 12.9898) * 0.5);

/** Median and fastest wall ms, and median CPU ms (all threads), per call. */
async function measure(fn: Fn, n = 21): Promise<{ wall: number; fastest: number; cpu: number }> {
  for (let i = 0; i < 3; i++) await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  return { wall: med(wall), fastest: Math.min(...wall), cpu: med(cpu) };
}

async function main(): Promise<void> {
  const tfjs: AnyMod = await tryImport("@tensorflow/tfjs");
  const wasm: AnyMod = tfjs ? await tryImport("@tensorflow/tfjs-backend-wasm") : undefined;
  const jax: AnyMod = await tryImport("@jax-js/jax");
  let wasmOk = false;
  if (tfjs && wasm) {
    wasm.setThreadsCount?.(os.cpus().length);
    wasmOk = await tfjs.setBackend("wasm");
  }
  let jaxOk = false;
  if (jax) {
    await jax.init("wasm");
    jax.defaultDevice?.("wasm");
    jaxOk = true;
  }
  const x = tf.tensor(xs, { shape: [R, C] });
  const ln = tf.nn.layerNorm(C);
  const p = ln.init(tf.random.key(1));
  const ours: Record<string, (t: Tensor) => Tensor> = {
    softmax: (t) => tf.nn.softmax(t),
    logSoftmax: (t) => tf.nn.logSoftmax(t),
    logsumexp: (t) => tf.logsumexp(t, { axis: -1 }),
    layerNorm: (t) => ln.apply(p, t) as unknown as Tensor,
  };
  const tx = wasmOk ? tfjs.tensor(xs, [R, C]) : undefined;
  const tfjsOps: Record<string, (t: AnyMod) => AnyMod> = {
    softmax: (t) => tfjs.softmax(t),
    logSoftmax: (t) => tfjs.logSoftmax(t),
    logsumexp: (t) => tfjs.logSumExp(t, -1),
    layerNorm: (t) => {
      const { mean, variance } = tfjs.moments(t, -1, true);
      return tfjs.batchNorm(t, mean, variance, undefined, undefined, 1e-5);
    },
  };
  const jx = jaxOk ? jax.numpy.array(xs).reshape([R, C]) : undefined;
  const jaxOps: Record<string, AnyMod> = jaxOk
    ? { softmax: jax.jit((t: AnyMod) => jax.nn.softmax(t, -1)), logSoftmax: jax.jit((t: AnyMod) => jax.nn.logSoftmax(t, -1)) }
    : {};
  console.log(
    "| case | tenfold wall median / fastest | tenfold CPU | tfjs-wasm wall median / fastest | tfjs-wasm CPU | jax-js wall median / fastest | jax-js CPU |",
  );
  console.log("|---|---|---|---|---|---|---|");
  const cell = (m?: { wall: number; fastest: number; cpu: number }): string =>
    m ? `${m.wall.toFixed(2)} / ${m.fastest.toFixed(2)} | ${m.cpu.toFixed(2)}` : "n/a | n/a";
  for (const [name, f] of Object.entries(ours)) {
    const j = tf.jit(f);
    const a = await measure(() => j(x).dataSync());
    const b = wasmOk
      ? await measure(() => {
          const z = tfjsOps[name]!(tx);
          z.dataSync();
          z.dispose();
        })
      : undefined;
    const c = jaxOps[name] ? await measure(async () => jaxOps[name](jx.ref).data()) : undefined;
    console.log(`| ${name} ${R}x${C} | ${cell(a)} | ${cell(b)} | ${cell(c)} |`);
  }
  console.log(
    `\nmachine: ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, load average ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}; ms per call`,
  );
}

await main();
