/**
 * The browser playground (playground/) in real headless Debian Chromium (playwright-core with
 * /usr/bin/chromium, SwiftShader WebGPU; flags as in webgpu.test.ts): builds the page's bundle
 * with the package's own tsup, serves the directory, runs the default program on CPU and on
 * WebGPU (the printed tensors must hold the hand-computed values), trains the MNIST MLP in the
 * Web Worker for a few dozen steps, reads the accuracy, checks the loss curve was drawn, and saves
 * a screenshot to artifacts/playground.png (a CI artifact). Skips without Chromium unless
 * WEBGPU_REQUIRED=1.
 */
import { existsSync, mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
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

interface PlaygroundModule {
  buildPlayground(outDir?: string): Promise<string>;
  servePlayground(port?: number): Promise<Server>;
}

describe.skipIf(!present)("browser: the playground page in headless Chromium", () => {
  let server: Server | undefined;
  let url = "";

  beforeAll(async () => {
    const mod = (await import(/* @vite-ignore */ join(ROOT, "playground/build.mjs"))) as PlaygroundModule;
    await mod.buildPlayground();
    server = await mod.servePlayground(0);
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
  }, 180_000);

  afterAll(() => {
    server?.close();
  });

  it("runs the program on CPU and WebGPU, trains MNIST in a worker and plots the loss", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    const logs: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
      page.on("console", (m) => logs.push(m.text()));
      page.on("pageerror", (e) => logs.push(String(e)));
      await page.goto(url);
      const ctx = (): string => `\npage console:\n${logs.join("\n")}`;

      // The default program on CPU: x @ x and the gradient of sum(x^2), printed with values.
      await page.click("#run");
      await page.waitForFunction(() => document.body.dataset.ran === "1", undefined, { timeout: 60_000 });
      const cpuOut = await page.textContent("#out");
      expect(await page.textContent("#status"), `${cpuOut}${ctx()}`).toBe("done on cpu");
      expect(cpuOut).toContain("tensor([[ 7, 10],\n        [15, 22]], dtype=float32, shape=[2, 2], device=cpu)");
      expect(cpuOut).toContain("tensor([[2, 4],\n        [6, 8]], dtype=float32, shape=[2, 2], device=cpu)");

      // The same program on WebGPU (SwiftShader).
      await page.selectOption("#backend", "webgpu");
      await page.click("#run");
      await page.waitForFunction(() => document.body.dataset.ran === "2", undefined, { timeout: 90_000 });
      const gpuOut = await page.textContent("#out");
      expect(await page.textContent("#status"), `${gpuOut}${ctx()}`).toBe("done on webgpu");
      expect(gpuOut).toContain("tensor([[7,10],[15,22]], dtype=float32, shape=[2, 2], device=webgpu)");

      // Train the MLP in the worker for a few dozen steps.
      await page.fill("#steps", "40");
      await page.click("#train");
      await page.waitForFunction(() => (document.body.dataset.trained ?? "") !== "", undefined, { timeout: 150_000 });
      const trained = await page.evaluate(() => document.body.dataset.trained ?? "");
      expect(trained, `${await page.textContent("#accuracy")}${ctx()}`).not.toBe("error");
      const acc = Number(trained);
      expect(acc).toBeGreaterThan(0.5); // 10 classes: chance is 0.1
      expect(await page.textContent("#accuracy")).toMatch(/^test accuracy: \d+\.\d%$/);
      expect(await page.textContent("#progress")).toBe("step 40/40");

      // The loss curve: blue line pixels on the canvas.
      const blue = await page.evaluate(() => {
        const c = document.getElementById("loss") as HTMLCanvasElement;
        const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 2]! > 200 && d[i]! < 100 && d[i + 3]! > 0) n++;
        return n;
      });
      expect(blue).toBeGreaterThan(200);

      mkdirSync(join(ROOT, "artifacts"), { recursive: true });
      await page.screenshot({ path: join(ROOT, "artifacts/playground.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 300_000);
});
