/**
 * The published package, used the way a user gets it: `npm pack` (prepack builds dist/ with the
 * repo's tsup config), `npm install <tarball> --offline` into a fresh temp project (its two
 * runtime dependencies installed from the root node_modules copies; no network), then:
 * an ESM script and a CJS script in fresh Node processes (every subpath entry, one shared Tensor
 * brand across both builds), strict `tsc` compiles of a consumer under NodeNext and under the
 * legacy node10 resolution (typesVersions), the ESM build free of CommonJS fp-ts paths, and a
 * bundle (esbuild, honouring package.json `sideEffects`) that still registers the CPU backend.
 * CI packs once and passes the tarball in TENFOLD_TARBALL (the same file publint and attw check).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "../..");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
let proj = "";
let packDir = "";

const run = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });

/** stdout+stderr of a command that must fail with a message, or "" when it succeeded. */
function failure(cmd: string, args: string[], cwd: string): string {
  try {
    run(cmd, args, cwd);
    return "";
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    return `${x.stdout ?? ""}${x.stderr ?? ""}` || x.message;
  }
}

const consumer = (mod: "esm" | "cjs"): string => {
  const imp = (what: string, from: string): string => (mod === "esm" ? `import { ${what} } from "${from}";` : `const { ${what} } = require("${from}");`);
  return [
    imp("tensor, grad, sum, square, nn, jit, isTensor, Tensor, random", "tenfold"),
    imp("checkGrads", "tenfold/laws"),
    imp("adam", "tenfold/optim"),
    imp("accuracy", "tenfold/metrics"),
    imp("saveNpy, loadNpy", "tenfold/io"),
    imp("batches", "tenfold/train"),
    imp("PRIMITIVES", "tenfold/internals"),
    imp("webgpuAvailable", "tenfold/webgpu"),
    imp("exportOnnx", "tenfold/onnx"),
    `const x = tensor([1, 2, 3]);`,
    `checkGrads((v) => sum(square(v)), [x]);`, // the laws entry sees the same Tensor class
    `const g = jit(grad((v) => sum(square(v))))(x);`,
    `const mlp = nn.sequential(nn.dense(3, 2));`,
    `const y = mlp.apply(mlp.init(random.key(0)), tensor([[1, 2, 3]]));`,
    `const opt = adam({ lr: 0.1 });`,
    `const back = loadNpy(saveNpy(x));`,
    `const acc = accuracy(tensor([[0, 1], [1, 0]]), tensor([1, 1], { dtype: "int32" }));`,
    `console.log(JSON.stringify({ g: g.arraySync(), back: back.arraySync(), acc: acc.itemSync(), y: y.shape, opt: typeof opt.init,`,
    `  b: typeof batches, prims: PRIMITIVES.length > 0, gpu: typeof webgpuAvailable, onnx: typeof exportOnnx, brand: isTensor(x) && x instanceof Tensor,`,
    `  str: String(tensor([1, 2])) }));`,
  ].join("\n");
};

