/**
 * Runs every documentation example as its own test, so docs cannot rot (DESIGN.md, house style 8):
 * ```ts fences in README.md and docs/**\/*.md, and ```ts fences in `@example` sections of the doc
 * comments in src/**\/*.ts and laws/**\/*.ts. A fence written ```ts skip is listed but not run.
 *
 * Each example is written to tests/.docs-tmp/ (gitignored) with `tenfold[/sub]` imports rewritten
 * to the source entry points, then dynamically imported: it is an ES module, so top-level await
 * works, and a throw (or a rejected top-level await) fails the test. All examples share this one
 * worker and its module cache, so the library is transformed once; state an example changes
 * (e.g. `setBackend`) stays changed for the examples after it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  type DocExample,
  dirOf,
  jsdocExamples,
  markdownExamples,
  rel,
  rewriteImports,
  walk,
} from "./extract.js";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const TMP = join(ROOT, "tests", ".docs-tmp");

function collect(): DocExample[] {
  const md = [join(ROOT, "README.md"), ...walk(join(ROOT, "docs"), (n) => n.endsWith(".md"))]
    .filter((p) => existsSync(p))
    .flatMap((p) => markdownExamples(rel(ROOT, p), readFileSync(p, "utf8")));
  const isSource = (n: string): boolean => n.endsWith(".ts") && !n.endsWith(".d.ts");
  const js = [...walk(join(ROOT, "src"), isSource), ...walk(join(ROOT, "laws"), isSource)].flatMap(
    (p) => jsdocExamples(rel(ROOT, p), readFileSync(p, "utf8")),
  );
  return [...md, ...js];
}

const examples = collect();

rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });

/** Writes the example to its own temp module and returns the module's path. */
function materialize(ex: DocExample, index: number): string {
  const slug = `${ex.file}-L${ex.line}`.replace(/[^A-Za-z0-9_.-]+/g, "_");
  const path = join(TMP, `${String(index).padStart(4, "0")}-${slug}.ts`);
  const header = `// Generated from ${ex.file}:${ex.line} by tests/docs/examples.test.ts; do not edit.\n`;
  const fromDir = ex.file.endsWith(".md") ? undefined : dirOf(ROOT, ex.file);
  // `export {}` keeps the file a module even when the example has no imports.
  writeFileSync(path, `${header}${rewriteImports(ex.code, ROOT, fromDir)}\nexport {};\n`);
  return path;
}

if (examples.length === 0) {
  test("README.md exists (no ts examples found in docs yet)", () => {
    expect(existsSync(join(ROOT, "README.md"))).toBe(true);
  });
} else {
  const byFile = new Map<string, { ex: DocExample; index: number }[]>();
  examples.forEach((ex, index) => {
    const list = byFile.get(ex.file) ?? [];
    list.push({ ex, index });
    byFile.set(ex.file, list);
  });
  for (const [file, list] of byFile) {
    describe(file, () => {
      for (const { ex, index } of list) {
        const name = ex.file.endsWith(".md") ? `line ${ex.line}` : ex.name.split(" › ")[1]!;
        if (ex.skip) {
          test.skip(name, () => {});
          continue;
        }
        test(name, async () => {
          const path = materialize(ex, index);
          try {
            await import(/* @vite-ignore */ path);
          } catch (e) {
            if (e instanceof Error) {
              e.message = `example at ${ex.file}:${ex.line} (${rel(ROOT, path)}): ${e.message}`;
            }
            throw e;
          }
        });
      }
    });
  }
}
