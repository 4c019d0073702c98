// WebGPU benchmark from Node (Dawn): `npx tsx bench/webgpu/run.ts [--quick] [--cpu]`.
// Env: BENCH_PEAK_GFLOPS (the device's fp32 peak, to print the fraction reached),
// BENCH_MATMUL (comma list, default 1024,2048,4096), BENCH_MNIST (samples per epoch, default
// 60000). --quick: the smoke sizes used on CPU Vulkan drivers (docs/performance.md, WebGPU).
import * as tf from "../../src/index.js";
// @ts-expect-error plain ESM shared with the browser page (no types)
import { runSuite } from "./suite.js";

const quick = process.argv.includes("--quick");
const backend = process.argv.includes("--cpu") ? "cpu" : "webgpu";
const env = (k: string): string | undefined => process.env[k];
const opts = {
  matmulSizes: (env("BENCH_MATMUL") ?? (quick ? "256,512,1024" : "1024,2048,4096")).split(",").map(Number),
  chainSize: quick ? 1 << 20 : 1 << 22,
  softmaxShape: quick ? [1024, 1024] : [4096, 1024],
  conv: quick ? { n: 8, c: 16, hw: 32, o: 32 } : { n: 32, c: 16, hw: 32, o: 32 },
  mnistSamples: Number(env("BENCH_MNIST") ?? (quick ? 6400 : 60000)),
  reps: quick ? 3 : 5,
  peakGflops: Number(env("BENCH_PEAK_GFLOPS") ?? 0),
};

await tf.setBackend(backend);
if (backend === "webgpu") {
  const { webgpuBackend } = await import("../../src/backends/webgpu/index.js");
  const info = webgpuBackend().info;
  console.log(
    `tenfold ${backend}: workgroup ${info.limits.workgroupSize}, storage binding ${info.limits.maxStorageBufferBindingSize} B, features: ${info.features.includes("shader-f16") ? "shader-f16" : "no f16"}`,
  );
}
await runSuite(tf, opts, (line: string) => console.log(line));
