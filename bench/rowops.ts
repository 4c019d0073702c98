// Row ops (softmax, logSoftmax, logsumexp, layerNorm over 4096x1024, softmax over 4096x1023)
// beside tfjs-wasm and jax-js, timed by wall clock AND by process CPU time per call (user +
// system over all threads), with the minor page faults per call. On a shared, oversubscribed
// machine the wall clock mostly measures the scheduler; CPU time is the work each engine does,
// comparable in one run. Page faults show whether a call's fresh 16 MB result was new memory from
// the OS (≈ 4096 faults: tens of ms on a VM; see docs/performance.md). `npx tsx bench/rowops.ts`
// (peers from bench/node_modules, installed by `npm --prefix bench install`; missing ones are
// skipped); `ROWOPS_ONLY=regex` runs the matching cases only.
import os from "node:os";
import * as tf from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { type AnyMod, tryImport } from "./peers.js";

type Fn = () => unknown;
const R = 4096;
const C = 1024;
const xs = Float32Array.from({ length: R * C }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const only = process.env.ROWOPS_ONLY ? new RegExp(process.env.ROWOPS_ONLY) : undefined;

interface Timing {
  readonly wall: number;
  readonly fastest: number;
  readonly cpu: number;
  readonly cpuMin: number;
  readonly faults: number;
}

/** Median and fastest wall ms, median and least CPU ms (all threads), and median minor page faults, per call. */
async function measure(fn: Fn, n = 21): Promise<Timing> {
  for (let i = 0; i < 3; i++) await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  const faults: number[] = [];
  for (let i = 0; i < n; i++) {
    const r0 = process.resourceUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const r1 = process.resourceUsage();
    cpu.push((r1.userCPUTime + r1.systemCPUTime - r0.userCPUTime - r0.systemCPUTime) / 1000);
    faults.push(r1.minorPageFault - r0.minorPageFault);
  }
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  return { wall: med(wall), fastest: Math.min(...wall), cpu: med(cpu), cpuMin: Math.min(...cpu), faults: med(faults) };
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
  const odd = xs.subarray(0, R * (C - 1));
  const x1023 = tf.tensor(odd, { shape: [R, C - 1] });
  const ln = tf.nn.layerNorm(C);
  const p = ln.init(tf.random.key(1));
  const ours: Record<string, (t: Tensor) => Tensor> = {
    softmax: (t) => tf.nn.softmax(t),
    logSoftmax: (t) => tf.nn.logSoftmax(t),
    logsumexp: (t) => tf.logsumexp(t, { axis: -1 }),
    layerNorm: (t) => ln.apply(p, t) as unknown as Tensor,
    "softmax 4096x1023": (t) => tf.nn.softmax(t),
  };
  const tx = wasmOk ? tfjs.tensor(xs, [R, C]) : undefined;
  const tx1023 = wasmOk ? tfjs.tensor(odd, [R, C - 1]) : undefined;
  const tfjsOps: Record<string, (t: AnyMod) => AnyMod> = {
    softmax: (t) => tfjs.softmax(t),
    logSoftmax: (t) => tfjs.logSoftmax(t),
    logsumexp: (t) => tfjs.logSumExp(t, -1),
    layerNorm: (t) => {
      const { mean, variance } = tfjs.moments(t, -1, true);
      return tfjs.batchNorm(t, mean, variance, undefined, undefined, 1e-5);
    },
    "softmax 4096x1023": (t) => tfjs.softmax(t),
  };
  const jx = jaxOk ? jax.numpy.array(xs).reshape([R, C]) : undefined;
  const jx1023 = jaxOk ? jax.numpy.array(odd).reshape([R, C - 1]) : undefined;
  const jaxOps: Record<string, AnyMod> = jaxOk
    ? {
        softmax: jax.jit((t: AnyMod) => jax.nn.softmax(t, -1)),
        logSoftmax: jax.jit((t: AnyMod) => jax.nn.logSoftmax(t, -1)),
        "softmax 4096x1023": jax.jit((t: AnyMod) => jax.nn.softmax(t, -1)),
      }
    : {};
  console.log(
    "| case | tenfold wall median / fastest | tenfold CPU median / least, faults | tfjs-wasm wall median / fastest | tfjs-wasm CPU median / least, faults | jax-js wall median / fastest | jax-js CPU median / least, faults |",
  );
  console.log("|---|---|---|---|---|---|---|");
  const cell = (m?: Timing): string =>
    m ? `${m.wall.toFixed(2)} / ${m.fastest.toFixed(2)} | ${m.cpu.toFixed(2)} / ${m.cpuMin.toFixed(2)}, ${m.faults}` : "n/a | n/a";
  for (const [name, f] of Object.entries(ours)) {
    const label = name.includes(" ") ? name : `${name} ${R}x${C}`;
    if (only && !only.test(label)) continue;
    const [ox, otx, ojx] = name.includes("1023") ? [x1023, tx1023, jx1023] : [x, tx, jx];
    const j = tf.jit(f);
    const a = await measure(() => j(ox).dataSync());
    const b = wasmOk
      ? await measure(() => {
          const z = tfjsOps[name]!(otx);
          z.dataSync();
          z.dispose();
        })
      : undefined;
    const c = jaxOps[name] ? await measure(async () => jaxOps[name](ojx.ref).data()) : undefined;
    console.log(`| ${label} | ${cell(a)} | ${cell(b)} | ${cell(c)} |`);
  }
  console.log(
    `\nmachine: ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, load average ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}; ms per call` +
      (process.env.GLIBC_TUNABLES ? `; GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES}` : ""),
  );
}

await main();
