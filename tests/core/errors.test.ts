/**
 * Every error of issue 2 (item 9) is thrown at the op call (before any data is read), is a
 * ShapeError or DTypeError, and names the op and the shapes/dtypes/axis at fault. Also: zero-size
 * dimensions are valid, and NaN/±Inf propagate per IEEE without crashing.
 */
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { DTypeError, ShapeError } from "../../src/index.js";
import { assertAllClose } from "../../laws/index.js";

/** Asserts `f` throws `cls` with a message matching every pattern. */
function throwsNaming(f: () => unknown, cls: typeof ShapeError | typeof DTypeError, ...patterns: (string | RegExp)[]): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, "expected a throw").toBeInstanceOf(cls);
  const msg = (err as Error).message;
  for (const p of patterns) {
    if (typeof p === "string") expect(msg).toContain(p);
    else expect(msg).toMatch(p);
  }
}

describe("errors at the op call name the op and the shapes", () => {
  it("broadcast mismatch", () => {
    throwsNaming(() => tf.add(tf.zeros([2, 3]), tf.zeros([4])), ShapeError, "add", "[2, 3]", "[4]", "axis -1");
    throwsNaming(() => tf.where(tf.ones([2], { dtype: "bool" }), tf.zeros([3]), 0), ShapeError, "where", "[2]", "[3]");
    throwsNaming(() => tf.broadcastTo(tf.zeros([3]), [2, 4]), ShapeError, "broadcastTo", "[3]", "[2, 4]");
  });

  it("matmul inner dimensions", () => {
    throwsNaming(() => tf.matmul(tf.zeros([2, 3]), tf.zeros([4, 5])), ShapeError, "matmul", "[2, 3]", "[4, 5]", "3", "4");
    throwsNaming(() => tf.matmul(tf.zeros([3]), tf.zeros([2])), ShapeError, "matmul", "[3]", "[2]");
    throwsNaming(() => tf.matmul(tf.zeros([]), tf.zeros([2])), ShapeError, "matmul", "rank");
  });

  it("reshape size", () => {
    throwsNaming(() => tf.reshape(tf.zeros([2, 3]), [4, 2]), ShapeError, "reshape", "[2, 3]", "[4, 2]", "size 6");
    throwsNaming(() => tf.reshape(tf.zeros([2, 3]), [-1, 4]), ShapeError, "reshape", "[2, 3]", "[-1, 4]");
    throwsNaming(() => tf.reshape(tf.zeros([4]), [-1, -1]), ShapeError, "reshape", "-1");
  });

  it("axis out of range", () => {
    throwsNaming(() => tf.sum(tf.zeros([2, 3]), { axis: 2 }), ShapeError, "sum", "axis 2", "rank 2", "[2, 3]");
    throwsNaming(() => tf.sum(tf.zeros([2, 3]), { axis: -3 }), ShapeError, "sum", "axis -3");
    throwsNaming(() => tf.concat([tf.zeros([2]), tf.zeros([2])], { axis: 1 }), ShapeError, "concat", "axis 1");
    throwsNaming(() => tf.flip(tf.zeros([2, 3]), { axis: 5 }), ShapeError, "flip", "axis 5", "[2, 3]");
    throwsNaming(() => tf.expandDims(tf.zeros([2]), 3), ShapeError, "expandDims", "axis 3");
  });

  it("ragged nested arrays", () => {
    throwsNaming(() => tf.tensor([[1, 2], [3]]), ShapeError, "tensor", "ragged", "index [1]");
    throwsNaming(() => tf.tensor([[1, 2], 3] as never), ShapeError, "tensor", "ragged");
  });

  it("conv channel mismatch and bad conv options", () => {
    throwsNaming(() => tf.conv(tf.zeros([1, 3, 5, 5]), tf.zeros([2, 4, 3, 3])), ShapeError, "conv", "channel", "[1, 3, 5, 5]", "[2, 4, 3, 3]");
    throwsNaming(() => tf.conv(tf.zeros([1, 4, 5]), tf.zeros([3, 2, 3]), { groups: 2 }), ShapeError, "conv", "groups=2");
    throwsNaming(() => tf.conv(tf.zeros([1, 1, 2, 2]), tf.zeros([1, 1, 3, 3])), ShapeError, "conv", "larger");
  });

  it("invalid dtype for an op", () => {
    throwsNaming(() => tf.astype(tf.zeros([1]), "complex64" as never), DTypeError, "complex64");
    // (exp of an int32 tensor is valid: it promotes to float32, as jnp.exp does)
    expect(tf.exp(tf.tensor([1], { dtype: "int32" })).dtype).toBe("float32");
    throwsNaming(() => tf.matmul(tf.ones([2, 2], { dtype: "bool" }), tf.ones([2, 2], { dtype: "bool" })), DTypeError, "matmul", "bool");
    throwsNaming(() => tf.take(tf.tensor([1, 2]), tf.tensor([0.5])), DTypeError, "take", "int32", "float32");
    throwsNaming(() => tf.zeros([2], { dtype: "float64" as never }), DTypeError, "float64");
    throwsNaming(() => tf.conv(tf.zeros([1, 1, 3], { dtype: "int32" }), tf.zeros([1, 1, 1], { dtype: "int32" })), DTypeError, "conv", "int32");
  });

  it("bad pad widths", () => {
    throwsNaming(
      () =>
        tf.pad(tf.zeros([2, 3]), [
          [1, -1],
          [0, 0],
        ]),
      ShapeError,
      "pad",
      "[1, -1]",
      "axis 0",
      "[2, 3]",
    );
    throwsNaming(
      () =>
        tf.pad(tf.zeros([2, 3]), [
          [1, 1],
          [0, 0],
          [2, 2],
        ]),
      ShapeError,
      "pad",
      "3 pad widths",
      "rank 2",
    );
    throwsNaming(() => tf.pad(tf.zeros([2]), [[0.5, 1]]), ShapeError, "pad");
  });

  it("indices out of range: literal indices are checked at the call; lazy ones clamp", () => {
    const x = tf.tensor([10, 20, 30]);
    throwsNaming(() => tf.take(x, [3]), ShapeError, "take", "index 3", "size 3", "[3]");
    throwsNaming(() => tf.take(x, [-4]), ShapeError, "take", "index -4");
    throwsNaming(() => tf.take(tf.zeros([2, 2]), tf.tensor([[2]], { dtype: "int32" }), { axis: 1 }), ShapeError, "take", "index 2", "axis 1");
    throwsNaming(() => tf.takeAlongAxis(tf.zeros([2, 2]), tf.tensor([[0], [5]], { dtype: "int32" }), { axis: 1 }), ShapeError, "takeAlongAxis", "index 5");
    // negative indices wrap
    assertAllClose(tf.take(x, [-1, 0]), [30, 10]);
    // indices computed lazily (not known at the call) are clamped into range, as JAX does
    const lazy = tf.add(tf.tensor([1, 2], { dtype: "int32" }), 5);
    assertAllClose(tf.take(x, lazy), [30, 30]);
  });

  it("errors are thrown before any data is read (the op call, not realization)", () => {
    const a = tf.exp(tf.zeros([2, 3])); // lazy
    expect(a.isRealized).toBe(false);
    expect(() => tf.matmul(a, tf.zeros([2, 3]))).toThrow(ShapeError);
    expect(a.isRealized).toBe(false);
  });
});

