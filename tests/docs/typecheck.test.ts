/**
 * Every runnable documentation example (```ts fences in README.md and docs/**, and `@example`
 * fences in the doc comments of src/ and laws/) type-checks under `tsc --strict`, not just runs:
 * each is written as its own module under tests/.docs-tsc/ (imports rewritten to the source
 * entry points, as examples.test.ts does) and one `tsc --noEmit` checks them all. A failure
 * lists each error with the doc file and line it came from.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { type DocExample, dirOf, jsdocExamples, markdownExamples, rel, rewriteImports, walk } from "./extract.js";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const TMP = join(ROOT, "tests", ".docs-tsc");

function collect(): DocExample[] {
  const md = [join(ROOT, "README.md"), ...walk(join(ROOT, "docs"), (n) => n.endsWith(".md") && !n.includes("/api/"))]
    .filter((p) => existsSync(p))
    .flatMap((p) => markdownExamples(rel(ROOT, p), readFileSync(p, "utf8")));
  const isSource = (n: string): boolean => n.endsWith(".ts") && !n.endsWith(".d.ts");
  const js = [...walk(join(ROOT, "src"), isSource), ...walk(join(ROOT, "laws"), isSource)].flatMap((p) =>
    jsdocExamples(rel(ROOT, p), readFileSync(p, "utf8")),
  );
  return [...md, ...js].filter((ex) => !ex.skip);
}

test("every docs example type-checks under tsc --strict", () => {
  const examples = collect();
  expect(examples.length).toBeGreaterThan(50);
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  const origin = new Map<string, DocExample>();
  const files = examples.map((ex, i) => {
    const name = `${String(i).padStart(4, "0")}-${`${ex.file}-L${ex.line}`.replace(/[^A-Za-z0-9_.-]+/g, "_")}.ts`;
    const fromDir = ex.file.endsWith(".md") ? undefined : dirOf(ROOT, ex.file);
    writeFileSync(join(TMP, name), `${rewriteImports(ex.code, ROOT, fromDir)}\nexport {};\n`);
    origin.set(name, ex);
    return name;
  });
  writeFileSync(
    join(TMP, "tsconfig.json"),
    JSON.stringify({
      extends: "../../tsconfig.json",
      compilerOptions: { strict: true, noEmit: true, allowImportingTsExtensions: true, noUnusedLocals: false, rootDir: "../.." },
      include: [],
      files,
    }),
  );
  let out = "";
  try {
    execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(TMP, "tsconfig.json")], {
      cwd: TMP,
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? e);
  }
  // Point each error at the doc it came from.
  const report = out
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const m = /^([^(]+\.ts)\((\d+),\d+\)/.exec(l.replace(/^tests\/\.docs-tsc\//, ""));
      const ex = m ? origin.get(m[1]!) : undefined;
      return ex ? `${ex.file}:${ex.line + Number(m![2])} ${l}` : l;
    });
  expect(report).toEqual([]);
}, 300_000);
