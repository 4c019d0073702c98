// Bad input never gives a silent wrong answer: each input listed in issue 12 throws at the call,
// with a documented error class (ShapeError, DTypeError, ValueError; never a bare TypeError), a
// message naming the public function the user called (not an internal one such as full, iota or
// permuteDims), the argument at fault and the allowed range.
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { DTypeError, ShapeError, ValueError, nn, optim, tensor, zeros, ones } from "../../src/index.js";
import { accuracy, confusionMatrix, f1, precision, recall } from "../../src/metrics/index.js";

type ErrorClass = typeof ShapeError | typeof DTypeError | typeof ValueError;

/** Asserts `f` throws an instance of `cls` whose message matches every pattern. */
function throwsWith(f: () => unknown, cls: ErrorClass, ...patterns: RegExp[]): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, "expected a throw").toBeInstanceOf(cls);
  const msg = (err as Error).message;
  for (const p of patterns) expect(msg).toMatch(p);
  expect(msg).not.toMatch(/\b(iota|permuteDims|tree\.map)\b/);
}

const int = (v: number[]): tf.Tensor => tensor(v, { dtype: "int32" });

describe("fractional or NaN indices and bounds", () => {
  it("slice: fractional start", () => throwsWith(() => tf.slice(ones([4]), [0.5], [2]), ShapeError, /^slice:/, /starts/, /whole numbers/, /0\.5/));
  it("slice: NaN end", () => throwsWith(() => tf.slice(ones([4]), [0], [NaN]), ShapeError, /^slice:/, /ends/, /NaN/));
  it("split: fractional section index", () => throwsWith(() => tf.split(ones([4]), [1.5]), ShapeError, /^split:/, /sections/, /1\.5/));
  it("split: NaN section index", () => throwsWith(() => tf.split(ones([4]), [NaN]), ShapeError, /^split:/, /sections/, /NaN/));
  it("split: fractional number of sections", () => throwsWith(() => tf.split(ones([4]), 1.5), ShapeError, /^split:/, /1\.5/));
  it("take: fractional index", () => throwsWith(() => tf.take(ones([4]), [0.5]), DTypeError, /^take:/, /indices/, /whole numbers/, /0\.5/));
  it("take: NaN index", () => throwsWith(() => tf.take(ones([4]), [NaN]), DTypeError, /^take:/, /indices/, /NaN/));
  it("take: float index tensor", () => throwsWith(() => tf.take(ones([4]), tensor([0.5])), DTypeError, /^take:/, /int32/));
  it("take: index out of range", () => throwsWith(() => tf.take(ones([4]), [4]), ShapeError, /^take:/, /index 4/, /size 4/));
  it("takeAlongAxis: fractional index tensor", () => throwsWith(() => tf.takeAlongAxis(ones([2]), tensor([0.5])), DTypeError, /^takeAlongAxis:/, /int32/));
});

