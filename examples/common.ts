/**
 * Shared pieces of the examples (the training itself is `fit` from tenfold/train): the run
 * budget (`EPOCHS`/`STEPS` env vars or options, tiny in the tests), where outputs go
 * (examples/out/ by default), checkpoint callbacks, writing the `plotHistory` SVG, and an SVG
 * image grid for the autoencoder.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { modelCheckpoint, plotHistory } from "../src/train/index.js";
import type { Callback, History } from "../src/train/index.js";

/** How an example is run: by `npm run example:NAME` (defaults) or by the tests (a tiny budget). */
export interface ExampleOptions {
  /** Epochs (default: the example's own, or the EPOCHS env var). */
  readonly epochs?: number;
  /** Steps per epoch for generated-data examples (default: the example's own, or STEPS). */
  readonly steps?: number;
  /** Training samples to use (MNIST examples; default all). */
  readonly samples?: number;
  /** Where the SVG and checkpoints go (default examples/out). */
  readonly outDir?: string;
  /** fit's verbosity (default 1: a progress bar on a TTY). */
  readonly verbose?: 0 | 1 | 2;
  /** Print the summary lines (default true). */
  readonly log?: boolean;
}

/** What an example reports: its history, its headline number, and the files it wrote. */
export interface ExampleResult {
  readonly history: History;
  /** The headline result (accuracy in [0, 1], or an error), named by `metric`. */
  readonly value: number;
  readonly metric: string;
  readonly files: readonly string[];
}

const envNum = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);

/** The example's epochs: option, else EPOCHS env, else its default. */
export const epochsOf = (o: ExampleOptions, dflt: number): number => o.epochs ?? envNum("EPOCHS") ?? dflt;

/** The example's steps per epoch: option, else STEPS env, else its default. */
export const stepsOf = (o: ExampleOptions, dflt: number): number => o.steps ?? envNum("STEPS") ?? dflt;

/** The output folder. */
export const outDir = (o: ExampleOptions): string => o.outDir ?? join(dirname(fileURLToPath(import.meta.url)), "out");

/** Prints unless `log: false`. */
export const say = (o: ExampleOptions, ...parts: unknown[]): void => {
  if (o.log !== false) console.log(...parts);
};

/** Last and best checkpoints of an example (`examples/out/NAME.last.safetensors`, `.best.`). */
export function checkpoints(o: ExampleOptions, name: string, monitor?: string): Callback {
  const dir = outDir(o);
  return modelCheckpoint({ path: join(dir, `${name}.last.safetensors`), bestPath: join(dir, `${name}.best.safetensors`), ...(monitor ? { monitor } : {}) });
}

/** Writes the loss plot of `history` (plotHistory) as examples/out/NAME.svg; returns its path. */
export function writePlot(
  o: ExampleOptions,
  name: string,
  history: History | Readonly<Record<string, readonly number[]>>,
  options: { title?: string; keys?: readonly string[]; logY?: boolean } = {},
): string {
  const path = join(outDir(o), `${name}.svg`);
  writeOut(
    path,
    plotHistory(history, { title: options.title ?? name, ...(options.keys ? { keys: options.keys } : {}), ...(options.logY ? { logY: true } : {}) }),
  );
  return path;
}

/** True when this module is the script node/tsx was started with. */
export const isMain = (url: string): boolean => process.argv[1] !== undefined && fileURLToPath(url) === process.argv[1];

/** Seconds since `t0` (a `performance.now()` value), formatted. */
export function since(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)}s`;
}

/** Writes `text` to `path`, creating folders. */
export function writeOut(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
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
