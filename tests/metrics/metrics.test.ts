// tenfold/metrics against NumPy fixtures (tests/fixtures/gen_metrics.py), plus jit use and errors.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { jit, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { accuracy, aucRoc, confusionMatrix, f1, precision, recall } from "../../src/metrics/index.js";
import type { Average } from "../../src/metrics/index.js";

interface PRF {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}
interface Case {
  readonly desc: string;
  readonly labels: number[];
  readonly pred?: number[];
  readonly logits?: { shape: number[]; data: number[] };
  readonly scores?: number[];
  readonly numClasses?: number;
  readonly expected: { accuracy?: number; confusion?: number[][]; auc?: number; macro?: PRF; micro?: PRF; binary?: PRF };
}

const cases = JSON.parse(readFileSync(new URL("../fixtures/metrics.json", import.meta.url), "utf8")) as Case[];
const int = (xs: number[]): Tensor => tensor(new Int32Array(xs));

describe("classification metrics match NumPy", () => {
  for (const c of cases.filter((x) => x.pred)) {
    test(c.desc, () => {
      const y = int(c.labels);
      const p = c.logits ? tensor(new Float32Array(c.logits.data), { shape: c.logits.shape }) : int(c.pred!);
      const k = c.numClasses!;
      expect(accuracy(p, y).itemSync()).toBeCloseTo(c.expected.accuracy!, 6);
      expect(confusionMatrix(p, y, k).arraySync()).toEqual(c.expected.confusion);
      for (const avg of ["macro", "micro", "binary"] as Average[]) {
        const want = c.expected[avg];
        if (!want) continue;
        for (const opts of [{ average: avg, numClasses: k }, { average: avg }]) {
          expect(precision(p, y, opts).itemSync(), `${avg} precision`).toBeCloseTo(want.precision, 6);
          expect(recall(p, y, opts).itemSync(), `${avg} recall`).toBeCloseTo(want.recall, 6);
          expect(f1(p, y, opts).itemSync(), `${avg} f1`).toBeCloseTo(want.f1, 6);
        }
      }
    });
  }
  for (const c of cases.filter((x) => x.scores)) {
    test(c.desc, () => {
      expect(aucRoc(tensor(new Float32Array(c.scores!)), int(c.labels)).itemSync()).toBeCloseTo(c.expected.auc!, 6);
    });
  }
});

describe("metrics details", () => {
  test("boolean predictions and labels; one-hot labels", () => {
    expect(accuracy(tensor([true, false, true]), tensor([true, true, true])).itemSync()).toBeCloseTo(2 / 3, 6);
    expect(
      accuracy(
        tensor([
          [0.2, 0.8],
          [0.6, 0.4],
        ]),
        tensor([
          [0, 1],
          [0, 1],
        ]),
      ).itemSync(),
    ).toBe(0.5);
    expect(precision(tensor([true, true]), tensor([true, false])).itemSync()).toBe(0.5);
  });

  test("metrics run under jit with numClasses given", () => {
    const m = jit((p: Tensor, y: Tensor) => [accuracy(p, y), f1(p, y, { average: "macro", numClasses: 3 }), confusionMatrix(p, y, 3)] as const);
    const [a, f, cm] = m(int([0, 1, 2, 2]), int([0, 1, 1, 2]));
    expect(a.itemSync()).toBe(0.75);
    expect(f.itemSync()).toBeCloseTo((1 + 2 / 3 + 2 / 3) / 3, 6);
    expect(cm.dtype).toBe("int32");
  });

  test("clear errors", () => {
    expect(() => accuracy(int([0, 1]), int([0, 1, 1]))).toThrow(/2 samples, labels 3/);
    expect(() => aucRoc(tensor([0.1, 0.2]), int([1, 1]))).toThrow(/both classes/);
    expect(() => aucRoc(tensor([0.1, 0.2]), int([0, 2]))).toThrow(/0\/1/);
    expect(() => confusionMatrix(int([0]), int([0]), 0)).toThrow(RangeError);
  });
});
