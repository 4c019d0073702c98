// The performance goals of `npm run bench` (issue 14), checked on the run's own numbers: each goal
// with its measured ratio and whether this run met it. The PyTorch and JAX numbers come from
// bench/python/peers.py, run right after the JavaScript cases when a Python with torch or jax is
// found (BENCH_PYTHON=/path/to/python, else `python3`); without one those goals read "n/a".
// Reporting only: nothing here fails a run.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Median (or fastest-call) milliseconds by case name, then by engine name. */
export type Timings = Record<string, Record<string, number | undefined>>;

/**
 * The rows of the markdown table bench/python/peers.py prints (`| case | torch | jax |`), as
 * milliseconds by case and engine ("n/a" cells left out).
 */
export function parsePeerTable(text: string): Timings {
  const out: Timings = {};
  let engines: string[] | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith("|")) continue;
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells[0] === "case") {
      engines = cells.slice(1);
      continue;
    }
    if (!engines || cells[0]!.startsWith("---")) continue;
    const row: Record<string, number | undefined> = {};
    cells.slice(1).forEach((c, i) => {
      const v = Number(c);
      if (c !== "" && Number.isFinite(v)) row[engines![i]!] = v;
    });
    out[cells[0]!] = row;
  }
  return out;
}

/**
 * Runs bench/python/peers.py with `python` (BENCH_PYTHON, else python3) when it can import torch
 * or jax; its timings, or undefined (with the reason printed) when there is no such Python or the
 * script fails.
 */
export function pythonPeers(quick: boolean): Timings | undefined {
  const python = process.env.BENCH_PYTHON ?? "python3";
  const probe = spawnSync(python, ["-c", "import importlib.util as u; print(any(u.find_spec(m) for m in ('torch', 'jax')))"], { encoding: "utf8" });
  if (probe.status !== 0 || probe.stdout.trim() !== "True") {
    console.log(`  (PyTorch/JAX peers skipped: ${python} has neither torch nor jax; set BENCH_PYTHON to a Python that has them)`);
    return undefined;
  }
  const script = fileURLToPath(new URL("./python/peers.py", import.meta.url));
  const run = spawnSync(python, [script], { encoding: "utf8", env: { ...process.env, BENCH_QUICK: quick ? "1" : "0" }, timeout: 600_000 });
  if (run.status !== 0) {
    console.log(`  (PyTorch/JAX peers failed: ${(run.stderr || String(run.error)).trim().split("\n").pop()})`);
    return undefined;
  }
  console.log(`\nPyTorch / JAX (CPU) on the same machine, right after (bench/python/peers.py):\n\n${run.stdout.trim()}`);
  return parsePeerTable(run.stdout);
}

/** One goal: its text, the measured ratio (as printed) and whether this run met it (undefined: not measured). */
export interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

/**
 * Issue 14's goals on one run: `ms` and `min` are the JavaScript engines' medians and fastest
 * calls by case, `py` the Python peers' medians (absent: not run), `simdPath` the SIMD path the
 * run took.
 */
export function goals(ms: Timings, min: Timings, py: Timings | undefined, simdPath: string): Goal[] {
  const name = (test: (n: string) => boolean): string | undefined => Object.keys(ms).find(test);
  const x = (v: number): string => `×${v.toFixed(2)}`;
  const na = (goal: string, why = ""): Goal => ({ goal, measured: `n/a${why}`, met: undefined });
  // The peer takes at least `want` times tenfold's time.
  const faster = (goal: string, c: string | undefined, peer: string, want: number): Goal => {
    const [t, p] = [c && ms[c]?.tenfold, c && ms[c]?.[peer]];
    if (!t || !p) return na(goal);
    const [ft, fp] = [c && min[c]?.tenfold, c && min[c]?.[peer]];
    const fast = ft && fp ? ` (fastest calls ${x(fp / ft)})` : "";
    return { goal, measured: `${t.toFixed(2)} / ${p.toFixed(2)} ms: ${x(p / t)}${fast}`, met: p / t >= want };
  };
  // Tenfold takes at most `factor` times the peer's time.
  const within = (goal: string, t: number | undefined, peer: string, p: number | undefined, factor: number, why = ""): Goal =>
    t === undefined || p === undefined
      ? na(goal, why)
      : { goal, measured: `${t.toFixed(2)} / ${p.toFixed(2)} ms: ${(t / p).toFixed(2)}× ${peer}`, met: t / p <= factor };
  const noPy = py ? " (no matching Python case)" : " (no Python peers)";
  const softmax = name((n) => n === "softmax last axis 4096x1024");
  const conv = name((n) => n.startsWith("conv2d 3x3 SAME") && n.endsWith(" fwd"));
  const mlp = name((n) => n.startsWith("MNIST MLP") && !n.includes("eager"));
  const eager = name((n) => n.startsWith("MNIST MLP") && n.includes("eager"));
  const of = (c: string | undefined, e: string, t: Timings | undefined = ms): number | undefined => (c ? t?.[c]?.[e] : undefined);
  return [
    faster("softmax 4096×1024 ≥ 2× faster than tfjs-wasm", softmax, "tfjs-wasm", 2),
    within("softmax within 3× of PyTorch CPU", of(softmax, "tenfold"), "PyTorch", of(softmax, "torch", py), 3, noPy),
    faster("conv2d 3×3 forward ≥ 2× faster than tfjs-wasm", conv, "tfjs-wasm", 2),
    within("conv2d 3×3 forward within 3× of onnxruntime", of(conv, "tenfold"), "onnxruntime", of(conv, "onnxruntime"), 3),
    within("MLP 784-128-10 Adam epoch within 3× of JAX CPU", of(mlp, "tenfold"), "JAX", of(mlp, "jax", py), 3, noPy),
    within("eager epoch within 5× of the jitted one", of(eager, "tenfold"), "jitted", of(mlp, "tenfold"), 5),
    { goal: "relaxed SIMD (FMA) used when the runtime has it, plain SIMD kept", measured: simdPath, met: undefined },
  ];
}

/** The goals as a markdown table. */
export function goalTable(gs: readonly Goal[]): string {
  const mark = (m: boolean | undefined): string => (m === undefined ? "—" : m ? "met" : "**not met**");
  return ["| goal | this run | |", "|---|---|---|", ...gs.map((g) => `| ${g.goal} | ${g.measured} | ${mark(g.met)} |`)].join("\n");
}