describe("tensor, full and shapes", () => {
  it("tensor: an array with holes", () => {
    // eslint-disable-next-line no-sparse-arrays
    throwsWith(() => tensor([1, , 3] as number[]), ShapeError, /^tensor:/, /hole/, /index \[1\]/);
  });
  it("tensor: a nested array with holes", () => {
    throwsWith(
      () =>
        tensor([
          [1, 2],
          // eslint-disable-next-line no-sparse-arrays
          [3, ,],
        ] as number[][]),
      ShapeError,
      /^tensor:/,
    );
  });
  it("tensor: undefined entries", () => throwsWith(() => tensor([1, undefined as unknown as number]), DTypeError, /^tensor:/, /numbers or booleans/));
  it("tensor: int32 overflow", () =>
    throwsWith(() => tensor([3e9], { dtype: "int32" }), ValueError, /^tensor:/, /3000000000/, /int32/, /-2147483648, 2147483647/));
  it("tensor: NaN as int32", () => throwsWith(() => tensor([1, NaN], { dtype: "int32" }), ValueError, /^tensor:/, /NaN/, /int32/));
  it("tensor: a Float32Array overflowing int32", () => throwsWith(() => tensor(new Float32Array([-3e9]), { dtype: "int32" }), ValueError, /^tensor:/, /int32/));
  it("tensor: int32 in range is fine", () => expect(tensor([2147483647, -2147483648], { dtype: "int32" }).arraySync()).toEqual([2147483647, -2147483648]));
  it('full([2], "x")', () => throwsWith(() => tf.full([2], "x" as unknown as number), DTypeError, /^full:/, /value/, /number or a boolean/, /"x"/));
  it("full: int32 overflow", () => throwsWith(() => tf.full([2], 1e10, { dtype: "int32" }), ValueError, /^full:/, /int32/));
  it("more than 2^53 elements", () => throwsWith(() => zeros([2 ** 27, 2 ** 27]), ShapeError, /^zeros:/, /2\^53/));
  it("more than 2^53 elements (ones, full)", () => {
    throwsWith(() => ones([2 ** 30, 2 ** 30]), ShapeError, /^ones:/, /2\^53/);
    throwsWith(() => tf.full([2 ** 30, 2 ** 30], 1), ShapeError, /^full:/, /2\^53/);
  });
  it("more than 2^53 elements from broadcasting, tile, repeat, pad, outer, linspace", () => {
    throwsWith(() => tf.add(ones([2 ** 27, 1]), ones([2 ** 27])), ShapeError, /^add:/, /2\^53/);
    throwsWith(() => tf.broadcastTo(ones([1, 1]), [2 ** 27, 2 ** 27]), ShapeError, /^broadcastTo:/, /2\^53/);
    throwsWith(() => tf.tile(ones([2 ** 27]), [2 ** 27]), ShapeError, /^tile:/, /2\^53/);
    throwsWith(() => tf.repeat(ones([2 ** 27]), 2 ** 27), ShapeError, /^repeat:/, /2\^53/);
    throwsWith(() => tf.pad(ones([2]), [[2 ** 60, 0]]), ShapeError, /^pad:/, /2\^53/);
    throwsWith(() => tf.outer(ones([2 ** 27]), ones([2 ** 27])), ShapeError, /^outer:/, /2\^53/);
    throwsWith(() => tf.linspace(0, 1, 2 ** 60), ShapeError, /^linspace:/, /2\^53/);
  });
  it("non-integer dims", () => {
    throwsWith(() => zeros([1.5]), ShapeError, /^zeros:/, /dimension 0 is 1\.5/, /non-negative integers/);
    throwsWith(() => ones([2, NaN]), ShapeError, /^ones:/, /dimension 1/);
    throwsWith(() => tf.reshape(ones([4]), [1.5, 2]), ShapeError, /^reshape:/);
  });
  it("errors name the public creation function, not full or iota", () => {
    throwsWith(() => tf.zerosLike(ones([2]), { dtype: "int64" as "int32" }), DTypeError, /zerosLike/);
    throwsWith(() => tf.arange(0, 2 ** 60), ShapeError, /^arange:/);
    throwsWith(() => tf.arange(0, NaN), ShapeError, /^arange:/, /finite/);
  });
  it("errors name the public op the user called, not the op it is built from", () => {
    throwsWith(() => tf.dot(ones([2]), ones([3])), ShapeError, /^dot:/, /\[2\]/, /\[3\]/);
    throwsWith(() => tf.mean(ones([2]), { axis: 1 }), ShapeError, /^mean:/, /axis 1/);
    throwsWith(() => tf.var_(ones([2]), { axis: 1 }), ShapeError, /^var_:/, /axis 1/);
    throwsWith(() => nn.softmax(ones([2]), { axis: 2 }), ShapeError, /^softmax:/, /axis 2/, /-1 to 0/);
    throwsWith(() => nn.logSoftmax(ones([2]), { axis: 1.5 }), ShapeError, /^logSoftmax:/, /axis 1\.5/);
    throwsWith(() => tf.broadcastTo(ones([2]), [1.5, 2]), ShapeError, /^broadcastTo:/, /1\.5/);
    throwsWith(() => tf.vmap((a: tf.Tensor) => a, { inAxes: 0.5 })(ones([3])), ShapeError, /^vmap:/, /inAxes/, /0\.5/);
    throwsWith(() => nn.mse(ones([2]), ones([2]), { reduction: "avg" as "mean" }), ValueError, /^mse:/, /reduction "avg"/, /"mean", "sum" or "none"/);
  });
  it("a non-tensor operand is a DTypeError, not a bare TypeError", () => {
    throwsWith(() => tf.add(ones([2]), "a" as unknown as number), DTypeError, /^add:/, /Tensor or a number/);
  });
});

