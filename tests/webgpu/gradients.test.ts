// The gradient suite on WebGPU: every enrolled primitive and composite op (tests/transforms/enroll.ts,
// the same table the transform laws run on) is differentiated on WebGPU and on the reference
// backend from the same inputs; reverse-mode (vjp) and, where the row allows it, forward-mode (jvp)
// results must agree within float32 tolerance. Gradient correctness itself is proven on the CPU by
// checkGrads; this proves WebGPU computes the same derivative graphs.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { OP_TABLE, PRIM_TABLE } from "../transforms/enroll.js";
import type { Entry } from "../transforms/enroll.js";
import { assertClose, probeWebGpu } from "./gpu.js";

const available = await probeWebGpu();
const ATOL = 2e-3;
const RTOL = 2e-3;

/** Reverse- and forward-mode results of `e` at `args`, read back from the current backend. */
async function derivatives(e: Entry, args: Tensor[]): Promise<Float32Array[]> {
  const float = args.map((a) => a.dtype === "float32");
  const [out, pullback] = tf.vjp(e.fn, ...args);
  const ct = tf.fullLike(out, 0.5);
  const outs: Tensor[] = [out, ...(pullback(ct) as Tensor[]).filter((_, i) => float[i])];
  const modes = e.grad === false ? [] : (e.grad.modes ?? ["fwd", "rev"]);
  if (modes.includes("fwd")) {
    const tangents = args.map((a) => (a.dtype === "float32" ? tf.fullLike(a, 0.25) : tf.zerosLike(a)));
    outs.push(tf.jvp(e.fn, args, tangents)[1]);
  }
  return Promise.all(outs.map(async (t) => Float32Array.from(await t.data())));
}

const rows = [...Object.entries(PRIM_TABLE), ...Object.entries(OP_TABLE)].filter(([, e]) => e.grad !== false);

describe.skipIf(!available)("webgpu: the gradient suite agrees with the reference backend", () => {
  beforeAll(async () => {
    await tf.setBackend("reference");
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  it("enrolls every differentiable row", () => {
    expect(rows.length).toBeGreaterThan(40);
  });

  it.each(rows)("%s", async (name, e) => {
    const [args] = fc.sample(e.args, { seed: 42, numRuns: 1 });
    await tf.setBackend("reference");
    const want = await derivatives(e, args!);
    await tf.setBackend("webgpu");
    try {
      const got = await derivatives(e, args!);
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => assertClose(g, want[i]!, `${name} result ${i}`, ATOL, RTOL));
    } finally {
      await tf.setBackend("reference");
    }
  });
});
