// Relaxed SIMD (FMA) is detected once from the runtime and used by the SIMD gemm and the
// transcendental polynomials when present; TENFOLD_RELAXED=0 keeps the plain SIMD path. Both paths
// agree with the float64 JS kernel. (vitest.config.ts runs this file and the SIMD accuracy tests a
// second time with V8's relaxed-SIMD flag on Node 20.)
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { sgemm, sgemmAuto, simdGemm } from "../../src/backends/cpu/matmul.js";
import { hasRelaxedSimd, hasSimd, relaxedSimd } from "../../src/backends/cpu/wasm.js";

function maxErr(): number {
  const [m, n, k] = [67, 45, 130];
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37));
  const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.11));
  const A = { data: a, off: 0, rs: k, cs: 1 };
  const B = { data: b, off: 0, rs: n, cs: 1 };
  const want = new Float32Array(m * n);
  const got = new Float32Array(m * n);
  sgemm(A, B, want, 0, m, n, k);
  sgemmAuto(A, B, got, 0, m, n, k);
  return want.reduce((e, w, i) => Math.max(e, Math.abs(got[i]! - w) / (1 + Math.abs(w))), 0);
}

describe("relaxed SIMD detection", () => {
  it.runIf(hasSimd())("the gemm uses FMA exactly when the runtime validates relaxed_madd, and is right", () => {
    expect(relaxedSimd()).toBe(hasRelaxedSimd());
    expect(simdGemm()!.fma).toBe(relaxedSimd());
    expect(maxErr()).toBeLessThan(1e-5);
  });

  it.runIf(hasSimd() && process.execArgv.includes("--experimental-wasm-relaxed-simd"))(
    "with V8's relaxed-SIMD flag (the relaxed-simd test project on Node 20) FMA is on, so that project tests the FMA path",
    () => {
      expect(hasRelaxedSimd()).toBe(true);
      expect(relaxedSimd()).toBe(true);
    },
  );

  it.runIf(hasSimd())("TENFOLD_RELAXED=0 keeps the plain SIMD path (detected off in a fresh process)", () => {
    const src = `import { simdGemm } from "./src/backends/cpu/matmul.js"; import { relaxedSimd } from "./src/backends/cpu/wasm.js"; console.log(JSON.stringify([relaxedSimd(), simdGemm().fma]));`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", src], {
      env: { ...process.env, TENFOLD_RELAXED: "0" },
      encoding: "utf8",
      timeout: 60000,
    });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout.trim())).toEqual([false, false]);
  });
});
