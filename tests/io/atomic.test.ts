// Atomic checkpoint writes: a save that fails part-way through writing (the disk fills up, the
// process dies) must leave the previous checkpoint intact and no temporary file behind. The
// failure is injected by wrapping node:fs/promises' FileHandle.write: it writes the first half
// of the bytes for real, then throws ENOSPC.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { load, save } from "../../src/io/index.js";

const failing = vi.hoisted(() => ({ on: false, partial: 0 }));

vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  const open: typeof fs.open = async (...args) => {
    const fh = await fs.open(...args);
    if (!failing.on) return fh;
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === "write") {
          return async (b: Uint8Array, offset: number, length: number) => {
            const half = Math.floor(length / 2);
            await target.write(b, offset, half);
            failing.partial += half;
            throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  return { ...fs, default: { ...fs, open }, open };
});

const dir = mkdtempSync(join(tmpdir(), "tenfold-atomic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("atomic save", () => {
  test("a save that fails mid-write leaves the previous checkpoint intact", async () => {
    const path = join(dir, "last.safetensors");
    await save(path, { w: tensor([1, 2, 3]), step: 1 });
    const before = readFileSync(path);
    failing.on = true;
    try {
      await expect(save(path, { w: tensor([9, 9, 9, 9, 9, 9]), step: 2, extra: [tensor([[7]])] })).rejects.toThrow(/ENOSPC/);
    } finally {
      failing.on = false;
    }
    expect(failing.partial).toBeGreaterThan(0); // bytes really went to disk before the failure
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(["last.safetensors"]);
    const back = await load<{ w: Tensor; step: number }>(path);
    expect(back.step).toBe(1);
    expect(back.w.arraySync()).toEqual([1, 2, 3]);
  });

  test("a save that fails before writing (bad tree) does not touch the file", async () => {
    const path = join(dir, "keep.safetensors");
    await save(path, { a: tensor([1]) });
    const before = readFileSync(path);
    await expect(save(path, { a: tensor([2]), bad: Symbol("x") })).rejects.toThrow(/save: unsupported value at "bad" \(a symbol\)/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});
