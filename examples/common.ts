/**
 * Shared helpers of the examples: a jitted optimizer step over any loss, shuffled minibatch
 * indices, a wall clock, and tiny SVG writers (line plots and image grids) for examples/out/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { jit, optim, random, take, tensor, valueAndGrad } from "../src/index.js";
import type { Tensor } from "../src/index.js";

/** `(params, state, ...batch) => [loss, params, state]`, jitted; see `makeStep`. */
export type Step<P> = (params: P, opt: optim.OptState, ...batch: Tensor[]) => readonly [Tensor, P, optim.OptState];

/** A jitted training step: loss and gradients, optimizer update, new params. */
export function makeStep<P>(loss: (p: P, ...batch: Tensor[]) => Tensor, opt: optim.GradientTransformation): Step<P> {
  return jit((p: P, s: optim.OptState, ...batch: Tensor[]) => {
    const [l, g] = valueAndGrad((pp: P) => loss(pp, ...batch))(p);
    const [u, s2] = opt.update(g as P, s, p);
    return [l, optim.applyUpdates(p, u), s2] as const;
  });
}

/** Index tensors of shuffled minibatches covering `n` rows (the last partial batch dropped). */
export function batchIndices(key: random.Key, n: number, batchSize: number): Tensor[] {
  const perm = random.permutation(key, n).dataSync() as Int32Array;
  const out: Tensor[] = [];
  for (let i = 0; i + batchSize <= n; i += batchSize) {
    out.push(tensor(perm.slice(i, i + batchSize), { shape: [batchSize], dtype: "int32" }));
  }
  return out;
}

/** Rows `idx` of `x`. */
export function rows(x: Tensor, idx: Tensor): Tensor {
  return take(x, idx, { axis: 0 });
}

/**
 * Runs `epochs` epochs of shuffled minibatches (rows of every tensor in `data`) through `step`,
 * printing the mean of `label` per epoch; returns the final params and optimizer state.
 */
export function trainEpochs<P>(
  step: Step<P>,
  init: readonly [P, optim.OptState],
  data: readonly Tensor[],
  o: { readonly epochs: number; readonly batch: number; readonly key: random.Key; readonly label: string; readonly t0: number },
): [P, optim.OptState] {
  let [params, state] = init;
  let key = o.key;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const [k, next] = random.split(key, 2);
    key = next!;
    let total = 0;
    const batches = batchIndices(k!, data[0]!.shape[0]!, o.batch);
    for (const idx of batches) {
      const [l, p2, s2] = step(params, state, ...data.map((d) => rows(d, idx)));
      [params, state] = [p2, s2];
      total += l.itemSync();
    }
    console.log(`epoch ${String(epoch).padStart(2)}  ${o.label} ${(total / batches.length).toFixed(4)}  (${since(o.t0)})`);
  }
  return [params, state];
}

/** Seconds since `t0` (a `performance.now()` value), formatted. */
export function since(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)}s`;
}

/** Writes `text` to `path`, creating folders. */
export function writeOut(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/** An SVG line plot of named series (y against index), with a legend. */
export function linePlot(title: string, series: Readonly<Record<string, readonly number[]>>, opts: { logY?: boolean } = {}): string {
  const W = 640;
  const H = 400;
  const m = 50;
  const tr = (v: number): number => (opts.logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const all = Object.values(series).flat().map(tr);
  const [lo, hi] = [Math.min(...all), Math.max(...all)];
  const n = Math.max(...Object.values(series).map((s) => s.length));
  const px = (i: number): number => m + (i / Math.max(1, n - 1)) * (W - 2 * m);
  const py = (v: number): number => H - m - ((tr(v) - lo) / (hi - lo || 1)) * (H - 2 * m);
  const paths = Object.entries(series).map(([name, s], k) => {
    const d = s.map((v, i) => `${i === 0 ? "M" : "L"}${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
    const c = COLORS[k % COLORS.length]!;
    return `<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/><text x="${W - m - 150}" y="${m + 18 * k}" fill="${c}" font-size="13">${name}</text>`;
  });
  const fmt = (v: number): string => (opts.logY ? (10 ** v).toPrecision(2) : v.toPrecision(3));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${title}</text>`,
    `<line x1="${m}" y1="${H - m}" x2="${W - m}" y2="${H - m}" stroke="black"/><line x1="${m}" y1="${m}" x2="${m}" y2="${H - m}" stroke="black"/>`,
    `<text x="${m - 5}" y="${m}" text-anchor="end" font-size="11">${fmt(hi)}</text><text x="${m - 5}" y="${H - m}" text-anchor="end" font-size="11">${fmt(lo)}</text>`,
    `<text x="${W / 2}" y="${H - 15}" text-anchor="middle" font-size="12">epoch</text>`,
    ...paths,
    "</svg>",
  ].join("\n");
}

/** An SVG grid of grayscale images (rows of `side × side` pixels in [0, 1]). */
export function imageGrid(title: string, rowsOfImages: readonly (readonly Float32Array[])[], side = 28, scale = 3): string {
  const cell = side * scale + 4;
  const W = Math.max(...rowsOfImages.map((r) => r.length)) * cell + 4;
  const H = rowsOfImages.length * cell + 30;
  const parts: string[] = [];
  rowsOfImages.forEach((r, ri) =>
    r.forEach((img, ci) => {
      const ox = 4 + ci * cell;
      const oy = 30 + ri * cell;
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const v = Math.round(255 * (1 - Math.min(1, Math.max(0, img[y * side + x]!))));
          if (v < 250) parts.push(`<rect x="${ox + x * scale}" y="${oy + y * scale}" width="${scale}" height="${scale}" fill="rgb(${v},${v},${v})"/>`);
        }
      }
    }),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="6" y="20" font-size="14">${title}</text>`,
    ...parts,
    "</svg>",
  ].join("\n");
}
