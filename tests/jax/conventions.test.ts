// JAX's numerics and conventions, one named test per behaviour of issue 12 (hand-checked values
// from JAX 0.10 on CPU; the differential suite covers the same ground case by case): NaN/Inf
// propagation, float32-range stability of values and gradients, gelu/leakyRelu/elu/silu/maxPool
// conventions, and the JAX behaviours jax-style code relies on. Run on reference and cpu.
import { describe, expect, it } from "vitest";
import * as tf from "../../src/index.js";
import { grad, jit, nn, sum, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

const vals = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);
const gradOf = (f: (x: Tensor) => Tensor, x: number[]): number[] => vals(grad((v: Tensor) => sum(f(v)))(tensor(x)));
const rel = (got: number, want: number, r = 1e-5): void => expect(Math.abs(got - want) <= r * Math.abs(want), `got ${got}, want ${want}`).toBe(true);

for (const backend of ["reference", "cpu"] as const) {
  describe(`JAX numerics on ${backend}`, () => {
    const use = async (): Promise<void> => {
      await tf.setBackend(backend);
    };

    it("NaN propagates through every activation (nn.relu(NaN) is NaN)", async () => {
      await use();
      const x = tensor([NaN]);
      const fs: [string, (t: Tensor) => Tensor][] = [
        ["relu", nn.relu],
        ["leakyRelu", (t) => nn.leakyRelu(t)],
        ["sigmoid", nn.sigmoid],
        ["tanh", nn.tanh],
        ["gelu", (t) => nn.gelu(t)],
        ["gelu exact", (t) => nn.gelu(t, { approximate: false })],
        ["silu", nn.silu],
        ["elu", (t) => nn.elu(t)],
        ["softplus", nn.softplus],
        ["step", nn.step],
        ["softmax", (t) => nn.softmax(t)],
        ["logSoftmax", (t) => nn.logSoftmax(t)],
      ];
      for (const [name, f] of fs) {
        expect(Number.isNaN(vals(f(x))[0]), name).toBe(true);
        expect(Number.isNaN(vals(jit(f)(x))[0]), `${name} (jit)`).toBe(true);
      }
    });

    it("NaN propagates through clip, maximum and minimum", async () => {
      await use();
      expect(vals(tf.clip(tensor([NaN, -2, 2]), { min: -1, max: 1 }))).toEqual([NaN, -1, 1]);
      expect(vals(tf.maximum(tensor([NaN, 1]), tensor([0, NaN])))).toEqual([NaN, NaN]);
      expect(vals(tf.minimum(tensor([NaN, 1]), tensor([0, NaN])))).toEqual([NaN, NaN]);
      expect(vals(tf.max(tensor([1, NaN, 3])))).toEqual([NaN]);
      expect(vals(nn.relu(tensor([-Infinity, Infinity])))).toEqual([0, Infinity]);
    });

    it("softplus and its gradient do not underflow for large negative inputs", async () => {
      await use();
      const y = vals(nn.softplus(tensor([-30, -50, -Infinity, Infinity, 0])));
      rel(y[0]!, 9.357623e-14);
      rel(y[1]!, 1.9287499e-22);
      expect(y.slice(2, 4)).toEqual([0, Infinity]);
      rel(y[4]!, Math.LN2, 1e-6);
      const g = gradOf(nn.softplus, [-30, -50, -Infinity, Infinity, 0]);
      rel(g[0]!, 9.357623e-14);
      rel(g[1]!, 1.9287499e-22);
      expect(g.slice(2)).toEqual([0, 1, 0.5]);
    });

    it("softplus is one fused kernel with one exp and one log1p; its second derivative is sigmoid'", async () => {
      await use();
      const ops = jit(nn.softplus)
        .lower(tensor([1, 2, 3]))
        .kernels.flatMap((k) => k.ops);
      expect(ops.filter((p) => p === "exp").length).toBe(1);
      expect(ops.filter((p) => p === "log1p").length).toBe(1);
      const x = [-3, -0.5, 0, 0.5, 3];
      const d2 = vals(grad((v: Tensor) => sum(grad((u: Tensor) => sum(nn.softplus(u)))(v)))(tensor(x)));
      x.forEach((v, i) => rel(d2[i]!, Math.exp(-Math.abs(v)) / (1 + Math.exp(-Math.abs(v))) ** 2, 1e-5));
    });

    it("binaryCrossEntropyWithLogits at logit +30 is 9.4e-14, not 0 (and its gradient)", async () => {
      await use();
      const f = (z: Tensor): Tensor => nn.binaryCrossEntropyWithLogits(z, tensor([1, 0]), { reduction: "none" });
      const v = vals(f(tensor([30, -30])));
      rel(v[0]!, 9.357623e-14);
      rel(v[1]!, 9.357623e-14);
      const g = gradOf(f, [30, -30]);
      rel(g[0]!, -9.357623e-14);
      rel(g[1]!, 9.357623e-14);
    });

    it("exact gelu is accurate in the far left tail (erfc form), values and gradients", async () => {
      await use();
      const f = (t: Tensor): Tensor => nn.gelu(t, { approximate: false });
      const v = vals(f(tensor([-10, -5, 1])));
      rel(v[0]!, -7.619853e-23, 1e-4);
      rel(v[1]!, -1.4332579e-6, 1e-4);
      rel(v[2]!, 0.8413447, 1e-6);
      const g = gradOf(f, [-10, 0]);
      rel(g[0]!, -7.6184e-22, 1e-3); // JAX: d/dx x·Φ(x) = Φ(x) + x φ(x) at -10
      expect(g[1]).toBe(0.5);
    });

    it("gelu defaults to JAX's tanh approximation", async () => {
      await use();
      const x = tensor([-3, -1, 0.5, 2]);
      const approx = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
      vals(nn.gelu(x)).forEach((v, i) => rel(v, approx([-3, -1, 0.5, 2][i]!), 5e-5));
      expect(vals(nn.gelu(x))).toEqual(vals(nn.gelu(x, { approximate: true })));
      expect(vals(nn.gelu(x))).not.toEqual(vals(nn.gelu(x, { approximate: false })));
    });

    it("logsumexp and logSoftmax with -Infinity entries and all -Infinity rows match JAX", async () => {
      await use();
      const x = tensor([
        [-Infinity, 0],
        [-Infinity, -Infinity],
      ]);
      expect(vals(tf.logsumexp(x, { axis: -1 }))).toEqual([0, -Infinity]);
      const l = vals(nn.logSoftmax(x));
      expect(l.slice(0, 2)).toEqual([-Infinity, 0]);
      expect(l.slice(2).every(Number.isNaN)).toBe(true); // JAX: NaN (-inf - -inf)
      expect(vals(grad((v: Tensor) => sum(tf.logsumexp(v, { axis: -1 })))(tensor([[-Infinity, 0]])))).toEqual([0, 1]);
    });

    it("sigmoid and logSoftmax are finite and accurate at the ends of the float32 range", async () => {
      await use();
      const s = vals(nn.sigmoid(tensor([-88, 88, -3e38, 3e38])));
      rel(s[0]!, 6.0546014e-39, 1e-3);
      expect(s.slice(1)).toEqual([1, 0, 1]);
      expect(vals(nn.logSoftmax(tensor([3e38, -3e38])))).toEqual([0, -Infinity]);
    });

    it("gradients at 0: relu 0, leakyRelu 1, elu 1, silu 0.5, softplus 0.5", async () => {
      await use();
      expect(gradOf(nn.relu, [0])).toEqual([0]);
      expect(gradOf((t) => nn.leakyRelu(t), [0])).toEqual([1]);
      expect(gradOf((t) => nn.elu(t), [0])).toEqual([1]);
      expect(gradOf(nn.silu, [0])).toEqual([0.5]);
      expect(gradOf(nn.softplus, [0])).toEqual([0.5]);
    });

    it("maxPool sends a tied window's gradient to its first maximum", async () => {
      await use();
      const g = vals(
        grad((x: Tensor) => sum(tf.maxPool(x, [2, 2])))(
          tensor([
            [
              [
                [1, 1, 5, 5],
                [1, 0, 5, 5],
              ],
            ],
          ]),
        ),
      );
      expect(g).toEqual([1, 0, 1, 0, 0, 0, 0, 0]);
      const j = vals(jit(grad((x: Tensor) => sum(tf.maxPool(x, [1, 3], { strides: [1, 1] }))))(tensor([[[[2, 2, 2, 1]]]])));
      expect(j).toEqual([1, 1, 0, 0]);
    });

    it("arange(0, -10, -2) has no -0", async () => {
      await use();
      const a = vals(tf.arange(0, -10, -2));
      expect(a).toEqual([0, -2, -4, -6, -8]);
      expect(Object.is(a[0], -0)).toBe(false);
    });

    it("vmap with object inAxes containing null (prefix trees)", async () => {
      await use();
      const f = (a: { x: Tensor; y: Tensor }): Tensor => tf.add(a.x, a.y);
      const x = tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      const y = tensor([10, 20]);
      expect(
        tf
          .vmap(f, { inAxes: [{ x: 0, y: null }] })({ x, y })
          .arraySync(),
      ).toEqual([
        [11, 22],
        [13, 24],
        [15, 26],
      ]);
      expect(
        tf
          .vmap(f, { inAxes: { x: 0, y: null } })({ x, y })
          .arraySync(),
      ).toEqual([
        [11, 22],
        [13, 24],
        [15, 26],
      ]);
      const g = (a: { x: Tensor; y: Tensor }, b: Tensor): Tensor => tf.multiply(tf.add(a.x, a.y), b);
      expect(
        tf
          .vmap(g, { inAxes: [{ x: 1, y: null }, null] })({ x: tf.permuteDims(x, [1, 0]), y }, tensor(2))
          .arraySync(),
      ).toEqual([
        [22, 44],
        [26, 48],
        [30, 52],
      ]);
    });

    it("conv with zero spatial dims gives an empty output", async () => {
      await use();
      expect(tf.conv(tf.ones([1, 2, 0, 4]), tf.ones([3, 2, 1, 1])).shape).toEqual([1, 3, 0, 4]);
      expect(tf.conv(tf.ones([1, 2, 0, 4]), tf.ones([3, 2, 2, 2]), { padding: "SAME" }).shape).toEqual([1, 3, 0, 4]);
      expect(tf.conv(tf.ones([0, 2, 5, 4]), tf.ones([3, 2, 2, 2])).shape).toEqual([0, 3, 4, 3]);
      expect(tf.conv(tf.ones([2, 2, 0]), tf.ones([3, 2, 3])).shape).toEqual([2, 3, 0]);
      expect(grad((x: Tensor) => sum(tf.conv(x, tf.ones([3, 2, 1, 1]))))(tf.ones([1, 2, 0, 4])).shape).toEqual([1, 2, 0, 4]);
      expect(tf.maxPool(tf.ones([1, 1, 0, 4]), [2, 2]).shape).toEqual([1, 1, 0, 2]);
      expect(tf.avgPool(tf.ones([1, 1, 4, 0]), [2, 2]).shape).toEqual([1, 1, 2, 0]);
    });

    it("softmax of an empty axis, cumsum of a 0-d tensor", async () => {
      await use();
      expect(nn.softmax(tf.zeros([2, 0])).shape).toEqual([2, 0]);
      expect(nn.logSoftmax(tf.zeros([0]), { axis: 0 }).shape).toEqual([0]);
      expect(vals(tf.logsumexp(tf.zeros([2, 0]), { axis: 1 }))).toEqual([-Infinity, -Infinity]);
      const c = tf.cumsum(tensor(3.5));
      expect(c.shape).toEqual([1]);
      expect(vals(c)).toEqual([3.5]);
    });

    it("einsum broadcasts size-1 repeated indices", async () => {
      await use();
      expect(tf.einsum("ij,ij->ij", tensor([[1], [2]]), tf.ones([2, 3])).arraySync()).toEqual([
        [1, 1, 1],
        [2, 2, 2],
      ]);
      expect(tf.einsum("ij,kj->ik", tensor([[1], [2]]), tf.ones([2, 3])).arraySync()).toEqual([
        [3, 3],
        [6, 6],
      ]);
      expect(tf.einsum("i,i->", tensor([2]), tensor([1, 2, 3])).arraySync()).toEqual(12);
    });
  });
}
