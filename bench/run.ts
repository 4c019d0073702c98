// `npm run bench`: tenfold (cpu backend) beside TensorFlow.js (cpu and wasm backends), jax-js
// (Wasm) and onnxruntime-node (native: matmul and conv forward), in one process. Prints a table of
// median milliseconds per engine and the ratio peer/tenfold (> 1 means tenfold is faster), then
// the same for each engine's fastest call; then PyTorch/JAX when Python has them
// (bench/python/peers.py) and a table of issue 14's goals checked on this run (bench/goals.ts).
// BENCH_QUICK=1 runs fewer repetitions. The peers are declared in bench/package.json and
// installed into bench/node_modules by `npm run bench` only (the root install stays lean); Node
// resolves them from there because peers.ts imports them from inside bench/.
import os from "node:os";
import v8 from "node:v8";
import * as tf from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { type AnyMod, onnxConvModel, onnxMatmulModel, tryImport } from "./peers.js";
import { simdGemm } from "../src/backends/cpu/matmul.js";
import { hasRelaxedSimd, hasSimd, relaxedSimd } from "../src/backends/cpu/wasm.js";
import { type Timings, goalTable, goals, pythonPeers } from "./goals.js";

type Fn = () => Promise<unknown> | unknown;
type Impl = { setup: () => Promise<Fn> | Fn } | undefined;
interface Case {
  readonly name: string;
  readonly flops?: number;
  readonly impls: Record<string, Impl>;
}

const QUICK = process.env.BENCH_QUICK === "1";
/**
 * BENCH_ONLY=regex runs the matching cases only; BENCH_ENGINES=a,b limits the engines;
 * BENCH_PYTHON=/path/to/python runs bench/python/peers.py (PyTorch, JAX) after the cases with that
 * Python (default python3, used when it has torch or jax; 0: never), for the goals table.
 */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const ALL_ENGINES = ["tenfold", "tfjs-cpu", "tfjs-wasm", "jax-js", "onnxruntime"] as const;
const ENGINES = process.env.BENCH_ENGINES ? ALL_ENGINES.filter((e) => process.env.BENCH_ENGINES!.split(",").includes(e)) : ALL_ENGINES;

/**
 * Median ms of calls of `fn` within the budget, the median of their minor page faults and of their
 * CPU time over wall time (above 1: helper threads at work), and the share of the timed calls' wall
 * time spent in GC pauses (`v8.GCProfiler`: a `gc` PerformanceObserver missed every collection of
 * some processes, reading 0 %), after
 * a warm-up of at least one call and up to 20 within 200 ms: compilation (jit, kernels, the
 * helper threads' copies of them), and the allocator's first rounds (a fresh result's pages fault
 * in until the first collections free earlier results for reuse: 45–50 ms per 16 MB result on
 * this VM, whichever engine runs first in a fresh process).
 */
async function time(fn: Fn, budgetMs: number): Promise<{ ms: number; min: number; faults: number; cpu: number; gc: number }> {
  const w0 = performance.now();
  for (let n = 0; n === 0 || (n < 20 && performance.now() - w0 < 200); n++) await fn();
  const ts: number[] = [];
  const fs: number[] = [];
  const cs: number[] = [];
  const gcs = new v8.GCProfiler();
  gcs.start();
  const start = performance.now();
  while (ts.length < 3 || (performance.now() - start < budgetMs && ts.length < 50)) {
    const f0 = process.resourceUsage().minorPageFault;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cs.push((c.user + c.system) / 1000 / ts[ts.length - 1]!);
    fs.push(process.resourceUsage().minorPageFault - f0);
    if (ts.length >= 1 && performance.now() - start > budgetMs * 4) break;
  }
  const wall = performance.now() - start;
  const gc = gcs.stop().statistics.reduce((ms, e) => ms + e.cost / 1000, 0); // (cost: µs)
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  return { ms: med(ts), min: Math.min(...ts), faults: med(fs), cpu: med(cs), gc: gc / wall };
}

/** ` ×r` (peer time / tenfold time) for a peer's cell, "" for tenfold's own or without a tenfold time. */
const ratioOf = (engine: string, ms: number, tenfold: number | undefined): string => (engine !== "tenfold" && tenfold ? ` ×${(ms / tenfold).toFixed(2)}` : "");

const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);

