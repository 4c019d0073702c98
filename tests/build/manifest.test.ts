/**
 * package.json as the ecosystem reads it (issue 15): license and repository fields, an honest
 * `sideEffects` list (the files that register backends on import), `webgpu` as an optional peer
 * that neither the root install nor the tarball pulls in, benchmark peers only in bench/, types
 * for every subpath under node10 resolution (`typesVersions`), and the WebGPU test environment
 * pinned to the same `webgpu` version as the peer range.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "../..");
const read = (p: string): Record<string, unknown> => JSON.parse(readFileSync(join(ROOT, p), "utf8")) as Record<string, unknown>;
const pkg = read("package.json");
type Deps = Record<string, string>;

describe("package.json", () => {
  it("has a license file and repository metadata", () => {
    expect(pkg.license).toBe("MIT");
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License/);
    expect((pkg.repository as { url: string }).url).toMatch(/^git\+https:\/\/github\.com\//);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect((pkg.bugs as { url: string }).url).toMatch(/\/issues$/);
    expect(pkg.files).toEqual(expect.arrayContaining(["dist", "LICENSE", "README.md"]));
  });

  it("lists exactly the side-effectful files: the backend registrations", () => {
    const se = pkg.sideEffects as string[];
    expect(Array.isArray(se)).toBe(true);
    expect(se).toContain("./src/backends/*/index.ts");
    for (const f of ["reference", "cpu", "webgpu"]) {
      expect(readFileSync(join(ROOT, `src/backends/${f}/index.ts`), "utf8")).toMatch(/^registerBackend\(/m);
    }
    // Pure entries (re-exports only) are not listed, so bundlers may drop them.
    for (const e of ["optim", "metrics", "io", "train", "laws", "internals"]) expect(se).not.toContain(`./dist/${e}.js`);
  });

  it("keeps webgpu an optional peer and benchmark peers out of the root install", () => {
    const peers = pkg.peerDependencies as Deps;
    const meta = pkg.peerDependenciesMeta as Record<string, { optional?: boolean }>;
    expect(peers.webgpu).toBeDefined();
    expect(meta.webgpu?.optional).toBe(true);
    const dev = pkg.devDependencies as Deps;
    for (const d of ["webgpu", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "@jax-js/jax", "onnxruntime-node", "typedoc"]) {
      expect(Object.keys(dev)).not.toContain(d);
    }
    const bench = read("bench/package.json").dependencies as Deps;
    expect(Object.keys(bench)).toEqual(expect.arrayContaining(["@tensorflow/tfjs", "@jax-js/jax", "onnxruntime-node"]));
    expect(pkg.scripts).toMatchObject({ bench: expect.stringContaining("--prefix bench install") });
    // The WebGPU test environment installs the very version the peer range names.
    expect((read("tests/webgpu-env/package.json").dependencies as Deps).webgpu).toBe(peers.webgpu);
    const lock = read("package-lock.json") as { packages: Record<string, unknown> };
    expect(Object.keys(lock.packages).filter((k) => /node_modules\/(webgpu|@tensorflow|onnxruntime|@jax-js)/.test(k))).toEqual([]);
  });

  it("resolves types for every subpath under node10 (typesVersions) and maps every export", () => {
    const exp = pkg.exports as Record<string, unknown>;
    const tv = (pkg.typesVersions as Record<string, Record<string, string[]>>)["*"]!;
    const subs = Object.keys(exp)
      .filter((k) => k !== "." && k !== "./package.json")
      .map((k) => k.slice(2));
    expect(subs.sort()).toEqual(Object.keys(tv).sort());
    expect(subs).toContain("internals");
    for (const s of subs) expect(tv[s]).toEqual([`./dist/${s}.d.ts`]);
    expect(existsSync(join(ROOT, "src/internals.ts"))).toBe(true);
  });
});
