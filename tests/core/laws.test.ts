/**
 * Property tests of the core (issue 2): broadcasting laws, movement round trips, algebraic laws
 * generated from primitive metadata (META: commutative, associative, identity, involution, linear),
 * concat/split inverses, einsum against matmul/tensordot/dot. PROPS_RUNS scales the run count;
 * fast-check prints the seed of a failure.
 */
import fc from "fast-check";
import { yielding } from "../yielding.js";
import { describe, expect, it, vi } from "vitest";
import type { Tensor } from "../../src/index.js";
import * as tf from "../../src/index.js";
import { META } from "../../src/internals.js";
import type { BinaryPrim, UnaryPrim } from "../../src/core/primitives.js";
import { BINARY, UNARY } from "../../src/core/primitives.js";
import { broadcastShapes } from "../../src/core/shape.js";
import { arb, assertAllClose } from "../../laws/index.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 25);
// thousand-run property sessions (npm run test:props) need more than the default timeout
vi.setConfig({ testTimeout: Math.max(60_000, RUNS * 1_000) });
const opts = { numRuns: RUNS };

/** The public op behind each binary primitive (a missing row is a compile error). */
const BINARY_OPS: { readonly [P in BinaryPrim]: (a: Tensor, b: Tensor) => Tensor } = {
  add: tf.add,
  mul: tf.multiply,
  div: tf.divide,
  pow: tf.pow,
  max: tf.maximum,
  min: tf.minimum,
  eq: tf.equal,
  ne: tf.notEqual,
  lt: tf.less,
  le: tf.lessEqual,
};
/** The public op behind each unary primitive. */
const UNARY_OPS: { readonly [P in UnaryPrim]: (x: Tensor) => Tensor } = {
  neg: tf.negative,
  exp: tf.exp,
  log: tf.log,
  expm1: tf.expm1,
  log1p: tf.log1p,
  sin: tf.sin,
  cos: tf.cos,
  tanh: tf.tanh,
  sqrt: tf.sqrt,
  floor: tf.floor,
  round: tf.round,
  erf: tf.erf,
};

const shape2 = arb.shape({ minRank: 0, maxRank: 3, maxDim: 4 });
const numeric = fc.constantFrom<"float32" | "int32">("float32", "int32");

/** Tensors of one shared random shape and dtype. */
function sameShaped(n: number, dtype: fc.Arbitrary<"float32" | "int32" | "bool"> = numeric, min = -4, max = 4): fc.Arbitrary<Tensor[]> {
  return fc.tuple(shape2, dtype).chain(([s, d]) => fc.array(arb.tensor({ shape: s, dtype: d, min, max }), { minLength: n, maxLength: n }));
}