async function main(): Promise<void> {
  const tfjs: AnyMod = await tryImport("@tensorflow/tfjs");
  const wasm: AnyMod = tfjs ? await tryImport("@tensorflow/tfjs-backend-wasm") : undefined;
  const jax: AnyMod = await tryImport("@jax-js/jax");
  const ort: AnyMod = await tryImport("onnxruntime-node");
  let wasmOk = false;
  if (tfjs && wasm) {
    try {
      wasm.setThreadsCount?.(os.cpus().length);
      wasmOk = await tfjs.setBackend("wasm");
      await tfjs.ready();
    } catch (e) {
      console.log(`  (tfjs wasm backend failed: ${String(e)})`);
    }
  }
  let jaxOk = false;
  if (jax) {
    try {
      await jax.init("wasm");
      jax.defaultDevice?.("wasm");
      jaxOk = true;
    } catch (e) {
      console.log(`  (jax-js wasm init failed: ${String(e).split("\n")[0]})`);
    }
  }
  const cpuOk = tfjs ? await tfjs.setBackend("cpu") : false;
  const tfjsOn = (backend: string, ok: boolean, make: () => Fn): Impl =>
    tfjs && ok
      ? {
          setup: async () => {
            await tfjs.setBackend(backend);
            return make();
          },
        }
      : undefined;
  const tfjsBoth = (make: () => Fn): Record<string, Impl> => ({ "tfjs-cpu": tfjsOn("cpu", cpuOk, make), "tfjs-wasm": tfjsOn("wasm", wasmOk, make) });
  const tt = (data: Float32Array, shape: number[]): Tensor => tf.tensor(data, { shape });

  const cases: Case[] = [];
  for (const n of QUICK ? [256, 512] : [256, 512, 1024]) {
    const a = rnd(n * n);
    const b = rnd(n * n).reverse();
    cases.push({
      name: `matmul ${n}`,
      flops: 2 * n * n * n,
      impls: {
        tenfold: {
          setup: () => {
            const f = tf.jit((x: Tensor, y: Tensor) => tf.matmul(x, y));
            const [x, y] = [tt(a, [n, n]), tt(b, [n, n])];
            return () => f(x, y).dataSync();
          },
        },
        ...tfjsBoth(() => {
          const [x, y] = [tfjs.tensor(a, [n, n]), tfjs.tensor(b, [n, n])];
          return () => {
            const z = tfjs.matMul(x, y);
            z.dataSync();
            z.dispose();
          };
        }),
        "jax-js": jaxOk
          ? {
              setup: () => {
                const [x, y] = [jax.numpy.array(a).reshape([n, n]), jax.numpy.array(b).reshape([n, n])];
                return async () => jax.numpy.matmul(x.ref, y.ref).data();
              },
            }
          : undefined,
        onnxruntime: ort
          ? {
              setup: async () => {
                const s = await ort.InferenceSession.create(onnxMatmulModel(n, n, n));
                const feeds = { A: new ort.Tensor("float32", a, [n, n]), B: new ort.Tensor("float32", b, [n, n]) };
                return async () => (await s.run(feeds)).Y.data;
              },
            }
          : undefined,
      },
    });
  }
  for (const n of QUICK ? [1 << 20] : [1 << 20, 1 << 22]) {
    const xs = rnd(n);
    cases.push({
      name: `relu(x*a+b)*sigmoid(x)-tanh(x) ${n >> 20}M`,
      impls: {
        tenfold: {
          setup: () => {
            const f = tf.jit((x: Tensor) =>
              tf.subtract(tf.multiply(tf.maximum(tf.add(tf.multiply(x, 1.5), 0.25), 0), tf.divide(1, tf.add(1, tf.exp(tf.negative(x))))), tf.tanh(x)),
            );
            const x = tt(xs, [n]);
            return () => f(x).dataSync();
          },
        },
        ...tfjsBoth(() => {
          const x = tfjs.tensor(xs);
          return () => {
            const z = tfjs.tidy(() => tfjs.relu(x.mul(1.5).add(0.25)).mul(tfjs.sigmoid(x)).sub(tfjs.tanh(x)));
            z.dataSync();
            z.dispose();
          };
        }),
        "jax-js": jaxOk
          ? {
              setup: () => {
                const np = jax.numpy;
                const f = jax.jit((x: AnyMod) => np.maximum(x.ref.mul(1.5).add(0.25), 0).mul(jax.nn.sigmoid(x.ref)).sub(np.tanh(x)));
                const x = np.array(xs);
                return async () => f(x.ref).data();
              },
            }
          : undefined,
      },
    });
  }
  {
    const [r, c] = [4096, 1024];
    const xs = rnd(r * c);
    cases.push({
      name: "sum last axis 4096x1024",
      impls: {
        tenfold: {
          setup: () => {
            const f = tf.jit((x: Tensor) => tf.sum(x, { axis: -1 }));
            const x = tt(xs, [r, c]);
            return () => f(x).dataSync();
          },
        },
        ...tfjsBoth(() => {
          const x = tfjs.tensor(xs, [r, c]);
          return () => {
            const z = x.sum(-1);
            z.dataSync();
            z.dispose();
          };
        }),
        "jax-js": jaxOk
          ? {
              setup: () => {
                const x = jax.numpy.array(xs).reshape([r, c]);
                return async () => jax.numpy.sum(x.ref, -1).data();
              },
            }
          : undefined,
      },
    });
    cases.push({
      name: "softmax last axis 4096x1024",
      impls: {
        tenfold: {
          setup: () => {
            // each engine's own softmax (tfjs.softmax, jax.nn.softmax)
            const f = tf.jit((x: Tensor) => tf.nn.softmax(x));
            const x = tt(xs, [r, c]);
            return () => f(x).dataSync();
          },
        },
        ...tfjsBoth(() => {
          const x = tfjs.tensor(xs, [r, c]);
          return () => {
            const z = tfjs.softmax(x);
            z.dataSync();
            z.dispose();
          };
        }),
        "jax-js": jaxOk
          ? {
              setup: () => {
                const f = jax.jit((x: AnyMod) => jax.nn.softmax(x, -1));
                const x = jax.numpy.array(xs).reshape([r, c]);
                return async () => f(x.ref).data();
              },
            }
          : undefined,
      },
    });
  }
  {
    const [N, C, H, O] = QUICK ? [8, 32, 28, 64] : [64, 32, 28, 64];
    const xs = rnd(N * C * H * H);
    const ws = rnd(O * C * 9);
    const flops = 2 * N * O * H * H * C * 9;
    const tfConv = (x: AnyMod, w: AnyMod) => tfjs.conv2d(x, w, 1, "same");
    cases.push({
      name: `conv2d 3x3 SAME ${N}x${C}x${H}x${H}->${O} fwd`,
      flops,
      impls: {
        tenfold: {
          setup: () => {
            const f = tf.jit((x: Tensor, w: Tensor) => tf.conv(x, w, { padding: "SAME" }));
            const [x, w] = [tt(xs, [N, C, H, H]), tt(ws, [O, C, 3, 3])];
            return () => f(x, w).dataSync();
          },
        },
        ...tfjsBoth(() => {
          const [x, w] = [tfjs.tensor(xs, [N, H, H, C]), tfjs.tensor(ws, [3, 3, C, O])];
          return () => {
            const z = tfConv(x, w);
            z.dataSync();
            z.dispose();
          };
        }),
        onnxruntime: ort
          ? {
              setup: async () => {
                const s = await ort.InferenceSession.create(onnxConvModel([N, C, H, H], [O, C, 3, 3], 1));
                const feeds = { X: new ort.Tensor("float32", xs, [N, C, H, H]), W: new ort.Tensor("float32", ws, [O, C, 3, 3]) };
                return async () => (await s.run(feeds)).Y.data;
              },
            }
          : undefined,
      },
    });
    cases.push({
      name: `conv2d 3x3 SAME ${N}x${C}x${H}x${H}->${O} fwd+bwd`,
      flops: 3 * flops,
      impls: {
        tenfold: {
          setup: () => {
            const f = tf.jit(tf.grad((x: Tensor, w: Tensor) => tf.sum(tf.square(tf.conv(x, w, { padding: "SAME" }))), { argnums: [0, 1] }));
            const [x, w] = [tt(xs, [N, C, H, H]), tt(ws, [O, C, 3, 3])];
            return () => (f(x, w) as Tensor[]).map((g) => g.dataSync());
          },
        },
        ...(() => {
          const impls = tfjsBoth(() => {
            const [x, w] = [tfjs.tensor(xs, [N, H, H, C]), tfjs.tensor(ws, [3, 3, C, O])];
            const g = tfjs.grads((a: AnyMod, b: AnyMod) => tfConv(a, b).square().sum());
            return () => {
              const zs = g([x, w]);
              zs.forEach((z: AnyMod) => {
                z.dataSync();
                z.dispose();
              });
            };
          });
          // tfjs-cpu's conv backward takes minutes at batch 64: measured in quick mode only.
          return QUICK ? impls : { "tfjs-wasm": impls["tfjs-wasm"] };
        })(),
      },
    });
  }
  const { mlpCases, setTfjs } = await import("./mlp.js");
  setTfjs(tfjs);
  // Only when selected: the case loads the MNIST images (the `mnist` package) up front.
  if (!ONLY || ONLY.test("MNIST MLP 784-128-10 Adam")) cases.push(...(await mlpCases(tfjsBoth, QUICK)));

  // Table.
  const rows: string[][] = [];
  const fastRows: string[][] = [];
  const allMs: Timings = {};
  const allMin: Timings = {};
  for (const c of cases) {
    if (ONLY && !ONLY.test(c.name)) continue;
    const ms: Record<string, number | undefined> = {};
    const mins: Record<string, number | undefined> = {};
    const faults: Record<string, number> = {};
    const diag: string[] = []; // per engine: CPU time over wall time of the median call (threads), time in GC pauses
    for (const e of ENGINES) {
      const impl = c.impls[e];
      if (!impl) continue;
      try {
        const t = await time(await impl.setup(), QUICK ? 200 : 1000);
        [ms[e], mins[e], faults[e]] = [t.ms, t.min, t.faults];
        diag.push(`${e} cpu ${t.cpu.toFixed(2)}×, gc ${(t.gc * 100).toFixed(0)}%`);
      } catch (err) {
        console.log(`  (${e} failed on ${c.name}: ${String(err).split("\n")[0]})`);
      }
    }
    [allMs[c.name], allMin[c.name]] = [ms, mins];
    const base = ms.tenfold;
    const cells = ENGINES.map((e) => {
      const v = ms[e];
      if (v === undefined) return "n/a";
      const gf = c.flops ? ` (${(c.flops / v / 1e6).toFixed(1)} GF/s)` : "";
      const ratio = ratioOf(e, v, base);
      // The median call faulted fresh pages in (see docs/troubleshooting.md): its time is mostly the OS's.
      const pf = (faults[e] ?? 0) >= 256 ? ` [${faults[e]} page faults]` : "";
      return `${v.toFixed(2)}${gf}${ratio}${pf}`;
    });
    rows.push([c.name, ...cells]);
    fastRows.push([c.name, ...ENGINES.map((e) => (mins[e] === undefined ? "n/a" : `${mins[e]!.toFixed(2)}${ratioOf(e, mins[e]!, mins.tenfold)}`))]);
    console.log(`${c.name}: ${cells.join(" | ")}\n  (${diag.join("; ")})`);
  }
  const { microCases } = await import("./micro.js");
  const micro = ONLY && !ONLY.test("micro") ? [] : await microCases();
  const table = (rs: readonly string[][]): void => {
    console.log("| case | " + ENGINES.join(" | ") + " |\n|---|" + ENGINES.map(() => "---").join("|") + "|");
    for (const r of rs) console.log(`| ${r.join(" | ")} |`);
  };
  console.log("");
  table(rows);
  // The same calls' fastest: each engine's time without a collection or a descheduled thread in it.
  console.log("\nfastest call (ms), ×r = peer / tenfold:\n");
  table(fastRows);
  if (micro.length) console.log("");
  for (const m of micro) console.log(m);
  const simdPath = `${simdGemm()?.fma ? "relaxed SIMD (FMA, f32x4.relaxed_madd)" : hasSimd() ? "plain SIMD" : "no Wasm SIMD (JS kernels)"}${hasRelaxedSimd() && !relaxedSimd() ? " (relaxed SIMD available, off by TENFOLD_RELAXED=0)" : !hasRelaxedSimd() ? " (this runtime has no relaxed SIMD)" : ""}`;
  console.log(`\ntenfold cpu SIMD path: ${simdPath}`);
  // PyTorch/JAX right after (BENCH_PYTHON=0: not at all), then the goals on this run's numbers.
  const py = process.env.BENCH_PYTHON === "0" || ONLY ? undefined : pythonPeers(QUICK);
  console.log(
    `\ngoals (issue 14) on this run${QUICK ? " (BENCH_QUICK: smaller conv and MLP cases)" : ""}:\n\n${goalTable(goals(allMs, allMin, py, simdPath))}`,
  );
  console.log(
    `\nmachine: ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, Node ${process.version}; ms (median; the second table: fastest call), ×r = peer time / tenfold time; [n page faults]: the median call's minor page faults, shown from 256 (its result's fresh pages faulted in); under each case's first line: each engine's CPU time over wall time (its median call: threads at work) and the share of its timed calls' wall time spent in GC pauses`,
  );
}

await main();
