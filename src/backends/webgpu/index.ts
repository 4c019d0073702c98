/**
 * Entry point of `tenfold/webgpu`: the WebGPU backend, loaded on demand (`await
 * setBackend("webgpu")` imports it). It finds `navigator.gpu` in browsers and Deno, or the
 * optional `webgpu` package (Dawn) in Node, and generates WGSL for every kernel.
 */
import { backendInstance, registerBackend } from "../../core/backend.js";
import { acquireDevice } from "./gpu.js";
import type { WebGpuBackend } from "./backend.js";
import { createWebGpuBackend } from "./backend.js";

export type { WebGpuBackend } from "./backend.js";
export type { MemoryStats } from "./memory.js";
export type { GpuLimits } from "./gpu.js";

registerBackend("webgpu", async () => createWebGpuBackend(await acquireDevice()));

/**
 * Whether a WebGPU adapter can be obtained here (never throws).
 * @example
 * ```ts skip
 * import { webgpuAvailable } from "tenfold/webgpu";
 * console.log(await webgpuAvailable()); // true where a GPU or a Vulkan driver is present
 * ```
 */
export async function webgpuAvailable(): Promise<boolean> {
  try {
    const ctx = await acquireDevice();
    ctx.device.destroy();
    return true;
  } catch {
    return false;
  }
}

/**
 * The WebGPU backend instance (after `await setBackend("webgpu")`): memory counters, dispatch
 * counts, device limits, `sync()`.
 * @example
 * ```ts skip
 * import { setBackend, tensor, add } from "tenfold";
 * import { webgpuBackend } from "tenfold/webgpu";
 * await setBackend("webgpu");
 * await add(tensor([1, 2]), 1).data();
 * console.log(webgpuBackend().memory.liveBuffers >= 0); // true
 * ```
 */
export function webgpuBackend(): WebGpuBackend {
  const b = backendInstance("webgpu");
  if (b.name !== "webgpu") throw new Error("webgpuBackend: not a WebGPU backend");
  return b as WebGpuBackend;
}
