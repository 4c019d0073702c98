/**
 * Printing tensors (src/core/inspect.ts): toString / util.inspect / console.log show dtype, shape,
 * device and a NumPy-style preview; pending tensors print as lazy without being computed; large
 * tensors are summarised with `...`; the Tensor brand (`isTensor`, `instanceof`) is shared across
 * copies of the library. Expected strings are written by hand from NumPy's printing rules.
 */
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { add, arange, grad, isTensor, reshape, sum, tensor, Tensor } from "../../src/index.js";
import { SUMMARY_THRESHOLD } from "../../src/internals.js";

describe("tensor printing", () => {
  it("shows values, dtype, shape and device of a computed tensor", () => {
    const t = tensor([
      [1, 2.5],
      [-3, 4],
    ]);
    const s = "tensor([[  1, 2.5],\n        [ -3,   4]], dtype=float32, shape=[2, 2], device=cpu)";
    expect(t.toString()).toBe(s);
    expect(String(t)).toBe(s);
    expect(inspect(t)).toBe(s);
    expect(tensor([1, 2], { dtype: "int32" }).toString()).toBe("tensor([1, 2], dtype=int32, shape=[2], device=cpu)");
  });

  it("says lazy and does not compute a pending tensor", () => {
    const t = add(tensor([1, 2]), 1);
    expect(t.isRealized).toBe(false);
    expect(inspect(t)).toBe("tensor(<lazy>, dtype=float32, shape=[2], device=cpu)");
    expect(t.toString()).toBe("tensor(<lazy>, dtype=float32, shape=[2], device=cpu)");
    expect(t.isRealized).toBe(false); // printing did not run the graph
    t.dataSync();
    expect(t.toString()).toBe("tensor([2, 3], dtype=float32, shape=[2], device=cpu)");
  });

  it("summarises large tensors NumPy-style (first and last three per axis)", () => {
    const big = reshape(arange(0, 2000), [40, 50]);
    big.dataSync();
    expect(big.size).toBeGreaterThan(SUMMARY_THRESHOLD);
    const s = big.toString();
    const lines = s.split("\n");
    // 3 head rows, a "..." row, 3 tail rows.
    expect(lines).toHaveLength(7);
    expect(lines[0]).toBe("tensor([[   0,    1,    2, ...,   47,   48,   49],");
    expect(lines[3]!.trim()).toBe("...,");
    expect(lines[6]).toBe("        [1950, 1951, 1952, ..., 1997, 1998, 1999]], dtype=float32, shape=[40, 50], device=cpu)");
    // 1000 elements exactly are printed in full.
    const full = arange(0, SUMMARY_THRESHOLD);
    full.dataSync();
    expect(full.toString()).not.toContain("...");
    expect(full.toString()).toContain(" 999]");
  });

  it("prints traced and disposed tensors without reading them", () => {
    let seen = "";
    grad((x: Tensor) => {
      seen = String(x);
      return sum(x);
    })(tensor([1, 2, 3]));
    expect(seen).toBe("tensor(<traced>, dtype=float32, shape=[3], device=cpu)");
    const d = tensor([1]);
    d.dispose();
    expect(String(d)).toBe("tensor(<disposed>, dtype=float32, shape=[1], device=none)");
  });
});

describe("the Tensor brand", () => {
  it("isTensor and instanceof recognise any object carrying the shared brand", () => {
    const t = tensor([1]);
    expect(isTensor(t)).toBe(true);
    expect(t instanceof Tensor).toBe(true);
    for (const x of [1, [1], { shape: [1] }, null, undefined, "t"]) {
      expect(isTensor(x)).toBe(false);
      expect(x instanceof Tensor).toBe(false);
    }
    // Another copy of the library (e.g. the CJS build) brands its tensors with the same registry symbol.
    const foreign = Object.create({ [Symbol.for("tenfold.Tensor")]: true }) as object;
    expect(isTensor(foreign)).toBe(true);
    expect(foreign instanceof Tensor).toBe(true);
  });
});
