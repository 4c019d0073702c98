// The NumPy op fixture suite (tests/fixtures/ops.json) on the WebGPU backend. Float results within
// atol = rtol = 1e-4 of NumPy (WGSL's exp/log/sin/pow are not correctly rounded); int32 and bool
// exact. Skips without an adapter unless WEBGPU_REQUIRED=1.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { assertClose, probeWebGpu } from "./gpu.js";

type Scalar = number | boolean | string;
interface EncodedArray {
  shape: number[];
  dtype: "float32" | "int32" | "bool";
  data: Scalar[];
}
interface Case {
  op: string;
  desc: string;
  args: unknown[];
  opts?: Record<string, unknown>;
  expected: EncodedArray | { list: EncodedArray[] };
}

const CASES = JSON.parse(readFileSync(fileURLToPath(new URL("../fixtures/ops.json", import.meta.url)), "utf8")) as Case[];
const available = await probeWebGpu();

function num(v: Scalar): number {
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (typeof v === "boolean") return v ? 1 : 0;
  return v as number;
}

function decode(v: unknown): unknown {
  if (typeof v === "object" && v !== null && !Array.isArray(v) && "tensor" in v) {
    const e = (v as { tensor: EncodedArray }).tensor;
    const vals = e.data.map(num);
    const arr = e.dtype === "float32" ? Float32Array.from(vals) : e.dtype === "int32" ? Int32Array.from(vals) : Uint8Array.from(vals);
    return tf.tensor(arr, { shape: e.shape, dtype: e.dtype });
  }
  if (Array.isArray(v)) return v.map(decode);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  return v;
}

async function check(got: unknown, exp: EncodedArray, where: string): Promise<void> {
  const t = got as tf.Tensor;
  expect([...t.shape], `${where}: shape`).toEqual(exp.shape);
  expect(t.dtype, `${where}: dtype`).toBe(exp.dtype);
  assertClose(await t.data(), exp.data.map(num), where, undefined, undefined, exp.dtype !== "float32");
}

describe.skipIf(!available)("op fixtures on the webgpu backend", () => {
  beforeAll(async () => {
    await tf.setBackend("webgpu");
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
  });
  CASES.forEach((c, i) => {
    it(`${c.op} #${i} ${c.desc}`, async () => {
      const fn = (tf as unknown as Record<string, (...a: unknown[]) => unknown>)[c.op]!;
      const args = c.args.map(decode);
      if (c.opts !== undefined) args.push(decode(c.opts));
      const out = fn(...args);
      if ("list" in c.expected) {
        const outs = out as unknown[];
        expect(outs.length).toBe(c.expected.list.length);
        for (let j = 0; j < outs.length; j++) await check(outs[j], c.expected.list[j]!, `${c.op} output ${j}`);
      } else await check(out, c.expected, c.op);
    });
  });
});
