/**
 * Extracts runnable TypeScript examples from Markdown (```ts fences) and from `@example` sections
 * of JSDoc comments, and rewrites `tenfold` package imports to the source entry points so each
 * example can be written to a temp file and imported by vitest. Used by examples.test.ts.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** One runnable example found in a doc. */
export interface DocExample {
  /** Path of the source file, relative to the repo root, with forward slashes. */
  readonly file: string;
  /** 1-based line of the opening fence in `file`. */
  readonly line: number;
  /** Test name: `README.md:12` for Markdown, `src/ops/creation.ts › tensor` for JSDoc. */
  readonly name: string;
  /** The example's code, indentation and JSDoc ` * ` prefixes removed. */
  readonly code: string;
  /** True for ```ts skip fences: reported as a skipped test, never run. */
  readonly skip: boolean;
}

/** Package specifier → entry file (relative to the repo root). */
export const ENTRY_POINTS: Readonly<Record<string, string>> = {
  tenfold: "src/index.ts",
  "tenfold/nn": "src/nn/index.ts",
  "tenfold/optim": "src/optim/index.ts",
  "tenfold/metrics": "src/metrics/index.ts",
  "tenfold/io": "src/io/index.ts",
  "tenfold/train": "src/train/index.ts",
  "tenfold/laws": "laws/index.ts",
  "tenfold/linalg": "src/linalg/index.ts",
  "tenfold/webgpu": "src/backends/webgpu/index.ts",
  "tenfold/onnx": "src/onnx/index.ts",
  "tenfold/internals": "src/internals.ts",
};

const TS_LANGS = new Set(["ts", "typescript", "mts"]);

interface Fence {
  readonly info: readonly string[];
  readonly line: number; // 0-based index of the opening fence line
  readonly code: string;
}

/** Every fenced code block in `lines` (any indentation, ``` or ~~~), with its info words. */
export function fencedBlocks(lines: readonly string[]): Fence[] {
  const out: Fence[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`]*?)\s*$/.exec(lines[i]!);
    if (!open) {
      i++;
      continue;
    }
    const indent = open[1]!.length;
    const marker = open[2]!;
    const info = open[3]!.split(/[\s,{}]+/).filter((w) => w.length > 0);
    const closeRe = new RegExp(`^\\s*${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !closeRe.test(lines[j]!)) {
      const l = lines[j]!;
      // Strip the opener's indentation (list items), but never non-space text.
      const lead = /^\s*/.exec(l)![0].length;
      body.push(l.slice(Math.min(indent, lead)));
      j++;
    }
    out.push({ info, line: i, code: body.join("\n") });
    i = j + 1;
  }
  return out;
}

function isTs(info: readonly string[]): boolean {
  return info.length > 0 && TS_LANGS.has(info[0]!.toLowerCase());
}

function isSkip(info: readonly string[]): boolean {
  return info.slice(1).some((w) => w.toLowerCase() === "skip");
}

/** ```ts blocks of a Markdown file. */
export function markdownExamples(file: string, text: string): DocExample[] {
  const lines = text.split(/\r?\n/);
  return fencedBlocks(lines)
    .filter((f) => isTs(f.info))
    .map((f) => ({
      file,
      line: f.line + 1,
      name: `${file}:${f.line + 1}`,
      code: f.code,
      skip: isSkip(f.info),
    }));
}

const DECL_RE =
  /^\s*(?:export\s+)?(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\s*\*?|const|let|var|class|interface|type|enum|namespace)\s+([A-Za-z_$][\w$]*)/;
const MEMBER_RE =
  /^\s*(?:(?:public|protected|private|static|readonly|override|abstract|async|get|set)\s+)*\*?\s*(\[?[A-Za-z_$][\w$.]*\]?)\s*[(<:=?!]/;

/** The symbol declared right after a doc comment (`tensor`, `Tensor.reshape`-style member name). */
export function symbolAfter(rest: string): string | undefined {
  const head = rest.replace(/^(?:\s*@[\w.]+(?:\([^)]*\))?)*/, "").slice(0, 400);
  return DECL_RE.exec(head)?.[1] ?? MEMBER_RE.exec(head)?.[1];
}

/** ```ts fences inside `@example` sections of the JSDoc comments of a source file. */
export function jsdocExamples(file: string, text: string): DocExample[] {
  const out: DocExample[] = [];
  const seen = new Map<string, number>();
  const commentRe = /\/\*\*([\s\S]*?)\*\//g;
  for (let m = commentRe.exec(text); m !== null; m = commentRe.exec(text)) {
    const body = m[1]!;
    if (!body.includes("@example")) continue;
    const startLine = text.slice(0, m.index).split("\n").length; // line of `/**`
    const lines = body.split("\n").map((l) => l.replace(/^\s*\*(?: |$)/, ""));
    // Keep only the lines of @example sections (a section ends at the next tag outside a fence).
    const kept: string[] = [];
    let inExample = false;
    let inFence = false;
    for (const l of lines) {
      if (/^\s*(`{3,}|~{3,})/.test(l)) inFence = !inFence;
      else if (!inFence && /^\s*@\w+/.test(l)) {
        inExample = /^\s*@example\b/.test(l);
        kept.push("");
        continue;
      }
      kept.push(inExample ? l : "");
    }
    const symbol = symbolAfter(text.slice(m.index + m[0].length)) ?? `line ${startLine}`;
    for (const f of fencedBlocks(kept).filter((fb) => isTs(fb.info))) {
      const n = (seen.get(symbol) ?? 0) + 1;
      seen.set(symbol, n);
      const line = startLine + f.line;
      out.push({
        file,
        line,
        name: `${file} › ${symbol}${n > 1 ? ` #${n}` : ""}`,
        code: f.code,
        skip: isSkip(f.info),
      });
    }
  }
  return out;
}

/**
 * Rewrites `tenfold[/sub]` specifiers (static, dynamic, side-effect and re-export imports) to
 * absolute entry file paths, and relative specifiers to absolute paths from `fromDir` (so JSDoc
 * examples may import siblings of the file they document).
 */
export function rewriteImports(code: string, root: string, fromDir?: string): string {
  const re = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'\n]+)\2/g;
  return code.replace(re, (all, pre: string, q: string, spec: string) => {
    const entry = ENTRY_POINTS[spec];
    if (entry !== undefined) return `${pre}${q}${toPosix(resolve(root, entry))}${q}`;
    if (spec.startsWith("tenfold/")) throw new Error(`unknown tenfold entry point "${spec}"`);
    if (fromDir !== undefined && (spec.startsWith("./") || spec.startsWith("../"))) {
      let target = resolve(fromDir, spec);
      const asTs = target.replace(/\.js$/, ".ts");
      if (asTs !== target && existsSync(asTs)) target = asTs;
      return `${pre}${q}${toPosix(target)}${q}`;
    }
    return all;
  });
}

function toPosix(p: string): string {
  return p.split("\\").join("/");
}

/** Files under `dir` (recursively) whose names satisfy `keep`, skipping node_modules and dotdirs. */
export function walk(dir: string, keep: (name: string) => boolean): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p, keep));
    else if (entry.isFile() && keep(entry.name)) out.push(p);
  }
  return out.sort();
}

/** Repo-relative, forward-slash path. */
export function rel(root: string, p: string): string {
  return toPosix(relative(root, p));
}

/** Directory of a repo-relative file, absolute. */
export function dirOf(root: string, file: string): string {
  return dirname(resolve(root, file));
}
