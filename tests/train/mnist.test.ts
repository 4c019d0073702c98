// The bundled MNIST sample: shapes, dtypes, pixel range, the class balance and mean intensity
// of MNIST (about 0.13), a deterministic disjoint split, the NHWC layout, and clear errors.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import "../../src/index.js";
import { loadMnist } from "../../src/train/index.js";

describe("loadMnist", () => {
  const { train, test: held } = loadMnist();
  test("8,000 + 2,000 images of 784 pixels in [0, 1] with int32 labels of all ten classes", () => {
    expect(train.x.shape).toEqual([8000, 784]);
    expect(held.x.shape).toEqual([2000, 784]);
    expect([train.y.dtype, train.x.dtype]).toEqual(["int32", "float32"]);
    const px = train.x.dataSync();
    let lo = Infinity;
    let hi = -Infinity;
    let sum = 0;
    for (const v of px) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      sum += v;
    }
    expect([lo, hi]).toEqual([0, 1]);
    expect(sum / px.length).toBeGreaterThan(0.11);
    expect(sum / px.length).toBeLessThan(0.15);
    const counts = new Array<number>(10).fill(0);
    for (const l of [...train.y.dataSync(), ...held.y.dataSync()]) counts[l]!++;
    expect(counts.reduce((a, b) => a + b)).toBe(10000);
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
  test("the split is deterministic, and flatten: false gives NHWC images", () => {
    const again = loadMnist({ testSize: 2000, flatten: false });
    expect(again.test.x.shape).toEqual([2000, 28, 28, 1]);
    expect(Array.from(again.test.y.dataSync())).toEqual(Array.from(held.y.dataSync()));
    expect(Array.from(again.test.x.dataSync().subarray(0, 784 * 3))).toEqual(Array.from(held.x.dataSync().subarray(0, 784 * 3)));
  });
  test("bad options and bad files are clear errors", () => {
    expect(() => loadMnist({ testSize: 20000 })).toThrow(/loadMnist: testSize must be an integer in \[0, 10000\], got 20000/);
    const dir = mkdtempSync(join(tmpdir(), "mnist-"));
    const bad = join(dir, "bad.gz");
    writeFileSync(bad, gzipSync(Buffer.from("not mnist at all")));
    expect(() => loadMnist({ path: bad })).toThrow(/not a tenfold MNIST file/);
  });
});
