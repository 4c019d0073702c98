// whileLoop and cond on WebGPU (lavapipe in CI): the predicate/index is read back per iteration
// (submit + mapAsync), so these programs run deferred; values against plain JS and the cpu
// backend, ordering with later programs and disposals, and flat memory over repeated calls.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { memoryStats } from "../../src/index.js";
import { webgpuBackend } from "../../src/backends/webgpu/index.js";
import { probeWebGpu } from "../webgpu/gpu.js";

const available = await probeWebGpu();
const { add, cond, greater, jit, less, multiply, sum, tensor, vmap, whileLoop, switchCase, negative } = tf;

const tripled = (x: Tensor): Tensor =>
  whileLoop(
    (v: Tensor) => less(v, 100),
    (v: Tensor) => multiply(v, 3),
    x,
  );
function jsTripled(x: number): number {
  while (x < 100) x *= 3;
  return x;
}
const read = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

describe.skipIf(!available)("whileLoop and cond on webgpu", () => {
  beforeAll(async () => {
    await tf.setBackend("webgpu");
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  it("memory stays flat over repeated calls (first: no garbage of other tests yet)", async () => {
    const f = jit((x: Tensor) =>
      cond(
        greater(sum(x), 0),
        (v: Tensor) => tripled(v),
        (v: Tensor) => negative(v),
        x,
      ),
    );
    const x = tensor(1.5);
    let r = f(x);
    await r.data();
    r.dispose();
    await webgpuBackend().sync();
    const s0 = memoryStats();
    for (let i = 0; i < 20; i++) {
      r = f(x);
      await r.data();
      r.dispose();
    }
    await webgpuBackend().sync();
    const s1 = memoryStats();
    expect([s1.liveBuffers, s1.liveBytes]).toEqual([s0.liveBuffers, s0.liveBytes]);
  });

  it("a jitted whileLoop decides its trip count on the device", async () => {
    const f = jit(tripled);
    for (const x of [2, 50, 150, 0.5]) expect((await f(tensor(x)).item()) as number).toBeCloseTo(jsTripled(x), 3);
    // batched predicate (any lane) and a tuple carry with a counter
    expect(await read(vmap(tripled)(tensor([2, 50, 200])))).toEqual([162, 150, 200]);
    const g = jit((x: Tensor) =>
      whileLoop(
        ([i]: Tensor[]) => less(i!, 5),
        ([i, v]: Tensor[]) => [add(i!, 1), add(v!, i!)],
        [tensor(0, { dtype: "int32" }), x],
      ),
    );
    const [i, v] = g(tensor([1, 2])) as Tensor[];
    expect(await read(i!)).toEqual([5]);
    expect(await read(v!)).toEqual([11, 12]);
  });

  it("cond and switchCase run only the selected branch", async () => {
    const h = jit((x: Tensor) =>
      cond(
        greater(sum(x), 0),
        (v: Tensor) => multiply(v, 2),
        (v: Tensor) =>
          whileLoop(
            (u: Tensor) => greater(sum(u), -1),
            (u: Tensor) => add(u, 1),
            v,
          ),
        x,
      ),
    );
    expect(await read(h(tensor([1, 2])))).toEqual([2, 4]);
    expect(await read(h(tensor([-3, -4])))).toEqual([-3, -4]);
    const fs = [(x: Tensor) => add(x, 1), (x: Tensor) => multiply(x, 10), (x: Tensor) => negative(x)];
    const s = jit((k: Tensor, x: Tensor) => switchCase(k, fs, x));
    for (const [k, want] of [
      [-1, [2, 3]],
      [1, [10, 20]],
      [9, [-1, -2]],
    ] as const) {
      expect(await read(s(tensor(k, { dtype: "int32" }), tensor([1, 2])))).toEqual(want);
    }
  });

  it("later programs and disposals wait for the deferred loop", async () => {
    const f = jit(tripled);
    const x = tensor(2);
    const y = f(x);
    x.dispose();
    const z = tf.add(multiply(y, 2), 1); // an ordinary program reading the loop's output
    const w = f(z);
    expect(await read(z)).toEqual([325]);
    expect(await read(w)).toEqual([325]);
    await webgpuBackend().sync();
  });

  it("a cond inside a scan body is refused clearly on webgpu", () => {
    const f = jit(
      (xs: Tensor) =>
        tf.scan(
          (c: Tensor, x: Tensor) =>
            [
              cond(
                greater(x, 0),
                (v: Tensor) => add(v, x),
                (v: Tensor) => v,
                c,
              ),
              c,
            ] as [Tensor, Tensor],
          tensor(0),
          xs,
        )[0],
    );
    expect(() => f(tensor([1, -2, 3]))).toThrow(/inside a scan body is not supported on webgpu/);
  });

  it("equals the cpu backend on a jvp through the loop", async () => {
    const jv = async (): Promise<number[]> => read((tf.jvp(jit(tripled), [tensor(7)], [tensor(1)]) as Tensor[])[1]!);
    const got = await jv();
    await tf.setBackend("cpu");
    const want = await jv();
    await tf.setBackend("webgpu");
    expect(got).toEqual(want);
    expect(got).toEqual([27]);
  });
});
