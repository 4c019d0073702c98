// Shared setup of the WebGPU suites: points the Vulkan loader at lavapipe when nothing is set,
// probes for an adapter once, and decides skip vs. fail (WEBGPU_REQUIRED=1 makes a missing adapter
// a failure, as CI sets it).
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "../../src/index.js";

const LVP = "/usr/share/vulkan/icd.d/lvp_icd.json";
if (!process.env.VK_ICD_FILENAMES && existsSync(LVP)) process.env.VK_ICD_FILENAMES = LVP;
if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), "xdg-"));

/** Whether WebGPU tests must run (CI). */
export const REQUIRED = process.env.WEBGPU_REQUIRED === "1";

/** Tries to create the WebGPU backend; returns whether it worked (leaves the cpu backend current). */
export async function probeWebGpu(): Promise<boolean> {
  try {
    await tf.setBackend("webgpu");
    await tf.setBackend("cpu");
    return true;
  } catch (e) {
    await tf.setBackend("cpu");
    if (REQUIRED) throw new Error(`WEBGPU_REQUIRED=1 but WebGPU is unavailable: ${(e as Error).message}`);
    return false;
  }
}

/** Float tolerance of WebGPU results against the reference backend / NumPy (float32). */
export const ATOL = 1e-4;
export const RTOL = 1e-4;

/** Asserts elementwise closeness (NaN equals NaN, infinities exact); throws with the worst elements. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, where: string, atol = ATOL, rtol = RTOL, exact = false): void {
  if (got.length !== want.length) throw new Error(`${where}: length ${got.length} vs ${want.length}`);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const g = Number(got[i]);
    const w = Number(want[i]);
    let ok: boolean;
    if (exact) ok = g === w || (Number.isNaN(g) && Number.isNaN(w));
    else if (Number.isNaN(w)) ok = Number.isNaN(g);
    else if (!Number.isFinite(w)) ok = g === w;
    else ok = Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) bad.push(`[${i}] got ${g} want ${w}`);
  }
  if (bad.length) throw new Error(`${where}: ${bad.length}/${want.length} differ: ${bad.slice(0, 6).join("; ")}`);
}