describe("algebraic laws from META", () => {
  for (const p of BINARY) {
    const m = META[p];
    const f = BINARY_OPS[p];
    if (m.commutative) {
      it(`${p} is commutative (exactly)`, async () => {
        await fc.assert(
          yielding(sameShaped(2), ([a, b]) => assertAllClose(f(a!, b!), f(b!, a!), { atol: 0, rtol: 0 })),
          opts,
        );
      });
    }
    if (m.associative) {
      it(`${p} is associative (exact for int32, within tolerance for float32)`, async () => {
        await fc.assert(
          yielding(sameShaped(3), ([a, b, c]) => {
            assertAllClose(f(f(a!, b!), c!), f(a!, f(b!, c!)), { atol: 1e-5, rtol: 1e-5 });
          }),
          opts,
        );
      });
    }
    if (m.identity !== undefined) {
      it(`${p} has identity ${m.identity}`, async () => {
        await fc.assert(
          yielding(sameShaped(1, fc.constant("float32")), ([a]) => {
            assertAllClose(f(a!, tf.fullLike(a!, m.identity!)), a!, { atol: 0, rtol: 0 });
            assertAllClose(f(tf.fullLike(a!, m.identity!), a!), a!, { atol: 0, rtol: 0 });
          }),
          opts,
        );
      });
    }
    if (m.predicate) {
      it(`${p} returns bool`, async () => {
        await fc.assert(
          yielding(sameShaped(2), ([a, b]) => {
            expect(f(a!, b!).dtype).toBe("bool");
          }),
          { numRuns: Math.min(RUNS, 10) },
        );
      });
    }
  }

  for (const p of UNARY) {
    if (!META[p].involution) continue;
    it(`${p} is an involution`, async () => {
      await fc.assert(
        yielding(sameShaped(1), ([a]) => assertAllClose(UNARY_OPS[p](UNARY_OPS[p](a!)), a!, { atol: 0, rtol: 0 })),
        opts,
      );
    });
  }

  it("flip is an involution", async () => {
    await fc.assert(
      yielding(sameShaped(1), ([a]) => assertAllClose(tf.flip(tf.flip(a!)), a!, { atol: 0, rtol: 0 })),
      opts,
    );
  });

  it("reductions with an identity return it over an empty axis (sum 0, prod 1)", async () => {
    const empty = tf.zeros([2, 0, 3]);
    expect(META.sum.identity).toBe(0);
    expect(META.prod.identity).toBe(1);
    assertAllClose(tf.sum(empty, { axis: 1 }), tf.full([2, 3], META.sum.identity!));
    assertAllClose(tf.prod(empty, { axis: 1 }), tf.full([2, 3], META.prod.identity!));
    assertAllClose(tf.sum(tf.zeros([0])), 0);
    expect(tf.sum(empty, { axis: 1, keepdims: true }).shape).toEqual([2, 1, 3]);
    // max/min have no finite identity: an empty max is a ShapeError at the call
    expect(() => tf.max(empty, { axis: 1 })).toThrow(/max: cannot reduce over axis 1 of size 0 \(shape \[2, 0, 3\]\)/);
  });

  it("linear primitives are linear: f(a x + b y) = a f(x) + b f(y)", async () => {
    const linearOps: { [name: string]: (x: Tensor) => Tensor } = {
      neg: tf.negative,
      sum: (x) => tf.sum(x, { axis: 0 }),
      cumsum: (x) => tf.cumsum(x, { axis: 1 }),
      reshape: (x) => tf.reshape(x, [-1]),
      permute: (x) => tf.permuteDims(x, [1, 0]),
      broadcast: (x) => tf.broadcastTo(x, [2, 3, 4]),
      slice: (x) => tf.slice(x, [1, 0], [3, 4], { strides: [1, 3] }),
      flip: (x) => tf.flip(x, { axis: 0 }),
    };
    for (const name of Object.keys(linearOps)) expect(META[name as "neg"].linear, name).toBe(true);
    await fc.assert(
      yielding(arb.tensor({ shape: [3, 4] }), arb.tensor({ shape: [3, 4] }), fc.integer({ min: -3, max: 3 }), fc.integer({ min: -3, max: 3 }), (x, y, a, b) => {
        for (const [name, f] of Object.entries(linearOps)) {
          const lhs = f(tf.add(tf.multiply(x, a), tf.multiply(y, b)));
          const rhs = tf.add(tf.multiply(f(x), a), tf.multiply(f(y), b));
          assertAllClose(lhs, rhs, { atol: 1e-5, rtol: 1e-5, what: name });
        }
      }),
      opts,
    );
  });
});

