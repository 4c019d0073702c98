/**
 * The published package: builds every entry with the repo's tsup config (ESM + CJS + .d.ts) into a
 * scratch `node_modules/tenfold`, then uses it from a consumer project the way users do — `import`
 * and `require` of "tenfold" and its subpaths in fresh Node processes, and a strict `tsc` check of
 * a TypeScript consumer against the emitted declarations.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "../..");
let proj = "";

const consumer = (mod: "esm" | "cjs"): string => {
  const imp = (what: string, from: string): string =>
    mod === "esm" ? `import { ${what} } from "${from}";` : `const { ${what} } = require("${from}");`;
  return [
    imp("tensor, grad, sum, square, nn, jit", "tenfold"),
    imp("checkGrads", "tenfold/laws"),
    imp("adam", "tenfold/optim"),
    imp("accuracy", "tenfold/metrics"),
    imp("saveNpy, loadNpy", "tenfold/io"),
    imp("batches", "tenfold/train"),
    `const x = tensor([1, 2, 3]);`,
    `checkGrads((v) => sum(square(v)), [x]);`, // the laws entry sees the same Tensor class
    `const g = jit(grad((v) => sum(square(v))))(x);`,
    `const layer = nn.dense(3, 2);`,
    `const opt = adam({ lr: 0.1 });`,
    `const back = loadNpy(saveNpy(x));`,
    `const acc = accuracy(tensor([[0, 1], [1, 0]]), tensor([1, 1], { dtype: "int32" }));`,
    `console.log(JSON.stringify({ g: g.arraySync(), back: back.arraySync(), acc: acc.itemSync(), opt: typeof opt.init, layer: typeof layer.init, b: typeof batches }));`,
  ].join("\n");
};

describe("the built package", () => {
  beforeAll(async () => {
    proj = mkdtempSync(join(tmpdir(), "tenfold-pkg-"));
    const pkg = join(proj, "node_modules", "tenfold");
    mkdirSync(pkg, { recursive: true });
    const { build } = await import("tsup");
    await build({
      entry: {
        index: join(ROOT, "src/index.ts"), nn: join(ROOT, "src/nn/index.ts"), optim: join(ROOT, "src/optim/index.ts"),
        metrics: join(ROOT, "src/metrics/index.ts"), io: join(ROOT, "src/io/index.ts"), train: join(ROOT, "src/train/index.ts"),
        laws: join(ROOT, "laws/index.ts"), linalg: join(ROOT, "src/linalg/index.ts"), webgpu: join(ROOT, "src/backends/webgpu/index.ts"),
      },
      format: ["esm", "cjs"],
      dts: true,
      outDir: join(pkg, "dist"),
      splitting: true,
      silent: true,
      target: "es2022",
      external: ["webgpu", "fast-check"],
      outExtension: ({ format }) => ({ js: format === "cjs" ? ".cjs" : ".js" }),
      config: false,
    });
    cpSync(join(ROOT, "package.json"), join(pkg, "package.json"));
    for (const dep of ["immer", "fp-ts", "fast-check", "@types"]) {
      symlinkSync(join(ROOT, "node_modules", dep), join(proj, "node_modules", dep), "dir");
    }
    writeFileSync(join(proj, "a.mjs"), consumer("esm"));
    writeFileSync(join(proj, "b.cjs"), consumer("cjs"));
  }, 180_000);

  afterAll(() => {
    if (proj) rmSync(proj, { recursive: true, force: true });
  });

  it("has ESM, CJS and declarations for every entry of package.json exports", () => {
    for (const e of ["index", "nn", "optim", "metrics", "io", "train", "laws", "linalg", "webgpu"]) {
      for (const ext of [".js", ".cjs", ".d.ts", ".d.cts"]) {
        expect(existsSync(join(proj, "node_modules/tenfold/dist", e + ext)), e + ext).toBe(true);
      }
    }
  });

  it.each(["a.mjs", "b.cjs"])("works from %s in a fresh Node process", (file) => {
    const out = execFileSync(process.execPath, [file], { cwd: proj, encoding: "utf8" });
    expect(JSON.parse(out.trim())).toEqual({ g: [2, 4, 6], back: [1, 2, 3], acc: 0.5, opt: "function", layer: "function", b: "function" });
  });

  it("type-checks a strict TypeScript consumer against the emitted declarations", () => {
    writeFileSync(
      join(proj, "c.ts"),
      `import { tensor, grad, sum, square, type Tensor } from "tenfold";\nimport { adam } from "tenfold/optim";\n` +
        `import { optim, nn } from "tenfold";\n` +
        `const f = (v: Tensor): Tensor => sum(square(v));\nconst g: Tensor = grad(f)(tensor([1, 2]));\nconst s = adam({ lr: 1e-3 });\n` +
        `const t: optim.GradientTransformation = optim.sgd({ lr: 0.1 });\nconst st: optim.OptState = t.init({ w: g });\nconst p: nn.Params = nn.dense(2, 1).init(tensor([0, 1], { dtype: "int32" }));\n` +
        `export const out = [g.shape, s, st, p];\n`,
    );
    writeFileSync(join(proj, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", noEmit: true, skipLibCheck: false, types: ["node"] }, files: ["c.ts"] }));
    let out = "";
    try {
      execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", proj], { cwd: proj, encoding: "utf8" });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(out).toBe("");
  });
});
