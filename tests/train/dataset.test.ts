// The Dataset pipeline: array sources (rows, fused shuffle+batch, per-epoch orders from the key),
// iterables and async iterables, file-backed records read range by range, map, take, prefetch
// (order kept, bounded look-ahead), stream shuffling with a buffer, dropRemainder, and fit on a
// Dataset agreeing exactly with fit on the same arrays.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { arange, mean, multiply, random, square, subtract, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { sgd } from "../../src/optim/index.js";
import { Dataset, fit } from "../../src/train/index.js";

const collect = async <T>(ds: Dataset<T>, epoch = 0): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of ds.iterate(epoch)) out.push(x);
  return out;
};
const ints = (t: Tensor): number[] => Array.from(t.dataSync());

describe("Dataset", () => {
  const data = { x: arange(10), y: multiply(arange(10), 10) };
  test("fromArrays yields rows; batch groups them; dropRemainder drops the short tail", async () => {
    const rows = await collect(Dataset.fromArrays(data));
    expect(rows.map((r) => [r.x.shape, r.x.itemSync(), r.y.itemSync()])).toEqual([...Array(10).keys()].map((i) => [[], i, 10 * i]));
    expect((await collect(Dataset.fromArrays(data).batch(4))).map((b) => ints(b.x))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect((await collect(Dataset.fromArrays(data).batch(4, { dropRemainder: true }))).map((b) => b.x.shape[0])).toEqual([4, 4]);
    expect(() => Dataset.fromArrays(data).batch(0)).toThrow(/Dataset.batch: size must be a positive integer, got 0/);
  });
  test("shuffle: every sample once per epoch, rows aligned, the same order for the same key and epoch, a new one per epoch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 6 }), async (seed, bs) => {
        const ds = Dataset.fromArrays(data).shuffle(random.key(seed)).batch(bs);
        const e0 = (await collect(ds, 0)).flatMap((b) => {
          expect(ints(b.y)).toEqual(ints(b.x).map((v) => v * 10));
          return ints(b.x);
        });
        expect([...e0].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
        expect((await collect(ds, 0)).flatMap((b) => ints(b.x))).toEqual(e0);
      }),
      { numRuns: 8 },
    );
    const ds = Dataset.fromArrays({ x: arange(50) }).shuffle(random.key(1));
    const orders = await Promise.all([0, 1].map(async (e) => (await collect(ds, e)).map((r) => r.x.itemSync())));
    expect(orders[0]).not.toEqual(orders[1]);
  });
  test("iterables, async iterables, map, take; a stream shuffle permutes through its buffer", async () => {
    const sync = Dataset.fromIterable(() => [1, 2, 3].map((v) => tensor(v)));
    expect((await collect(sync.map((t) => multiply(t, 2)).batch(2))).map(ints)).toEqual([[2, 4], [6]]);
    const asyncDs = Dataset.fromIterable(async function* () {
      for (let i = 0; i < 20; i++) yield { v: tensor(i) };
    });
    expect((await collect(asyncDs.take(3))).map((e) => e.v.itemSync())).toEqual([0, 1, 2]);
    const shuffled = (await collect(asyncDs.shuffle(random.key(3), 5), 0)).map((e) => e.v.itemSync());
    expect(shuffled).not.toEqual([...Array(20).keys()]);
    expect([...shuffled].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect((await collect(asyncDs.shuffle(random.key(3), 5), 0)).map((e) => e.v.itemSync())).toEqual(shuffled);
  });
  test("prefetch keeps the order and runs at most n elements ahead of the consumer", async () => {
    let produced = 0;
    const ds = Dataset.fromIterable(async function* () {
      for (let i = 0; i < 8; i++) {
        produced++;
        yield i;
      }
    }).prefetch(3);
    const seen: number[] = [];
    const ahead: number[] = [];
    for await (const v of ds.iterate()) {
      await new Promise((r) => setTimeout(r, 2));
      ahead.push(produced - seen.length - 1);
      seen.push(v);
    }
    expect(seen).toEqual([...Array(8).keys()]);
    expect(Math.max(...ahead)).toBeLessThanOrEqual(3);
    expect(Math.max(...ahead)).toBeGreaterThanOrEqual(1);
  });
  test("fromRecords streams fixed-size records from a file in chunks (with a header offset)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ds-"));
    const path = join(dir, "recs.bin");
    const header = Uint8Array.from([9, 9, 9]);
    const body = Uint8Array.from({ length: 7 * 4 }, (_, i) => i);
    writeFileSync(path, Uint8Array.from([...header, ...body]));
    const decoded: number[] = [];
    const ds = Dataset.fromRecords(path, { recordBytes: 4, offset: 3, chunk: 3, decode: (b, i) => (decoded.push(i), { x: tensor(Array.from(b)) }) }).batch(3);
    const out = await collect(ds);
    expect(out.map((b) => b.x.shape)).toEqual([
      [3, 4],
      [3, 4],
      [1, 4],
    ]);
    expect(out.flatMap((b) => ints(b.x))).toEqual(Array.from(body));
    expect(decoded).toEqual([...Array(7).keys()]);
    expect(() => Dataset.fromRecords(path, { recordBytes: 4, count: 8, decode: (b) => b })).toThrow(
      /8 records of 4 bytes after offset 0 need 32 bytes; ".*recs.bin" has 31/,
    );
  });
  test("fit on Dataset.fromArrays(data).batch(n) equals fit on the arrays without shuffling", async () => {
    const d = { x: tensor([[1], [2], [3], [4], [5]]), y: tensor([[2], [4], [6], [8], [10]]) };
    const opts = {
      init: { w: tensor([[0]]) },
      loss: (p: { w: Tensor }, b: typeof d) => mean(square(subtract(multiply(b.x, p.w), b.y))),
      optimizer: sgd({ lr: 0.01 }),
      epochs: 3,
      verbose: 0 as const,
    };
    const a = await fit({ ...opts, data: d, batchSize: 2, shuffle: false });
    const b = await fit({ ...opts, data: Dataset.fromArrays(d).batch(2), validation: Dataset.fromArrays(d).batch(4) });
    expect(b.params.w.itemSync()).toBe(a.params.w.itemSync());
    expect(b.history.loss).toEqual(a.history.loss);
    expect(b.history.valLoss).toHaveLength(3);
  });
});