describe("broadcasting laws", () => {
  const pair = arb.broadcastableShapes(2).chain((ss) => fc.tuple(arb.tensor({ shape: ss[0]! }), arb.tensor({ shape: ss[1]! })));

  it("the result shape is broadcastShapes, symmetric, and equals explicit broadcastTo", async () => {
    await fc.assert(
      yielding(pair, ([a, b]) => {
        const s = broadcastShapes("test", a.shape, b.shape);
        const c = tf.add(a, b);
        expect(c.shape).toEqual(s);
        expect(tf.multiply(b, a).shape).toEqual(s);
        assertAllClose(c, tf.add(tf.broadcastTo(a, s), tf.broadcastTo(b, s)), { atol: 0, rtol: 0 });
      }),
      opts,
    );
  });

  it("broadcasting three shapes is associative", async () => {
    await fc.assert(
      yielding(arb.broadcastableShapes(3), (ss) => {
        const [a, b, c] = ss.map((s) => tf.ones(s));
        expect(tf.add(tf.add(a!, b!), c!).shape).toEqual(tf.add(a!, tf.add(b!, c!)).shape);
        expect(tf.add(tf.add(a!, b!), c!).shape).toEqual(broadcastShapes("t", ...ss));
      }),
      opts,
    );
  });

  it("weak scalars keep the tensor's dtype (and a fractional one promotes int32 to float32)", async () => {
    await fc.assert(
      yielding(arb.tensor({ shape: shape2, dtype: "int32" }), fc.integer({ min: -5, max: 5 }), (x, k) => {
        expect(tf.add(x, k).dtype).toBe("int32");
        expect(tf.add(x, k + 0.5).dtype).toBe("float32");
        expect(tf.add(tf.astype(x, "float32"), k).dtype).toBe("float32");
        expect(tf.add(tf.astype(x, "bool"), 1).dtype).toBe("int32");
      }),
      { numRuns: Math.min(RUNS, 10) },
    );
  });
});

describe("movement round trips", () => {
  const anyTensor = arb.tensor({ shape: arb.shape({ minRank: 1, maxRank: 4, maxDim: 4 }), dtype: arb.dtype });

  it("reshape there and back", async () => {
    await fc.assert(
      yielding(anyTensor, fc.nat(), (x, k) => {
        // a random factorization of the size
        const n = x.size;
        const divs = Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
        const d = divs[k % divs.length]!;
        const y = tf.reshape(x, [d, -1]);
        expect(y.shape).toEqual([d, n / d]);
        assertAllClose(tf.reshape(y, x.shape), x, { atol: 0, rtol: 0 });
      }),
      opts,
    );
  });

  it("permuteDims by a permutation and its inverse", async () => {
    await fc.assert(
      yielding(
        anyTensor.chain((x) =>
          fc.tuple(
            fc.constant(x),
            fc.shuffledSubarray(
              Array.from({ length: x.ndim }, (_, i) => i),
              { minLength: x.ndim, maxLength: x.ndim },
            ),
          ),
        ),
        ([x, perm]) => {
          const inv = new Array<number>(perm.length);
          perm.forEach((p, i) => (inv[p] = i));
          const y = tf.permuteDims(x, perm);
          expect(y.shape).toEqual(perm.map((p) => x.shape[p]));
          assertAllClose(tf.permuteDims(y, inv), x, { atol: 0, rtol: 0 });
        },
      ),
      opts,
    );
  });

  it("expandDims then squeeze; broadcastTo then sum counts the copies", async () => {
    await fc.assert(
      yielding(anyTensor, fc.nat(), fc.integer({ min: 1, max: 3 }), (x, k, rep) => {
        const axis = k % (x.ndim + 1);
        const e = tf.expandDims(x, axis);
        expect(e.shape[axis]).toBe(1);
        assertAllClose(tf.squeeze(e, { axis }), x, { atol: 0, rtol: 0 });
        if (x.dtype === "float32") {
          const b = tf.broadcastTo(x, [rep, ...x.shape]);
          assertAllClose(tf.sum(b, { axis: 0 }), tf.multiply(x, rep), { atol: 1e-5, rtol: 1e-5 });
        }
      }),
      opts,
    );
  });

  it("flip along an axis twice is the identity; flip reverses index order", async () => {
    await fc.assert(
      yielding(anyTensor, fc.nat(), (x, k) => {
        const axis = k % x.ndim;
        assertAllClose(tf.flip(tf.flip(x, { axis }), { axis }), x, { atol: 0, rtol: 0 });
        const n = x.shape[axis]!;
        const rev = tf.take(
          x,
          Array.from({ length: n }, (_, i) => n - 1 - i),
          { axis },
        );
        assertAllClose(tf.flip(x, { axis }), rev, { atol: 0, rtol: 0 });
      }),
      opts,
    );
  });
});

