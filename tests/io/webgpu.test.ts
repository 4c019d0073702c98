// Checkpoints on the WebGPU backend: `save` reads tensor data asynchronously (never dataSync),
// so a training state computed on the GPU saves, and loads back with the values the cpu
// backend computes for the same graph.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { checkpointBytes, load, loadCheckpointBytes, save } from "../../src/io/index.js";
import { assertClose, probeWebGpu } from "../webgpu/gpu.js";

const available = await probeWebGpu();
const dir = mkdtempSync(join(tmpdir(), "tenfold-io-gpu-"));

function state(): { params: tf.nn.Params; step: number; key: Tensor; mask: Tensor } {
  const model = tf.nn.sequential(tf.nn.dense(3, 4), tf.nn.relu, tf.nn.dense(4, 2));
  const p = model.init(tf.random.key(5)) as tf.nn.Params[];
  const x = tf.tensor([
    [1, 2, 3],
    [-1, 0, 1],
  ]);
  const y = model.apply(p, x);
  return { params: [...p, { y }], step: 17, key: tf.random.split(tf.random.key(3))[0]!, mask: tf.greater(tf.multiply(x, 2), 1) };
}

describe.skipIf(!available)("checkpoints on webgpu", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
    rmSync(dir, { recursive: true, force: true });
  });

  it("saves a state computed on the GPU and loads the cpu backend's values", async () => {
    await tf.setBackend("cpu");
    const want = loadCheckpointBytes(await checkpointBytes(state()));
    await tf.setBackend("webgpu");
    const path = join(dir, "gpu.safetensors");
    await save(path, state());
    await tf.setBackend("cpu");
    const got = await load(path, want);
    const [gl, wl] = [tf.tree.leaves<Tensor | number>(got), tf.tree.leaves<Tensor | number>(want)];
    expect(gl.length).toBe(wl.length);
    gl.forEach((g, i) => {
      const w = wl[i]!;
      if (typeof w === "number") expect(g).toBe(w);
      else assertClose((g as Tensor).dataSync(), w.dataSync(), `leaf ${i}`);
    });
  });
});
