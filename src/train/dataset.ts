/**
 * `Dataset`: a small asynchronous input pipeline. Sources: in-memory arrays (`fromArrays`, a
 * pytree of tensors with a leading sample axis), async/sync iterables (`fromIterable`), and files
 * of fixed-size records read range by range (`fromRecords`, never loading the whole file).
 * Stages: `shuffle(key)`, `batch(size, { dropRemainder })`, `map(fn)`, `prefetch(n)`, `take(n)`.
 * Every pass (`iterate(epoch)`) is deterministic given the key and the epoch. Reads of random bits
 * are asynchronous, so pipelines work on every backend, WebGPU included.
 */
import { Tensor } from "../core/tensor.js";
import * as tree from "../core/tree.js";
import { tensor } from "../ops/creation.js";
import { stack, take } from "../ops/shape.js";
import type { Key } from "../random/index.js";
import { bits, foldIn } from "../random/index.js";
import { numSamples, orderFromBits } from "./batches.js";
import { nodeModule } from "./node.js";
import { mulberry32 } from "../core/host-rng.js";

type Iter<T> = AsyncIterator<T>;

/** How a source yields: rows of arrays (fusable with shuffle and batch), or a plain stream. */
type Source<T> =
  | { readonly kind: "arrays"; readonly data: unknown; readonly n: number; readonly key?: Key }
  | { readonly kind: "stream"; readonly open: (epoch: number) => Iter<T> };

const rowsOf = <B>(data: unknown, idx: Int32Array): B => {
  const t = tensor(idx, { shape: [idx.length], dtype: "int32" });
  return tree.map((l: Tensor) => take(l, t, { axis: 0 }), data) as B;
};

async function orderOf(n: number, key: Key | undefined, epoch: number): Promise<Int32Array> {
  if (!key) return Int32Array.from({ length: n }, (_, i) => i);
  return orderFromBits(await bits(foldIn(key, epoch), [n]).data());
}

/** A seeded host PRNG (mulberry32). */
const rng = mulberry32;

/** Options of `Dataset.fromRecords`. */
export interface RecordOptions<T> {
  /** Bytes per record. */
  readonly recordBytes: number;
  /** Bytes to skip at the start of the file (a header; default 0). */
  readonly offset?: number;
  /** Number of records (default: as many as the file holds after `offset`). */
  readonly count?: number;
  /** Records read per file read (default 1024). */
  readonly chunk?: number;
  /** Turns one record's bytes (a view valid only during the call) into an element. */
  readonly decode: (bytes: Uint8Array, index: number) => T;
}

/**
 * An immutable, re-iterable pipeline of elements of type `T`; every stage returns a new Dataset.
 * @example
 * ```ts
 * import { arange, random } from "tenfold";
 * import { Dataset } from "tenfold/train";
 * const ds = Dataset.fromArrays({ x: arange(10) }).shuffle(random.key(0)).batch(4);
 * const sizes: number[] = [];
 * for await (const b of ds.iterate()) sizes.push(b.x.shape[0]!);
 * console.log(sizes); // [4, 4, 2]
 * ```
 */
export class Dataset<T> {
  readonly #source: Source<T>;

  private constructor(source: Source<T>) {
    this.#source = source;
  }

  /** Rows of a pytree of tensors with a common leading axis: element `i` is row `i` of every leaf. */
  static fromArrays<B>(data: B): Dataset<B> {
    return new Dataset<B>({ kind: "arrays", data, n: numSamples(data) });
  }

  /**
   * Elements of an iterable or async iterable. Pass a function returning a fresh iterable to make
   * the dataset re-iterable (an iterable object is used once per pass as it is).
   */
  static fromIterable<E>(source: AsyncIterable<E> | Iterable<E> | ((epoch: number) => AsyncIterable<E> | Iterable<E>)): Dataset<E> {
    return new Dataset<E>({
      kind: "stream",
      open(epoch) {
        const it = typeof source === "function" ? source(epoch) : source;
        if (Symbol.asyncIterator in it) return (it as AsyncIterable<E>)[Symbol.asyncIterator]();
        const sync = (it as Iterable<E>)[Symbol.iterator]();
        return { next: async () => sync.next(), return: async () => sync.return?.() ?? { done: true, value: undefined } };
      },
    });
  }

