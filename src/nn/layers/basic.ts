/**
 * Basic layers: dense, flatten, dropout, embedding.
 */
import type { Tensor } from "../ops.js";
import { ShapeError, add, asTensor, astype, checkLabels, divide, matmul, multiply, random, reshape, take, where } from "../ops.js";
import type { Initializer } from "../initializers.js";
import { glorotUniform, zeros as zerosInit } from "../initializers.js";
import type { Layer, State } from "../layer.js";
import { makeLayer } from "../layer.js";

/** Parameters of `dense`: weight `[in, out]` and bias `[out]` (absent with `useBias: false`). */
export type DenseParams = { readonly w: Tensor; readonly b?: Tensor };

/** Options of `dense`. */
export interface DenseOptions {
  readonly useBias?: boolean;
  /** Default `glorotUniform`. */
  readonly kernelInit?: Initializer;
  /** Default `zeros`. */
  readonly biasInit?: Initializer;
}

/** Throws a ShapeError unless `x`'s axis `axis` has size `want`. */
export function expectAxis(layer: string, x: Tensor, axis: number, want: number, what: string): void {
  const a = axis < 0 ? x.ndim + axis : axis;
  if (a < 0 || a >= x.ndim || x.shape[a] !== want) {
    throw new ShapeError(`${layer}: expected ${what} of size ${want} on axis ${axis}, got input [${x.shape.join(", ")}]`);
  }
}

/**
 * Fully connected layer `x @ w + b` over the last axis (any leading axes).
 * @example
 * ```ts
 * import { nn, random, ones } from "tenfold";
 * const layer = nn.dense(3, 2);
 * const p = layer.init(random.key(0));
 * console.log(layer.apply(p, ones([4, 3])).shape); // [4, 2]
 * ```
 */
export function dense(inFeatures: number, outFeatures: number, options: DenseOptions = {}): Layer<DenseParams, State> {
  const useBias = options.useBias ?? true;
  const kinit = options.kernelInit ?? glorotUniform;
  const binit = options.biasInit ?? zerosInit;
  const name = `dense(${inFeatures}, ${outFeatures})`;
  return makeLayer<DenseParams>({
    name,
    init: (key) => {
      const [kw, kb] = random.split(key, 2);
      const w = kinit(kw!, [inFeatures, outFeatures]);
      return useBias ? { w, b: binit(kb!, [outFeatures]) } : { w };
    },
    forward: (p, x) => {
      expectAxis(name, x, -1, inFeatures, "input features");
      const y = matmul(x, p.w);
      return [p.b !== undefined ? add(y, p.b) : y, undefined];
    },
  });
}

function flattenTensor(x: Tensor): Tensor {
  if (x.ndim < 1) throw new ShapeError("flatten: expected an input with a batch axis, got a scalar");
  return reshape(x, [x.shape[0]!, x.shape.slice(1).reduce((a, b) => a * b, 1)]);
}

/**
 * Flattens every axis after the first (the batch): `[b, ...] => [b, prod(...)]`. Use it as a
 * layer (`nn.flatten()`) or as a plain function (`nn.flatten` in `sequential`, or `nn.flatten(x)`).
 * @example
 * ```ts
 * import { nn, zeros } from "tenfold";
 * console.log(nn.flatten().apply({}, zeros([2, 3, 4])).shape); // [2, 12]
 * console.log(nn.flatten(zeros([2, 3, 4])).shape); // [2, 12]
 * ```
 */
export function flatten(): Layer<Record<string, never>, State>;
export function flatten(x: Tensor): Tensor;
export function flatten(x?: Tensor): Layer<Record<string, never>, State> | Tensor {
  if (x !== undefined) return flattenTensor(x);
  return makeLayer<Record<string, never>>({
    name: "flatten",
    init: () => ({}),
    forward: (_p, v) => [flattenTensor(v), undefined],
  });
}

/**
 * Inverted dropout: in training, zeroes each element with probability `rate` and scales the rest
 * by `1 / (1 - rate)`; the identity otherwise. Training with `rate > 0` needs `{ key }`.
 * @example
 * ```ts
 * import { nn, random, ones } from "tenfold";
 * const d = nn.dropout(0.5);
 * const y = d.apply({}, ones([1000]), { training: true, key: random.key(1) });
 * console.log(d.apply({}, ones([2])).arraySync()); // [1, 1] (identity outside training)
 * ```
 */
export function dropout(rate: number): Layer<Record<string, never>, State> {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
  return makeLayer<Record<string, never>>({
    name: `dropout(${rate})`,
    init: () => ({}),
    forward: (_p, x, options) => {
      if (!options.training || rate === 0) return [x, undefined];
      if (options.key === undefined) throw new TypeError("dropout: training mode needs a random key: apply(params, x, { training: true, key })");
      const keep = random.bernoulli(options.key, 1 - rate, x.shape);
      return [where(keep, divide(x, 1 - rate), 0), undefined];
    },
  });
}

/** Parameters of `embedding`: the table `[vocab, dim]`. */
export type EmbeddingParams = { readonly table: Tensor };

/**
 * Embedding lookup: integer ids `[...]` become vectors `[..., dim]`. The table starts as
 * normal samples with standard deviation `1/√dim`. Ids known at the call must be whole numbers
 * in `[0, vocab)` (else a ValueError; JAX would clamp them silently).
 * @example
 * ```ts
 * import { nn, random, tensor } from "tenfold";
 * const emb = nn.embedding(10, 4);
 * const p = emb.init(random.key(0));
 * console.log(emb.apply(p, tensor([[1, 2, 3]], { dtype: "int32" })).shape); // [1, 3, 4]
 * ```
 */
export function embedding(vocab: number, dim: number): Layer<EmbeddingParams, State> {
  return makeLayer<EmbeddingParams>({
    name: `embedding(${vocab}, ${dim})`,
    init: (key) => ({ table: multiply(random.normal(key, [vocab, dim]), 1 / Math.sqrt(dim)) }),
    forward: (p, x) => {
      const ids = asTensor(x, "embedding");
      checkLabels(`embedding(${vocab}, ${dim}).apply`, "ids", ids, vocab);
      return [take(p.table, astype(ids, "int32"), { axis: 0 }), undefined];
    },
  });
}
