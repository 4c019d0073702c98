/** Unit tests of the docs-example extractor (tests/docs/extract.ts). */
import { describe, expect, test } from "vitest";
import { jsdocExamples, markdownExamples, rewriteImports, symbolAfter } from "./extract.js";

describe("markdownExamples", () => {
  test("finds ts fences, honours skip, ignores other languages", () => {
    const md = [
      "# T",
      "```ts",
      "const a = 1;",
      "```",
      "```js",
      "no",
      "```",
      "- item",
      "  ```typescript skip",
      "  const b = 2;",
      "  ```",
    ].join("\n");
    const ex = markdownExamples("README.md", md);
    expect(ex.map((e) => [e.line, e.code, e.skip])).toEqual([
      [2, "const a = 1;", false],
      [9, "const b = 2;", true],
    ]);
    expect(ex[0]!.name).toBe("README.md:2");
  });
});

describe("jsdocExamples", () => {
  test("takes fences from @example sections only, named by the next symbol", () => {
    const src = [
      "/**",
      " * Adds.",
      " * ```ts",
      " * notAnExample();",
      " * ```",
      " * @param x the input",
      " * @example",
      " * ```ts",
      " * const y = add(1, 2);",
      " *",
      " *   indented();",
      " * ```",
      " * @example",
      " * ```ts skip",
      " * later();",
      " * ```",
      " */",
      "export function add(a: number, b: number) { return a + b; }",
      "/** @example",
      " * ```ts",
      " * x();",
      " * ```",
      " */",
      "export const mul = 1;",
    ].join("\n");
    const ex = jsdocExamples("src/ops/add.ts", src);
    expect(ex.map((e) => [e.name, e.code, e.skip, e.line])).toEqual([
      ["src/ops/add.ts › add", "const y = add(1, 2);\n\n  indented();", false, 8],
      ["src/ops/add.ts › add #2", "later();", true, 14],
      ["src/ops/add.ts › mul", "x();", false, 20],
    ]);
  });

  test("symbolAfter handles members and decorators", () => {
    expect(symbolAfter("\n  static async fromArray<T>(x: T) {")).toBe("fromArray");
    expect(symbolAfter("\nexport default class Foo {}")).toBe("Foo");
    expect(symbolAfter("\n  get shape(): Shape {")).toBe("shape");
  });
});

describe("rewriteImports", () => {
  test("maps tenfold entry points and relative paths", () => {
    const code = [
      'import { tensor } from "tenfold";',
      "import * as nn from 'tenfold/nn';",
      'const m = await import("tenfold/laws");',
      'import "tenfold/webgpu";',
      'export { x } from "./x.js";',
      'import fc from "fast-check";',
    ].join("\n");
    const out = rewriteImports(code, "/r", "/r/src/ops");
    expect(out.split("\n")).toEqual([
      'import { tensor } from "/r/src/index.ts";',
      "import * as nn from '/r/src/nn/index.ts';",
      'const m = await import("/r/laws/index.ts");',
      'import "/r/src/backends/webgpu/index.ts";',
      'export { x } from "/r/src/ops/x.js";',
      'import fc from "fast-check";',
    ]);
    expect(() => rewriteImports('import "tenfold/nope";', "/r")).toThrow(/unknown tenfold entry/);
  });
});