  /**
   * Fixed-size records of a file (Node), read `chunk` records at a time with positioned reads,
   * so only the chunk in flight is in memory.
   * @example
   * ```ts
   * import { writeFileSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * import { tensor } from "tenfold";
   * import { Dataset } from "tenfold/train";
   * const path = join(tmpdir(), "records.bin");
   * writeFileSync(path, Uint8Array.from([1, 2, 3, 4, 5, 6]));
   * const ds = Dataset.fromRecords(path, { recordBytes: 2, decode: (b) => tensor(Array.from(b)) }).batch(2);
   * const out: number[][][] = [];
   * for await (const b of ds.iterate()) out.push(b.arraySync() as number[][]);
   * console.log(out); // [[[1, 2], [3, 4]], [[5, 6]]]
   * ```
   */
  static fromRecords<E>(path: string, options: RecordOptions<E>): Dataset<E> {
    const { recordBytes, offset = 0, chunk = 1024, decode } = options;
    if (!Number.isInteger(recordBytes) || recordBytes < 1)
      throw new RangeError(`Dataset.fromRecords: recordBytes must be a positive integer, got ${recordBytes}`);
    if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`Dataset.fromRecords: chunk must be a positive integer, got ${chunk}`);
    const fs = nodeModule<typeof import("node:fs")>("node:fs", "Dataset.fromRecords");
    const size = fs.statSync(path).size;
    const count = options.count ?? Math.floor((size - offset) / recordBytes);
    if (offset + count * recordBytes > size)
      throw new RangeError(
        `Dataset.fromRecords: ${count} records of ${recordBytes} bytes after offset ${offset} need ${offset + count * recordBytes} bytes; "${path}" has ${size}`,
      );
    return Dataset.fromIterable<E>(async function* () {
      const fh = await fs.promises.open(path, "r");
      try {
        const buf = new Uint8Array(chunk * recordBytes);
        for (let lo = 0; lo < count; lo += chunk) {
          const k = Math.min(chunk, count - lo);
          await fh.read(buf, 0, k * recordBytes, offset + lo * recordBytes);
          for (let i = 0; i < k; i++) yield decode(buf.subarray(i * recordBytes, (i + 1) * recordBytes), lo + i);
        }
      } finally {
        await fh.close();
      }
    });
  }

  /**
   * Shuffles with `key` (a new order each epoch, from `foldIn(key, epoch)`). Array sources are
   * fully permuted; streams go through a buffer of `bufferSize` elements (default 1024).
   */
  shuffle(key: Key, bufferSize = 1024): Dataset<T> {
    if (!(key instanceof Tensor)) throw new TypeError("Dataset.shuffle: key must be a PRNG key (random.key(seed))");
    const s = this.#source;
    if (s.kind === "arrays") return new Dataset<T>({ ...s, key });
    if (!Number.isInteger(bufferSize) || bufferSize < 1) throw new RangeError(`Dataset.shuffle: bufferSize must be a positive integer, got ${bufferSize}`);
    return Dataset.fromIterable<T>(async function* (epoch) {
      const seed = (await bits(foldIn(key, epoch), [1]).data())[0]!;
      const rand = rng(Number(seed));
      const buf: T[] = [];
      const it = s.open(epoch);
      for (let r = await it.next(); !r.done; r = await it.next()) {
        if (buf.length < bufferSize) buf.push(r.value);
        else {
          const j = Math.floor(rand() * bufferSize);
          yield buf[j]!;
          buf[j] = r.value;
        }
      }
      while (buf.length) yield buf.splice(Math.floor(rand() * buf.length), 1)[0]!;
    });
  }

  /** Groups `size` consecutive elements into one, stacking each leaf along a new axis 0. */
  batch(size: number, options: { readonly dropRemainder?: boolean } = {}): Dataset<T> {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`Dataset.batch: size must be a positive integer, got ${size}`);
    const drop = options.dropRemainder ?? false;
    const s = this.#source;
    if (s.kind === "arrays") {
      // rows of arrays: one gather per batch instead of stacking rows
      return Dataset.fromIterable<T>(async function* (epoch) {
        const order = await orderOf(s.n, s.key, epoch);
        for (let lo = 0; lo < s.n; lo += size) {
          if (drop && lo + size > s.n) return;
          yield rowsOf<T>(s.data, order.subarray(lo, Math.min(s.n, lo + size)));
        }
      });
    }
    return Dataset.fromIterable<T>(async function* (epoch) {
      const it = s.open(epoch);
      let group: T[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) {
        group.push(r.value);
        if (group.length === size) {
          yield tree.map((...ls: Tensor[]) => stack(ls), group[0], ...group.slice(1)) as T;
          group = [];
        }
      }
      if (group.length && !drop) yield tree.map((...ls: Tensor[]) => stack(ls), group[0], ...group.slice(1)) as T;
    });
  }

  /** Applies `f` to every element (it may return a promise). */
  map<U>(f: (x: T) => U | Promise<U>): Dataset<U> {
    const pass = (epoch: number): AsyncIterableIterator<T> => this.iterate(epoch);
    return Dataset.fromIterable<U>(async function* (epoch) {
      for await (const x of pass(epoch)) yield await f(x);
    });
  }

  /** At most the first `n` elements. */
  take(n: number): Dataset<T> {
    const pass = (epoch: number): AsyncIterableIterator<T> => this.iterate(epoch);
    return Dataset.fromIterable<T>(async function* (epoch) {
      if (n <= 0) return;
      let i = 0;
      for await (const x of pass(epoch)) {
        yield x;
        if (++i >= n) return;
      }
    });
  }

  /** Keeps up to `n` upcoming elements in flight while the consumer works (default 2). */
  prefetch(n = 2): Dataset<T> {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Dataset.prefetch: n must be a positive integer, got ${n}`);
    const pass = (epoch: number): AsyncIterableIterator<T> => this.iterate(epoch);
    return Dataset.fromIterable<T>(async function* (epoch) {
      const it = pass(epoch);
      const queue: Promise<IteratorResult<T>>[] = [];
      // requests are chained so the source sees one next() at a time, in order
      let tail: Promise<unknown> = Promise.resolve();
      const request = (): void => {
        const p = tail.then(() => it.next());
        tail = p.catch(() => undefined);
        queue.push(p);
      };
      for (let i = 0; i < n; i++) request();
      for (;;) {
        const r = await queue.shift()!;
        if (r.done) return;
        request();
        yield r.value;
      }
    });
  }

  /** One pass over the elements, as an async iterator (`for await`); `epoch` varies the shuffle. */
  iterate(epoch = 0): AsyncIterableIterator<T> {
    const s = this.#source;
    const it: Iter<T> =
      s.kind === "stream"
        ? s.open(epoch)
        : (async function* () {
            const order = await orderOf(s.n, s.key, epoch);
            for (const i of order) {
              const at = tensor(Int32Array.of(i), { shape: [], dtype: "int32" });
              yield tree.map((l: Tensor) => take(l, at, { axis: 0 }), s.data) as T;
            }
          })();
    return {
      next: () => it.next(),
      return: async (v?: unknown) => (await it.return?.(v)) ?? { done: true, value: undefined },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}