describe("class labels", () => {
  const z = zeros([2, 3]);
  it("sparseSoftmaxCrossEntropy: label out of range", () =>
    throwsWith(() => nn.sparseSoftmaxCrossEntropy(z, int([0, 3])), ValueError, /^sparseSoftmaxCrossEntropy:/, /labels/, /\[0, 3\)/, /got 3/));
  it("sparseSoftmaxCrossEntropy: negative label", () =>
    throwsWith(() => nn.sparseSoftmaxCrossEntropy(z, int([-1, 0])), ValueError, /^sparseSoftmaxCrossEntropy:/, /got -1/));
  it("sparseSoftmaxCrossEntropy: NaN label", () =>
    throwsWith(() => nn.sparseSoftmaxCrossEntropy(z, tensor([NaN, 0])), ValueError, /^sparseSoftmaxCrossEntropy:/, /got NaN/));
  it("sparseSoftmaxCrossEntropy: fractional float label", () =>
    throwsWith(() => nn.sparseSoftmaxCrossEntropy(z, tensor([0, 1.5])), ValueError, /^sparseSoftmaxCrossEntropy:/, /whole numbers/, /got 1\.5/));
  it("sparseSoftmaxCrossEntropy: lazily computed bad labels", () =>
    throwsWith(() => nn.sparseSoftmaxCrossEntropy(z, tf.add(int([0, 1]), 5)), ValueError, /got 5/));
  it("sparseSoftmaxCrossEntropy: labels shape", () =>
    throwsWith(() => nn.sparseSoftmaxCrossEntropy(z, int([0, 1, 2])), ShapeError, /^sparseSoftmaxCrossEntropy:/, /\[3\]/, /\[2, 3\]/));
  it("sparseSoftmaxCrossEntropy: whole-number float labels are accepted", () => {
    expect(nn.sparseSoftmaxCrossEntropy(z, tensor([0, 2])).itemSync()).toBeCloseTo(Math.log(3), 6);
  });
  it("embedding: id out of range", () => {
    const emb = nn.embedding(5, 2);
    const p = emb.init(tf.random.key(0));
    throwsWith(() => emb.apply(p, int([1, 5])), ValueError, /embedding\(5, 2\)/, /ids/, /\[0, 5\)/, /got 5/);
    throwsWith(() => emb.apply(p, int([-1])), ValueError, /embedding/, /got -1/);
    throwsWith(() => emb.apply(p, tensor([NaN])), ValueError, /embedding/, /got NaN/);
    throwsWith(() => emb.apply(p, tensor([0.5])), ValueError, /embedding/, /got 0\.5/);
  });
  it("oneHot: labels out of range, negative, NaN, fractional", () => {
    throwsWith(() => nn.oneHot(int([0, 3]), 3), ValueError, /^oneHot:/, /labels/, /\[0, 3\)/, /got 3/);
    throwsWith(() => nn.oneHot(int([-1]), 3), ValueError, /^oneHot:/, /got -1/);
    throwsWith(() => nn.oneHot(tensor([NaN]), 3), ValueError, /^oneHot:/, /got NaN/);
    throwsWith(() => nn.oneHot(tensor([1.5]), 3), ValueError, /^oneHot:/, /got 1\.5/);
    throwsWith(() => nn.oneHot(int([0]), 0), ValueError, /^oneHot:/, /numClasses/);
  });
  it("confusionMatrix: bad labels and predictions", () => {
    throwsWith(() => confusionMatrix(int([0, 1]), int([0, 3]), 3), ValueError, /^confusionMatrix:/, /labels/, /\[0, 3\)/, /got 3/);
    throwsWith(() => confusionMatrix(int([0, 5]), int([0, 1]), 3), ValueError, /^confusionMatrix:/, /pred/, /got 5/);
    throwsWith(() => confusionMatrix(int([0, 1]), int([0, -1]), 3), ValueError, /^confusionMatrix:/, /got -1/);
    throwsWith(() => confusionMatrix(int([0, 1]), tensor([0, 0.5]), 3), ValueError, /^confusionMatrix:/, /got 0\.5/);
  });
  it("metrics: bad labels", () => {
    throwsWith(() => accuracy(int([0, 1]), int([0, -1])), ValueError, /^accuracy:/, /labels/, /got -1/);
    throwsWith(() => accuracy(int([0, 1]), tensor([0, NaN])), ValueError, /^accuracy:/, /got NaN/);
    throwsWith(() => precision(int([0, 1]), int([0, 2])), ValueError, /^precision:/, /labels/, /\[0, 2\)/, /got 2/);
    throwsWith(() => recall(int([0, 1]), tensor([0, 1.5]), { average: "macro" }), ValueError, /^recall:/, /got 1\.5/);
    throwsWith(() => f1(int([0, 4]), int([0, 1]), { average: "macro", numClasses: 3 }), ValueError, /^f1:/, /pred/, /got 4/);
  });
});

