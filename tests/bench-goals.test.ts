// The goals table of `npm run bench` (bench/goals.ts): the Python peers' table parsed, and each
// goal's ratio and verdict computed from hand-made timings (the bench itself stays out of tests).
import { describe, expect, it } from "vitest";
import { goalTable, goals, parsePeerTable } from "../bench/goals.js";

const peers = `PyTorch / JAX
| case | torch | jax |
|---|---|---|
| softmax last axis 4096x1024 | 2.50 | 2.40 |
| conv2d 3x3 SAME 64x32x28x28->64 fwd | 11.50 | n/a |
| MNIST MLP 784-128-10 Adam, 1 epoch (63 batches of 128) | 70.00 | 50.00 |

machine: 2 cpus`;

const ms = {
  "softmax last axis 4096x1024": { tenfold: 4, "tfjs-wasm": 8.4 },
  "conv2d 3x3 SAME 64x32x28x28->64 fwd": { tenfold: 20, "tfjs-wasm": 30, onnxruntime: 19 },
  "conv2d 3x3 SAME 64x32x28x28->64 fwd+bwd": { tenfold: 80 },
  "MNIST MLP 784-128-10 Adam, 1 epoch (63 batches of 128)": { tenfold: 160, "tfjs-wasm": 1000 },
  "MNIST MLP 784-128-10 Adam, eager (no jit, loss read every step), 1 epoch (63 batches of 128)": { tenfold: 240 },
};
const min = { "softmax last axis 4096x1024": { tenfold: 3.5, "tfjs-wasm": 8 } };

describe("bench goals", () => {
  it("parses the Python peers' table, leaving n/a cells out", () => {
    const t = parsePeerTable(peers);
    expect(t["softmax last axis 4096x1024"]).toEqual({ torch: 2.5, jax: 2.4 });
    expect(t["conv2d 3x3 SAME 64x32x28x28->64 fwd"]).toEqual({ torch: 11.5 });
    expect(Object.keys(t)).toHaveLength(3);
  });

  it("computes each goal's ratio and verdict", () => {
    const g = goals(ms, min, parsePeerTable(peers), "plain SIMD");
    const by = Object.fromEntries(g.map((x) => [x.goal, x]));
    expect(by["softmax 4096×1024 ≥ 2× faster than tfjs-wasm"]).toEqual({
      goal: "softmax 4096×1024 ≥ 2× faster than tfjs-wasm",
      measured: "4.00 / 8.40 ms: ×2.10 (fastest calls ×2.29)",
      met: true,
    });
    expect(by["softmax within 3× of PyTorch CPU"]!.measured).toBe("4.00 / 2.50 ms: 1.60× PyTorch");
    expect(by["conv2d 3×3 forward ≥ 2× faster than tfjs-wasm"]!.met).toBe(false); // ×1.50
    expect(by["conv2d 3×3 forward within 3× of onnxruntime"]!.met).toBe(true); // 1.05×
    expect(by["MLP 784-128-10 Adam epoch within 3× of JAX CPU"]).toMatchObject({ measured: "160.00 / 50.00 ms: 3.20× JAX", met: false });
    expect(by["eager epoch within 5× of the jitted one"]).toMatchObject({ measured: "240.00 / 160.00 ms: 1.50× jitted", met: true });
    expect(goalTable(g)).toContain("| MLP 784-128-10 Adam epoch within 3× of JAX CPU | 160.00 / 50.00 ms: 3.20× JAX | **not met** |");
  });

  it("reads n/a where a peer did not run", () => {
    const g = goals(ms, min, undefined, "plain SIMD");
    const mlp = g.find((x) => x.goal.startsWith("MLP"))!;
    expect(mlp).toEqual({ goal: mlp.goal, measured: "n/a (no Python peers)", met: undefined });
    expect(goals({}, {}, undefined, "plain SIMD").filter((x) => x.met !== undefined)).toEqual([]);
  });
});