describe("zero-size dimensions are valid", () => {
  it("ops on empty tensors", () => {
    const e = tf.zeros([0, 3]);
    expect(tf.add(e, 1).shape).toEqual([0, 3]);
    expect(tf.exp(e).dataSync().length).toBe(0);
    assertAllClose(tf.sum(e, { axis: 0 }), [0, 0, 0]);
    assertAllClose(tf.sum(e), 0);
    assertAllClose(tf.prod(e, { axis: 0 }), [1, 1, 1]);
    expect(tf.sum(e, { axis: 1 }).shape).toEqual([0]);
    expect(tf.matmul(tf.zeros([2, 0]), tf.zeros([0, 3])).arraySync()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(tf.concat([e, tf.ones([1, 3])]).shape).toEqual([1, 3]);
    expect(tf.reshape(e, [3, 0]).shape).toEqual([3, 0]);
    expect(tf.tensor([]).shape).toEqual([0]);
    expect(tf.mean(tf.zeros([0])).dataSync()[0]).toBeNaN();
  });
});

describe("NaN and ±Inf propagate as IEEE says", () => {
  it("arithmetic, reductions and comparisons", () => {
    const x = tf.tensor([NaN, Infinity, -Infinity, 0, 1]);
    const d = Array.from(tf.add(x, 1).dataSync());
    expect(d[0]).toBeNaN();
    expect(d.slice(1)).toEqual([Infinity, -Infinity, 1, 2]);
    expect(Array.from(tf.multiply(x, 0).dataSync()).map((v) => (Number.isNaN(v) ? "nan" : v))).toEqual(["nan", "nan", "nan", 0, 0]);
    expect(tf.divide(1, tf.tensor([0, -0])).arraySync()).toEqual([Infinity, -Infinity]);
    expect(tf.log(tf.tensor([0, -1])).dataSync()[0]).toBe(-Infinity);
    expect(tf.log(tf.tensor([0, -1])).dataSync()[1]).toBeNaN();
    expect(tf.sum(x).dataSync()[0]).toBeNaN();
    expect(tf.sum(tf.tensor([Infinity, 1])).itemSync()).toBe(Infinity);
    expect(tf.max(tf.tensor([1, NaN, 3])).itemSync()).toBeNaN();
    expect(tf.exp(tf.tensor([1000, -1000])).arraySync()).toEqual([Infinity, 0]);
    expect(tf.isnan(x).arraySync()).toEqual([true, false, false, false, false]);
    expect(tf.isfinite(x).arraySync()).toEqual([false, false, false, true, true]);
    expect(tf.equal(x, x).arraySync()).toEqual([false, true, true, true, true]);
    expect(tf.less(tf.tensor([NaN]), 1).arraySync()).toEqual([false]);
    expect(tf.sqrt(tf.tensor([-1])).dataSync()[0]).toBeNaN();
    // logsumexp of -inf entries stays -inf, not NaN
    expect(tf.logsumexp(tf.tensor([-Infinity, -Infinity])).itemSync()).toBe(-Infinity);
  });
});