describe("the packed package installed into a fresh project", () => {
  beforeAll(() => {
    proj = mkdtempSync(join(tmpdir(), "tenfold-consumer-"));
    let tarball = process.env.TENFOLD_TARBALL;
    if (!tarball) {
      packDir = mkdtempSync(join(tmpdir(), "tenfold-pack-"));
      run(NPM, ["pack", "--pack-destination", packDir, "--silent"], ROOT); // prepack: npm run build
      tarball = join(
        packDir,
        readdirSync(packDir).find((f) => f.endsWith(".tgz"))!,
      );
    }
    writeFileSync(join(proj, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
    // The runtime dependencies come from local copies (the root node_modules), packed and copied
    // (--install-links), so the install needs no registry metadata at all.
    // fast-check (and its dependency pure-rand) is the optional peer that tenfold/laws needs.
    const deps = ["fp-ts", "immer", "fast-check", "pure-rand"].map((d) => join(ROOT, "node_modules", d));
    run(NPM, ["install", resolve(tarball), ...deps, "--install-links", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], proj);
    writeFileSync(join(proj, "a.mjs"), consumer("esm"));
    writeFileSync(join(proj, "b.cjs"), consumer("cjs"));
  }, 400_000);

  afterAll(() => {
    for (const d of [proj, packDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("installs only the package's runtime dependencies (no webgpu, no dev tools)", () => {
    const nm = readdirSync(join(proj, "node_modules")).filter((n) => !n.startsWith("."));
    expect(nm.sort()).toEqual(["fast-check", "fp-ts", "immer", "pure-rand", "tenfold"]);
    const lock = readFileSync(join(proj, "package-lock.json"), "utf8");
    expect(lock).not.toMatch(/node_modules\/webgpu/); // an optional peer: never pulled in
    for (const f of ["LICENSE", "README.md", "dist/index.js", "dist/index.cjs", "dist/internals.d.ts", "dist/internals.d.cts"]) {
      expect(existsSync(join(proj, "node_modules/tenfold", f)), f).toBe(true);
    }
  });

  it.each(["a.mjs", "b.cjs"])("runs %s in a fresh Node process", (file) => {
    const out = JSON.parse(run(process.execPath, [file], proj).trim()) as Record<string, unknown>;
    expect(out).toEqual({
      g: [2, 4, 6],
      back: [1, 2, 3],
      acc: 0.5,
      y: [1, 2],
      opt: "function",
      b: "function",
      prims: true,
      gpu: "function",
      onnx: "function",
      brand: true,
      str: "tensor([1, 2], dtype=float32, shape=[2], device=cpu)",
    });
  });

  it("shares one Tensor brand between the ESM and the CJS build in one process", () => {
    writeFileSync(
      join(proj, "mixed.mjs"),
      [
        `import { createRequire } from "node:module";`,
        `import * as esm from "tenfold";`,
        `const cjs = createRequire(import.meta.url)("tenfold");`,
        `const a = esm.tensor([1]), b = cjs.tensor([2]);`,
        `console.log(JSON.stringify([esm.Tensor !== cjs.Tensor, a instanceof cjs.Tensor, b instanceof esm.Tensor, esm.isTensor(b), cjs.isTensor(a), esm.isTensor({})]));`,
      ].join("\n"),
    );
    expect(JSON.parse(run(process.execPath, ["mixed.mjs"], proj))).toEqual([true, true, true, true, true, false]);
  });

  it("ships an ESM build without CommonJS fp-ts paths", () => {
    const dist = join(proj, "node_modules/tenfold/dist");
    const esmFiles = readdirSync(dist).filter((f) => f.endsWith(".js"));
    for (const f of esmFiles) expect(readFileSync(join(dist, f), "utf8"), f).not.toMatch(/fp-ts\/lib\/|require\(["']fp-ts/);
    const cjs = readdirSync(dist)
      .filter((f) => f.endsWith(".cjs"))
      .map((f) => readFileSync(join(dist, f), "utf8"))
      .join("\n");
    expect(cjs).toMatch(/require\(["']fp-ts\/lib\/Either\.js["']\)/);
  });

  const tsConsumer = [
    `import { tensor, grad, sum, square, nn, optim, random, isTensor, type Tensor } from "tenfold";`,
    `import { adam } from "tenfold/optim";`,
    `import { META } from "tenfold/internals";`,
    `import { accuracy } from "tenfold/metrics";`,
    `const f = (v: Tensor): Tensor => sum(square(v));`,
    `const g: Tensor = grad(f)(tensor([1, 2]));`,
    `const s = adam({ lr: 1e-3 });`,
    `const t: optim.GradientTransformation = optim.sgd({ lr: 0.1 });`,
    `const st: optim.OptState = t.init({ w: g });`,
    `const mlp = nn.sequential(nn.dense(2, 3), nn.relu, nn.dense(3, 1));`,
    `const [d0, , d2] = mlp.init(random.key(0));`,
    `const w: Tensor = d0.w; const b: Tensor = d2.w;`,
    `const [, aux] = grad((x: Tensor) => [sum(x), { n: 1 }] as const, { hasAux: true })(g);`,
    `const n: Tensor = aux.n;`,
    `export const out = [g.shape, s, st, w, b, n, isTensor(g), Object.keys(META).length, accuracy];`,
  ].join("\n");

  it.each([
    ["NodeNext", { module: "NodeNext", moduleResolution: "NodeNext" }],
    ["node10", { module: "CommonJS", moduleResolution: "node10" }],
  ] as const)("type-checks a strict TypeScript consumer (moduleResolution %s)", (name, opts) => {
    writeFileSync(join(proj, `c-${name}.ts`), tsConsumer);
    writeFileSync(
      join(proj, `tsconfig.${name}.json`),
      JSON.stringify({
        compilerOptions: { ...opts, strict: true, target: "ES2022", lib: ["ES2022", "DOM", "ESNext.Disposable"], noEmit: true, skipLibCheck: false, types: [] },
        files: [`c-${name}.ts`],
      }),
    );
    expect(failure(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", `tsconfig.${name}.json`], proj)).toBe("");
  });

  it("keeps the backend registration when bundled with sideEffects honoured", async () => {
    const { build } = await import("esbuild");
    writeFileSync(
      join(proj, "bundle-in.mjs"),
      `import { add, tensor, getBackend } from "tenfold";\nconsole.log(getBackend(), add(tensor([1, 2]), 1).arraySync().join(","));\n`,
    );
    await build({
      entryPoints: [join(proj, "bundle-in.mjs")],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: join(proj, "bundle-out.mjs"),
      logLevel: "error",
      external: ["webgpu"],
    });
    expect(run(process.execPath, ["bundle-out.mjs"], proj).trim()).toBe("cpu 2,3");
  });
});
