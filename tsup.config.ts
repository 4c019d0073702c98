// Build configuration: one ESM + CJS bundle with .d.ts per public entry point, named to match
// package.json "exports" (dist/index.js, dist/nn.js, dist/nn.cjs, dist/nn.d.ts, ...).
import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    nn: "src/nn/index.ts",
    optim: "src/optim/index.ts",
    metrics: "src/metrics/index.ts",
    io: "src/io/index.ts",
    train: "src/train/index.ts",
    laws: "laws/index.ts",
    linalg: "src/linalg/index.ts",
    webgpu: "src/backends/webgpu/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  outDir: "dist",
  target: "es2022",
  splitting: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  // webgpu: optional native binding; fast-check: laws/ uses the user's own copy, never bundled.
  external: ["webgpu", "fast-check"],
  outExtension({ format }) {
    return { js: format === "cjs" ? ".cjs" : ".js" };
  },
});
