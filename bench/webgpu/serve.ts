// Serves the repository root on localhost for bench/webgpu/index.html (needs `npm run build`);
// bare imports of the bundle (immer, fp-ts) resolve through the page's import map.
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const types: Record<string, string> = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html", ".map": "application/json" };
const port = Number(process.env.PORT ?? 8080);
createServer((req, res) => {
  let path = normalize(join(root, decodeURIComponent((req.url ?? "/").split("?")[0]!)));
  // fp-ts's ES modules import each other without extensions.
  if (!existsSync(path) && existsSync(path + ".js")) path += ".js";
  if (!path.startsWith(root) || !existsSync(path) || !statSync(path).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" });
  createReadStream(path).pipe(res);
}).listen(port, "127.0.0.1", () => console.log(`open http://127.0.0.1:${port}/bench/webgpu/index.html`));
