/**
 * `plotHistory`: a dependency-free SVG line chart of a training history (one `<path>` per
 * series, axes with ticks, a legend).
 */
import type { History } from "./callbacks.js";

/** Options of `plotHistory`. */
export interface PlotOptions {
  /** Series to draw (default: every non-empty series of the history). */
  readonly keys?: readonly string[];
  readonly width?: number;
  readonly height?: number;
  readonly title?: string;
  /** Log-scale y axis (positive values only). */
  readonly logY?: boolean;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const num = (v: number): string => (Math.round(v * 100) / 100).toString();

function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * Renders a history as an SVG string: x = epoch (1-based), y = value; one `<path>` per series,
 * axes with ticks, and a legend. Non-finite values are skipped.
 * @example
 * ```ts
 * import { plotHistory } from "tenfold/train";
 * const svg = plotHistory({ loss: [1, 0.5, 0.3], valLoss: [1.1, 0.7, 0.6] });
 * console.log(svg.startsWith("<svg"), svg.match(/<path /g)?.length); // true 2
 * ```
 */
export function plotHistory(history: History | Readonly<Record<string, readonly number[]>>, options: PlotOptions = {}): string {
  const { width = 640, height = 400, title = "Training history", logY = false } = options;
  const keys = (options.keys ?? Object.keys(history)).filter((k) => (history[k]?.length ?? 0) > 0);
  const tf = (v: number): number => (logY ? Math.log10(v) : v);
  const ok = (v: number): boolean => Number.isFinite(v) && (!logY || v > 0);
  const values = keys.flatMap((k) => history[k]!.filter(ok).map(tf));
  const epochs = Math.max(1, ...keys.map((k) => history[k]!.length));
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (hi - lo < 1e-12) [lo, hi] = [lo - 0.5, hi + 0.5];
  const m = { left: 60, right: 140, top: 36, bottom: 44 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const sx = (e: number): number => m.left + (epochs === 1 ? pw / 2 : ((e - 1) / (epochs - 1)) * pw);
  const sy = (v: number): number => m.top + ph - ((v - lo) / (hi - lo)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  out.push(`<g class="axes" stroke="black">`);
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}"/>`);
  out.push(`</g>`);
  out.push(`<g class="ticks">`);
  for (const t of niceTicks(1, epochs, Math.min(10, epochs)).filter((t) => Number.isInteger(t))) {
    out.push(`<line x1="${num(sx(t))}" y1="${m.top + ph}" x2="${num(sx(t))}" y2="${m.top + ph + 5}" stroke="black"/>`);
    out.push(`<text x="${num(sx(t))}" y="${m.top + ph + 18}" text-anchor="middle">${t}</text>`);
  }
  for (const t of niceTicks(lo, hi, 5)) {
    const label = logY ? `1e${t}` : String(t);
    out.push(`<line x1="${m.left - 5}" y1="${num(sy(t))}" x2="${m.left}" y2="${num(sy(t))}" stroke="black"/>`);
    out.push(`<text x="${m.left - 8}" y="${num(sy(t) + 4)}" text-anchor="end">${esc(label)}</text>`);
  }
  out.push(`</g>`);
  out.push(`<text x="${m.left + pw / 2}" y="${height - 8}" text-anchor="middle">epoch</text>`);
  keys.forEach((k, i) => {
    const color = COLORS[i % COLORS.length]!;
    let d = "";
    history[k]!.forEach((v, e) => {
      if (!ok(v)) return;
      d += `${d ? " L" : "M"} ${num(sx(e + 1))} ${num(sy(tf(v)))}`;
    });
    out.push(`<path d="${d || `M ${m.left} ${m.top + ph}`}" fill="none" stroke="${color}" stroke-width="2"><title>${esc(k)}</title></path>`);
  });
  out.push(`<g class="legend">`);
  keys.forEach((k, i) => {
    const y = m.top + 10 + i * 18;
    const x = m.left + pw + 14;
    out.push(`<rect x="${x}" y="${y - 8}" width="14" height="4" fill="${COLORS[i % COLORS.length]!}"/>`);
    out.push(`<text x="${x + 20}" y="${y}">${esc(k)}</text>`);
  });
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join("\n");
}