describe("concat and split are inverse", () => {
  it("split(concat(xs)) = xs and concat(split(x)) = x", async () => {
    const parts = fc
      .tuple(arb.shape({ minRank: 1, maxRank: 3, maxDim: 3 }), fc.nat(), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }))
      .chain(([s, k, sizes]) => {
        const axis = k % s.length;
        return fc.tuple(fc.constant(axis), fc.tuple(...sizes.map((n) => arb.tensor({ shape: s.map((d, i) => (i === axis ? n : d)) }))));
      });
    await fc.assert(
      yielding(parts, ([axis, xs]) => {
        const c = tf.concat(xs, { axis });
        const cuts: number[] = [];
        let acc = 0;
        for (const x of xs.slice(0, -1)) cuts.push((acc += x.shape[axis]!));
        const back = tf.split(c, cuts, { axis });
        expect(back.length).toBe(xs.length);
        back.forEach((b, i) => assertAllClose(b, xs[i]!, { atol: 0, rtol: 0 }));
        assertAllClose(tf.concat(back, { axis }), c, { atol: 0, rtol: 0 });
        // equal sections
        const n = c.shape[axis]!;
        if (n > 0) assertAllClose(tf.concat(tf.split(c, n, { axis }), { axis }), c, { atol: 0, rtol: 0 });
      }),
      opts,
    );
  });
});

describe("einsum against matmul, tensordot and dot", () => {
  const dim = fc.integer({ min: 1, max: 4 });
  it("ij,jk->ik = matmul; bij,bjk->bik = batched matmul; i,i-> = dot", async () => {
    await fc.assert(
      yielding(dim, dim, dim, dim, fc.nat(), (i, j, k, b, seed) => {
        const [x, y, bx, by, v, w] = fc.sample(
          fc.tuple(
            arb.tensor({ shape: [i, j] }),
            arb.tensor({ shape: [j, k] }),
            arb.tensor({ shape: [b, i, j] }),
            arb.tensor({ shape: [b, j, k] }),
            arb.tensor({ shape: [j] }),
            arb.tensor({ shape: [j] }),
          ),
          { numRuns: 1, seed },
        )[0]!;
        assertAllClose(tf.einsum("ij,jk->ik", x, y), tf.matmul(x, y), { atol: 1e-5, rtol: 1e-5 });
        assertAllClose(tf.einsum("bij,bjk->bik", bx, by), tf.matmul(bx, by), { atol: 1e-5, rtol: 1e-5 });
        assertAllClose(tf.einsum("ij,kj->ik", x, tf.matrixTranspose(y)), tf.matmul(x, y), { atol: 1e-5, rtol: 1e-5 });
        assertAllClose(tf.einsum("i,i->", v, w), tf.dot(v, w), { atol: 1e-5, rtol: 1e-5 });
        assertAllClose(tf.einsum("ij->ji", x), tf.matrixTranspose(x), { atol: 0, rtol: 0 });
        assertAllClose(tf.einsum("ij->", x), tf.sum(x), { atol: 1e-5, rtol: 1e-5 });
      }),
      opts,
    );
  });

  it("ijk,jkl->il = tensordot(axes 2); i,j->ij = outer", async () => {
    await fc.assert(
      yielding(arb.tensor({ shape: [2, 3, 2] }), arb.tensor({ shape: [3, 2, 4] }), arb.tensor({ shape: [3] }), (a, b, v) => {
        assertAllClose(tf.einsum("ijk,jkl->il", a, b), tf.tensordot(a, b, { axes: 2 }), { atol: 1e-5, rtol: 1e-5 });
        assertAllClose(
          tf.einsum("ijk,jkl->il", a, b),
          tf.tensordot(a, b, {
            axes: [
              [1, 2],
              [0, 1],
            ],
          }),
          { atol: 1e-5, rtol: 1e-5 },
        );
        assertAllClose(tf.einsum("i,j->ij", v, v), tf.outer(v, v), { atol: 1e-6, rtol: 1e-6 });
      }),
      opts,
    );
  });
});
