// Build configuration: one ESM + CJS bundle with .d.ts per public entry point, named to match
// package.json "exports" (dist/index.js, dist/nn.js, dist/nn.cjs, dist/nn.d.ts, ...).
import { defineConfig } from "tsup";
import { createRequire } from "node:module";
import type { Plugin } from "esbuild";

/**
 * The sources import fp-ts's CommonJS paths (`fp-ts/lib/X.js`, the only ones Node's ESM loader
 * can import: `fp-ts/es6` has extensionless relative imports). The CJS build keeps them external;
 * the ESM build bundles fp-ts's ES modules (`fp-ts/es6/X.js`) instead, tree-shaken to the few
 * functions io/ uses, so the ESM build contains no CommonJS. Types still come from fp-ts.
 */
const fpTsEsm: Plugin = {
  name: "fp-ts-esm",
  setup(build) {
    // tsup runs esbuild in ESM mode for both builds (then converts CJS), so read its own define.
    const esm = build.initialOptions.define?.TSUP_FORMAT === JSON.stringify("esm");
    const req = createRequire(import.meta.url);
    build.onResolve({ filter: /^fp-ts\/lib\// }, (args) =>
      esm ? { path: req.resolve(args.path.replace(/^fp-ts\/lib\//, "fp-ts/es6/")) } : { path: args.path, external: true },
    );
  },
};

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
    onnx: "src/onnx/index.ts",
    internals: "src/internals.ts",
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
  noExternal: [/^fp-ts\/lib\//],
  esbuildPlugins: [fpTsEsm],
  outExtension({ format }) {
    return { js: format === "cjs" ? ".cjs" : ".js" };
  },
});
