// Browser check of the built package: bundles the ESM entry points with tsup (as `npm run build`
// does, without .d.ts), serves them from a localhost server, opens them in headless Debian
// Chromium (playwright-core, SwiftShader WebGPU, flags from docs/webgpu.md) and trains a tiny model
// on WebGPU in the page; the loss must fall. Skips without /usr/bin/chromium unless
// WEBGPU_REQUIRED=1.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const REQUIRED = process.env.WEBGPU_REQUIRED === "1";
const present = existsSync(CHROMIUM);
if (!present && REQUIRED) throw new Error(`WEBGPU_REQUIRED=1 but ${CHROMIUM} is missing (apt-get install chromium)`);

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FLAGS = [
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--use-angle=swiftshader",
  "--use-webgpu-adapter=swiftshader",
  "--enable-unsafe-swiftshader",
  "--disable-gpu-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

const PAGE = `<!doctype html><meta charset="utf-8"><title>tenfold webgpu</title>
<script type="module">
import * as tf from "./index.js";
try {
  await tf.setBackend("webgpu");
  const key = tf.random.key(0);
  const [k1, k2] = tf.random.split(key);
  const x = tf.random.normal(k1, [64, 4]);
  const y = tf.matmul(x, tf.tensor([[1], [-2], [0.5], [3]]));
  let w = tf.multiply(tf.random.normal(k2, [4, 1]), 0.1);
  const loss = (w) => tf.mean(tf.square(tf.subtract(tf.matmul(x, w), y)));
  const step = tf.jit((w) => { const [l, g] = tf.valueAndGrad(loss)(w); return [tf.subtract(w, tf.multiply(g, 0.1)), l]; });
  const losses = [];
  for (let i = 0; i < 30; i++) { const [nw, l] = step(w); w = nw; losses.push(await l.item()); }
  window.__result = { backend: tf.getBackend(), losses };
} catch (e) {
  window.__result = { error: String(e && e.stack || e) };
}
</script>`;

const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".map": "application/json" };

describe.skipIf(!present)("browser: the ESM bundle trains on WebGPU in headless Chromium", () => {
  let dir = "";
  let server: Server | undefined;
  let url = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tenfold-browser-"));
    const { build } = await import("tsup");
    await build({
      entry: { index: join(ROOT, "src/index.ts"), webgpu: join(ROOT, "src/backends/webgpu/index.ts") },
      format: ["esm"],
      outDir: dir,
      splitting: true,
      dts: false,
      silent: true,
      platform: "browser",
      target: "es2022",
      external: ["webgpu"],
      // A page has no node_modules resolution: bundle the runtime dependencies too.
      noExternal: ["immer", "fp-ts"],
      config: false,
    });
    writeFileSync(join(dir, "index.html"), PAGE);
    server = createServer((req, res) => {
      const p = normalize(join(dir, (req.url ?? "/").split("?")[0] === "/" ? "index.html" : (req.url ?? "").split("?")[0]!));
      if (!p.startsWith(dir) || !existsSync(p)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": TYPES[extname(p)] ?? "application/octet-stream" }).end(readFileSync(p));
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
  }, 120_000);

  afterAll(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("trains a tiny model and the loss falls", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on("console", (m) => logs.push(m.text()));
      page.on("pageerror", (e) => logs.push(String(e)));
      await page.goto(url);
      try {
        await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 90_000 });
      } catch (e) {
        throw new Error(`${(e as Error).message}\npage console:\n${logs.join("\n")}`);
      }
      const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as {
        backend?: string;
        losses?: number[];
        error?: string;
      };
      expect(result.error, `page error; console:\n${logs.join("\n")}`).toBeUndefined();
      expect(result.backend).toBe("webgpu");
      const losses = result.losses!;
      expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.5);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
