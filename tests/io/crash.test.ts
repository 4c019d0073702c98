// A real crash: a child process saving a large checkpoint over the last good one is SIGKILLed
// while a file in the directory is half written. The checkpoint at the target path must still be
// the previous one, byte for byte (a save that wrote to the target directly would leave a
// truncated file there). The leftover temporary file is ignored by load.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { load, save } from "../../src/io/index.js";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const dir = mkdtempSync(join(tmpdir(), "tenfold-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("crash during save", () => {
  test("SIGKILL mid-save leaves a complete checkpoint", async () => {
    const path = join(dir, "ck.safetensors");
    await save(path, { w: tensor([1, 2, 3]), step: 1 });
    const before = readFileSync(path);
    const script = join(dir, "child.mts");
    writeFileSync(
      script,
      `import { tensor } from ${JSON.stringify(join(ROOT, "src/index.ts"))};
import { save } from ${JSON.stringify(join(ROOT, "src/io/index.ts"))};
const big = Array.from({ length: 24 }, (_, i) => tensor(new Float32Array(1 << 19).fill(i)));
process.stdout.write("ready\\n");
await save(${JSON.stringify(path)}, { w: tensor([9, 9, 9]), step: 2, big });
process.stdout.write("done\\n");
`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    // kill when a file in the directory is partly written (save writes in 4 MiB chunks)
    const TOTAL = 24 * 4 * (1 << 19);
    let killedMid = "";
    const watcher = watch(dir, (_event, name) => {
      if (name === null || killedMid || name === "child.mts") return;
      let size = 0;
      try {
        size = statSync(join(dir, name)).size;
      } catch {
        return;
      }
      if (size > 0 && size < TOTAL) {
        killedMid = `${name} at ${size} bytes`;
        child.kill("SIGKILL");
      }
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | string | null>((res) => child.on("exit", (c, sig) => res(sig ?? c)));
    watcher.close();
    expect(out).toContain("ready");
    expect(code).toBe("SIGKILL");
    expect(killedMid).toMatch(/\.tmp at \d+ bytes/); // killed while the new checkpoint was half written
    expect(readFileSync(path).equals(before)).toBe(true);
    const back = await load<{ w: Tensor; step: number }>(path);
    expect(back.step).toBe(1);
    expect(back.w.arraySync()).toEqual([1, 2, 3]);
  }, 60_000);
});
