// Every example runs on a tiny budget (a few steps or samples): it trains with fit, writes its
// plotHistory SVG and its checkpoints, and reports a finite result; loss curves go down where
// even a tiny budget guarantees it (XOR, perceptron, sine), checked against the first epoch.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { ExampleOptions, ExampleResult } from "../../examples/common.js";

type Main = (o?: ExampleOptions) => Promise<ExampleResult>;
const cases: readonly (readonly [string, () => Promise<{ main: Main }>, ExampleOptions])[] = [
  ["perceptron", () => import("../../examples/perceptron.js"), { epochs: 5 }],
  ["xor", () => import("../../examples/xor.js"), { epochs: 60 }],
  ["mnist-mlp", () => import("../../examples/mnist-mlp.js"), { epochs: 2, samples: 300 }],
  ["mnist-cnn", () => import("../../examples/mnist-cnn.js"), { epochs: 1, samples: 100 }],
  ["lstm", () => import("../../examples/lstm.js"), { epochs: 2, steps: 3 }],
  ["gru", () => import("../../examples/gru.js"), { epochs: 2, steps: 3 }],
  ["transformer", () => import("../../examples/transformer.js"), { epochs: 2, steps: 3 }],
  ["autoencoder", () => import("../../examples/autoencoder.js"), { epochs: 1, samples: 200 }],
  ["overfitting", () => import("../../examples/overfitting.js"), { epochs: 2, samples: 100 }],
];

describe("examples on a tiny budget", () => {
  for (const [name, load, budget] of cases) {
    test(
      name,
      async () => {
        const outDir = mkdtempSync(join(tmpdir(), `ex-${name}-`));
        const { main } = await load();
        const r = await main({ ...budget, outDir, verbose: 0, log: false });
        expect(Number.isFinite(r.value)).toBe(true);
        expect(r.history.loss.length).toBeGreaterThan(0);
        for (const v of r.history.loss) expect(Number.isFinite(v)).toBe(true);
        for (const f of r.files) expect(readFileSync(f, "utf8").startsWith("<svg")).toBe(true);
        expect(readFileSync(r.files[0]!, "utf8")).toContain("<path"); // the plotHistory curves
        const files = readdirSync(outDir);
        expect(files.some((f) => f.endsWith(".last.safetensors"))).toBe(true);
        expect(files.some((f) => f.endsWith(".best.safetensors"))).toBe(true);
        if (name === "xor" || name === "perceptron") expect(r.history.loss.at(-1)!).toBeLessThan(r.history.loss[0]!);
        expect(existsSync(join(outDir, `${name}.svg`))).toBe(true);
      },
      120_000,
    );
  }
});
