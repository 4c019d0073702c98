// docs/semantics.md's table of definitions and bounds is the SEMANTICS table of core/semantics.ts:
// one row per elementwise primitive, with the meaning and each backend's bound as documented.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SEMANTICS, boundOf } from "../../src/core/semantics.js";
import type { Bound } from "../../src/core/semantics.js";
import { ELEMENTWISE_PRIMS } from "../../src/core/primitives.js";
import { hasSimdLanes } from "../../src/backends/cpu/simd.js";

const fmt = (b: Bound): string =>
  b.ulp === 0
    ? "exact"
    : `${b.ulp} ulp${b.abs ? ` or ${Number.isInteger(Math.log2(b.abs)) ? `2^${Math.log2(b.abs)}` : b.abs} abs` : ""}${b.domain ? `, |x| <= ${b.domain}` : ""}`;

const doc = readFileSync(new URL("../../docs/semantics.md", import.meta.url), "utf8");
const rows = new Map(
  doc
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .map((l) => {
      const cells = l
        .slice(1, -1)
        .split(/(?<!\\) \| /)
        .map((c) => c.trim().replace(/\\\|/g, "|"));
      return [cells[0]!.replace(/^\| /, "").replace(/`/g, ""), cells] as const;
    }),
);

describe("docs/semantics.md documents every definition and bound", () => {
  it("has one row per elementwise primitive, matching SEMANTICS", () => {
    expect([...rows.keys()].sort()).toEqual([...ELEMENTWISE_PRIMS].sort());
    for (const p of ELEMENTWISE_PRIMS) {
      const [, meaning, ref, js, wasm, gpu] = rows.get(p)!;
      expect(meaning, p).toBe(SEMANTICS[p].meaning);
      expect(ref, p).toBe("exact");
      expect(js, p).toBe(fmt(boundOf(p, "js")));
      expect(wasm, p).toBe(hasSimdLanes(p) ? fmt(boundOf(p, "wasm")) : "(JS)");
      expect(gpu, p).toBe(fmt(boundOf(p, "webgpu")));
    }
  });
});
