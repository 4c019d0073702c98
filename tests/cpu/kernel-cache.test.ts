/** The compiled-kernel cache is bounded: constants that change every step do not grow it forever. */
import { describe, expect, it } from "vitest";
import { add, tensor } from "../../src/index.js";
import { KERNEL_CACHE_LIMIT, kernelCacheSize } from "../../src/backends/cpu/codegen.js";

describe("cpu kernel cache", () => {
  it("stays within its limit when every step bakes a new constant", () => {
    const x = tensor(new Float32Array(8));
    const before = kernelCacheSize();
    for (let i = 0; i < 50; i++) add(x, i + 0.25).dataSync();
    expect(kernelCacheSize()).toBeGreaterThan(before); // each constant is a new kernel source
    for (let i = 0; i < KERNEL_CACHE_LIMIT + 300; i++) add(x, i + 0.5).dataSync();
    expect(kernelCacheSize()).toBeLessThanOrEqual(KERNEL_CACHE_LIMIT);
    expect(add(x, 1.5).arraySync()).toEqual(new Array(8).fill(1.5));
  });
});
