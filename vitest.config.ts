// Vitest configuration: all tests live under tests/, run in forked workers (2 cores on CI).
// On Node 20/21, relaxed SIMD (FMA) is off unless V8's --experimental-wasm-relaxed-simd is given,
// so the SIMD accuracy and agreement tests run a second time in workers started with that flag
// (project "relaxed-simd"): both the plain and the FMA paths of the Wasm kernels are tested.
// Node 22+ has relaxed SIMD on by default, so the default project already runs the FMA path.
import { defineConfig } from "vitest/config";

const nodeMajor = Number(process.versions.node.split(".")[0]);
const relaxedFiles = [
  "tests/cpu/relaxed-simd.test.ts",
  "tests/cpu/simd-exp.test.ts",
  "tests/cpu/rowops-math.test.ts",
  "tests/cpu/simd.test.ts",
  "tests/cpu/simd-groups.props.test.ts",
  "tests/cpu/rowops.test.ts",
  "tests/cpu/winograd.test.ts",
];

export default defineConfig({
  test: {
    exclude: ["node_modules/**", "dist/**", "tests/.docs-tmp/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    projects: [
      { extends: true as const, test: { name: "default", include: ["tests/**/*.test.ts"] } },
      ...(nodeMajor < 22
        ? [{ extends: true as const, test: { name: "relaxed-simd", include: relaxedFiles, execArgv: ["--experimental-wasm-relaxed-simd"] } }]
        : []),
    ],
  },
});