describe("transforms, einsum and optimizers", () => {
  it('einsum("ij->i->j")', () => throwsWith(() => tf.einsum("ij->i->j", ones([2, 2])), ShapeError, /^einsum:/, /"ij->i->j"/, /at most one/));
  it("einsum: repeated output index", () => throwsWith(() => tf.einsum("ij->ii", ones([2, 2])), ShapeError, /^einsum:/, /repeat/));
  it("vmap: outAxes out of range", () =>
    throwsWith(() => tf.vmap((a: tf.Tensor) => a, { outAxes: 5 })(ones([3, 2])), ShapeError, /^vmap:/, /outAxes 5/, /-2 to 1/));
  it("vmap: inAxes out of range", () => throwsWith(() => tf.vmap((a: tf.Tensor) => a, { inAxes: 3 })(ones([3, 2])), ShapeError, /^vmap:/, /inAxes 3/));
  it("jit: staticArgnums past the arguments", () => {
    throwsWith(() => tf.jit((a: tf.Tensor) => a, { staticArgnums: [3] })(ones([2])), ValueError, /^jit\(/, /staticArgnums 3/, /1 argument/, /0 to 0/);
  });
  it("optimizer update with a gradient tree that does not match the state", () => {
    const params = { w: ones([2]), b: ones([3]) };
    const adam = optim.adam({ lr: 0.1 });
    const s = adam.init(params);
    throwsWith(() => adam.update({ w: ones([2]) } as typeof params, s, params), ShapeError, /update/, /structure/, /"w"/);
    throwsWith(() => adam.update({ w: ones([2]), b: ones([4]) }, s, params), ShapeError, /update/, /shape \[4\]/, /\[3\]/);
    const sgd = optim.sgd({ lr: 0.1, momentum: 0.9 });
    throwsWith(() => sgd.update([ones([2]), ones([3])] as unknown as typeof params, sgd.init(params), params), ShapeError, /update/, /structure/);
    throwsWith(() => optim.applyUpdates(params, { w: ones([2]) }), ShapeError, /^applyUpdates/, /structure/);
  });
});

describe("losses do not broadcast predictions against targets", () => {
  it("mse([64, 1], [64]) names both shapes", () => throwsWith(() => nn.mse(zeros([64, 1]), zeros([64])), ShapeError, /^mse:/, /\[64, 1\]/, /\[64\]/));
  it("every elementwise and categorical loss", () => {
    throwsWith(() => nn.mae(zeros([4, 1]), zeros([4])), ShapeError, /^mae:/, /\[4, 1\]/, /\[4\]/);
    throwsWith(() => nn.binaryCrossEntropy(zeros([4]), zeros([1, 4])), ShapeError, /^binaryCrossEntropy:/);
    throwsWith(() => nn.binaryCrossEntropyWithLogits(zeros([4, 1]), zeros([4])), ShapeError, /^binaryCrossEntropyWithLogits:/);
    throwsWith(() => nn.softmaxCrossEntropy(zeros([2, 3]), zeros([3])), ShapeError, /^softmaxCrossEntropy:/);
    throwsWith(() => nn.categoricalCrossEntropy(zeros([2, 3]), zeros([1, 3])), ShapeError, /^categoricalCrossEntropy:/);
  });
  it("a plain number target is still allowed", () => expect(nn.mse(tensor([1, 3]), 1).itemSync()).toBe(2));
});
