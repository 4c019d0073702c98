// Builds the playground: bundles the package's own ESM entry (src/index.ts, with the WebGPU
// backend as a lazily loaded chunk) for the browser into playground/dist/tenfold.js, with the
// same tsup used for `npm run build`. `node playground/build.mjs --serve` also serves the page
// on http://127.0.0.1:8080/ (any static server works).
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..");

/** Bundles tenfold for the browser into `outDir` (default playground/dist). */
export async function buildPlayground(outDir = join(HERE, "dist")) {
  const { build } = await import("tsup");
  await build({
    entry: { tenfold: join(ROOT, "src/index.ts"), webgpu: join(ROOT, "src/backends/webgpu/index.ts") },
    format: ["esm"],
    outDir,
    splitting: true,
    dts: false,
    silent: true,
    platform: "browser",
    target: "es2022",
    external: ["webgpu"],
    noExternal: ["immer", "fp-ts"], // a page has no node_modules resolution
    config: false,
  });
  return outDir;
}

const TYPES = { ".js": "text/javascript", ".html": "text/html", ".bin": "application/octet-stream", ".map": "application/json" };

/** Serves the playground directory; resolves to the server once listening. */
export function servePlayground(port = 0) {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const p = normalize(join(HERE, path === "/" ? "index.html" : path));
    if (!p.startsWith(HERE) || !existsSync(p)) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": TYPES[extname(p)] ?? "application/octet-stream" }).end(readFileSync(p));
  });
  return new Promise((r) => server.listen(port, "127.0.0.1", () => r(server)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildPlayground();
  if (process.argv.includes("--serve")) {
    const server = await servePlayground(8080);
    console.log(`playground: http://127.0.0.1:${server.address().port}/`);
  } else console.log("built playground/dist/");
}
