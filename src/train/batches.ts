/**
 * Mini-batching over a pytree of equal-length tensors: `batches(key, data, batchSize, options)`
 * yields pytrees of the same structure whose leaves are row subsets, shuffled with a key.
 */
import { Tensor } from "../core/tensor.js";
import * as tree from "../core/tree.js";
import { arange, tensor } from "../ops/creation.js";
import { take } from "../ops/shape.js";
import type { Key } from "../random/index.js";
import { permutation } from "../random/index.js";

/** Options of `batches`. */
export interface BatchOptions {
  /** Visit the samples in a random order drawn from the key (default true). */
  readonly shuffle?: boolean;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  readonly dropLast?: boolean;
}

/**
 * The number of samples in a data pytree: the common leading dimension of its leaves. Throws
 * when leaves disagree or a leaf is a scalar.
 * @example
 * ```ts
 * import { zeros } from "tenfold";
 * import { numSamples } from "tenfold/train";
 * console.log(numSamples({ x: zeros([5, 3]), y: zeros([5]) })); // 5
 * ```
 */
export function numSamples(data: unknown): number {
  const leaves = tree.leaves(data);
  if (leaves.length === 0) throw new Error("batches: the data has no tensors");
  let n: number | undefined;
  leaves.forEach((l, i) => {
    if (!(l instanceof Tensor) || l.ndim === 0)
      throw new Error(`batches: data leaf ${i} must be a tensor with a leading sample axis, got ${l instanceof Tensor ? "a scalar tensor" : typeof l}`);
    if (n === undefined) n = l.shape[0]!;
    else if (l.shape[0] !== n)
      throw new Error(`batches: data leaves have different lengths: leaf 0 has ${n} samples, leaf ${i} has ${l.shape[0]} (shape [${l.shape.join(", ")}])`);
  });
  return n!;
}

/**
 * Number of batches per pass over `n` samples.
 * @example
 * ```ts
 * import { batchCount } from "tenfold/train";
 * console.log(batchCount(10, 4, false), batchCount(10, 4, true)); // 3 2
 * ```
 */
export function batchCount(n: number, batchSize: number, dropLast: boolean): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/**
 * Iterates over mini-batches of `data` (a pytree of tensors with equal leading dimension): each
 * sample appears exactly once per pass (the last batch may be smaller unless `dropLast`).
 * `key` may be null when `shuffle` is false. Validates the data at once, not on first use.
 * Synchronous: on WebGPU shuffle with `Dataset` (or let `fit` batch), which read asynchronously.
 * @example
 * ```ts
 * import { random, arange } from "tenfold";
 * import { batches } from "tenfold/train";
 * const data = { x: arange(10) };
 * const sizes = [...batches(random.key(0), data, 4)].map((b) => b.x.shape[0]);
 * console.log(sizes); // [4, 4, 2]
 * ```
 */
export function batches<B>(key: Key | null | undefined, data: B, batchSize: number, options: BatchOptions = {}): IterableIterator<B> {
  const { shuffle = true, dropLast = false } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batches: batchSize must be a positive integer, got ${batchSize}`);
  const n = numSamples(data);
  if (shuffle && !(key instanceof Tensor)) throw new TypeError("batches: shuffling needs a key (random.key(seed)); pass { shuffle: false } to keep the order");
  let order: Int32Array | undefined;
  if (shuffle) {
    try {
      (key as Tensor).dataSync(); // a concrete key: the permutation is drawn on the host
      order = permutation(key as Tensor, n).dataSync() as Int32Array;
    } catch (e) {
      throw new Error(
        `batches: shuffling reads the permutation synchronously, which this backend cannot (${(e as Error).message.split(".")[0]}); ` +
          "use Dataset.fromArrays(data).shuffle(key).batch(n) (asynchronous) or fit, which shuffle on every backend",
      );
    }
  }
  const count = batchCount(n, batchSize, dropLast);
  function* gen(): Generator<B> {
    for (let b = 0; b < count; b++) {
      const lo = b * batchSize;
      const hi = Math.min(n, lo + batchSize);
      const idx = order ? tensor(order.slice(lo, hi), { dtype: "int32" }) : arange(lo, hi, 1, { dtype: "int32" });
      yield tree.map((l: Tensor) => take(l, idx, { axis: 0 }), data) as B;
    }
  }
  return gen();
}

/**
 * @internal the permutation `random.permutation(key, n)` draws, from the key's `bits(key, [n])`
 * already read to the host (so shuffling never needs a synchronous device read).
 */
export function orderFromBits(data: ArrayLike<number>): Int32Array {
  const idx = Array.from({ length: data.length }, (_, i) => i).sort((a, b) => data[a]! - data[b]! || a - b);
  return Int32Array.from(idx);
}
