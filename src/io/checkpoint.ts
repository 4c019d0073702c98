/**
 * Checkpoints: `save(path, tree)` / `load(path, like?)` for any pytree (params, optimizer state,
 * step counters, PRNG keys, metrics history, empty nodes, null) as a safetensors file whose
 * `__metadata__` holds the exact tree structure. Writes are atomic: the bytes go to a temporary
 * file in the same directory, are fsynced, then renamed over the target, so a crash or error
 * mid-save leaves the last good checkpoint intact. `load(path, like)` checks the file against a
 * template tree and lists every missing, unexpected, wrong-shape and wrong-dtype entry. Node's
 * `fs` is imported on first use, so the module still loads in browsers (bytes functions only).
 */
import { Tensor } from "../core/tensor.js";
import type { PyTree } from "../core/tree.js";
import { IoError, orThrow } from "./common.js";
import type { Encoded } from "./safetensors.js";
import { assemble, numberLeaf, prepare, readSafetensors } from "./safetensors.js";
import { isPlain } from "./structure.js";

/** Options of `save`. */
export interface SaveOptions {
  /** Extra string metadata stored in the file's `__metadata__`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * Serializes any pytree to safetensors bytes with its structure in `__metadata__` (the bytes
 * `save` writes), reading tensor data asynchronously (works on WebGPU).
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { checkpointBytes, loadCheckpointBytes } from "tenfold/io";
 * const bytes = await checkpointBytes({ step: 3, w: tensor([1, 2]), log: [] });
 * console.log(loadCheckpointBytes(bytes)); // { step: 3, w: Tensor, log: [] }
 * ```
 */
export async function checkpointBytes(tree: unknown, options: SaveOptions = {}): Promise<Uint8Array> {
  const { meta, items } = prepare(tree, "save", options.metadata, true);
  const leaves: Encoded[] = [];
  for (const it of items) {
    if ("num" in it) {
      leaves.push(numberLeaf(it.name, it.num));
      continue;
    }
    const d = await it.t.data();
    leaves.push({ name: it.name, code: it.code, shape: it.t.shape, data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) });
  }
  return assemble(leaves, meta);
}

/**
 * Parses checkpoint bytes back into the tree (see `load`); with `like`, checks it against the template.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { checkpointBytes, loadCheckpointBytes } from "tenfold/io";
 * const t = loadCheckpointBytes(await checkpointBytes({ k: tensor([1, 2], { dtype: "int32" }) })) as { k: { dtype: string } };
 * console.log(t.k.dtype); // "int32"
 * ```
 */
export function loadCheckpointBytes<T = PyTree<Tensor | number>>(bytes: Uint8Array, like?: T, what = "bytes"): T {
  const tree = orThrow(readSafetensors(bytes)).tree;
  if (like === undefined) return tree as T;
  checkAgainst(tree, like, what);
  return conform(tree, like) as T;
}

const CHUNK = 1 << 22;

/** @internal writes bytes to `path` atomically: temp file in the same directory, fsync, rename. */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const { mkdir, open, rename, unlink } = await import("node:fs/promises");
  const { basename, dirname, join } = await import("node:path");
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  const fh = await open(tmp, "w");
  try {
    try {
      for (let at = 0; at < bytes.length;) {
        const { bytesWritten } = await fh.write(bytes, at, Math.min(CHUNK, bytes.length - at));
        at += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  try {
    const d = await open(dir, "r");
    await d.sync().finally(() => d.close());
  } catch {
    // directories cannot be fsynced on some platforms (Windows); the rename is still atomic
  }
}

/**
 * Saves any pytree to `path` as safetensors: params, optimizer state, step counters and other
 * numbers (exact), PRNG keys and other int32/bool tensors, metrics history, nested arrays and
 * objects, empty `{}`/`[]` nodes, `null`. The structure goes into `__metadata__["tenfold.tree"]`,
 * tensor names are the tree paths joined with "." (readable by other frameworks). The write is
 * atomic (temporary file in the same directory, fsync, rename): an error or crash mid-save
 * leaves the previous file at `path` intact. Missing directories are created.
 * @example
 * ```ts
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * import { nn, optim, random, tensor } from "tenfold";
 * import { save, load } from "tenfold/io";
 * const model = nn.sequential(nn.dense(2, 4), nn.relu, nn.dense(4, 1));
 * const params = model.init(random.key(0));
 * const opt = optim.adam({ lr: 1e-3 });
 * const path = join(tmpdir(), `tenfold-doc-${process.pid}.safetensors`);
 * await save(path, { params, opt: opt.init(params), step: 10, key: random.key(1), history: { loss: [0.5, 0.25] } });
 * const back = await load<{ step: number; history: { loss: number[] }; params: object[] }>(path);
 * console.log(back.step, back.history.loss, back.params[1]); // 10 [0.5, 0.25] {}
 * ```
 */
export async function save(path: string, tree: unknown, options: SaveOptions = {}): Promise<void> {
  if (typeof path !== "string" || path === "") throw new TypeError(`save: path must be a non-empty string, got ${JSON.stringify(path)}`);
  await writeAtomic(path, await checkpointBytes(tree, options));
}

/**
 * Loads a pytree saved by `save` (or any safetensors file: without stored structure, dotted
 * names become nested objects and arrays). With `like` (a template tree, e.g. `model.init(key)`
 * or the current training state), the file must match it exactly: otherwise throws `IoError`
 * listing every missing and unexpected name and every shape or dtype mismatch; template numbers
 * accept 0-d tensors from foreign files (returned as numbers). Returns the tree in the template's
 * structure, typed as the template (without one, give the expected type: `load<MyState>(path)`).
 * @example
 * ```ts
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * import { nn, random } from "tenfold";
 * import { save, load } from "tenfold/io";
 * const path = join(tmpdir(), `tenfold-doc-like-${process.pid}.safetensors`);
 * await save(path, nn.dense(3, 2).init(random.key(0)));
 * try {
 *   await load(path, nn.dense(4, 2).init(random.key(0)));
 * } catch (e) {
 *   console.log((e as Error).message.includes("w: shape [3, 2] in the file, [4, 2] in the template")); // true
 * }
 * ```
 */
export async function load<T = PyTree<Tensor | number>>(path: string, like?: T): Promise<T> {
  if (typeof path !== "string" || path === "") throw new TypeError(`load: path must be a non-empty string, got ${JSON.stringify(path)}`);
  const { readFile } = await import("node:fs/promises");
  const bytes = new Uint8Array(await readFile(path));
  try {
    return loadCheckpointBytes(bytes, like, `"${path}"`);
  } catch (e) {
    if (e instanceof IoError && !e.message.startsWith("load:")) throw new IoError(`load: "${path}": ${e.message}`);
    throw e;
  }
}

/** The loaded tree in the template's structure (0-d tensors where the template has numbers become numbers). */
function conform(t: unknown, like: unknown): PyTree<Tensor | number> {
  if (typeof like === "number" && t instanceof Tensor) return t.dataSync()[0]!;
  if (Array.isArray(like) && Array.isArray(t)) return like.map((l: unknown, i) => conform(t[i], l));
  if (isPlain(like) && isPlain(t)) return Object.fromEntries(Object.keys(like).map((k) => [k, conform(t[k], like[k])]));
  return t as PyTree<Tensor | number>;
}

type Flat = Map<string, unknown>;

function flatten(t: unknown, path: string, out: Flat): void {
  if (t instanceof Tensor || typeof t === "number") out.set(path, t);
  else if (Array.isArray(t)) {
    if (t.length === 0) out.set(path, "[]");
    t.forEach((v: unknown, i) => flatten(v, path === "" ? String(i) : `${path}.${i}`, out));
  } else if (isPlain(t)) {
    const keys = Object.keys(t);
    if (keys.length === 0 && path !== "") out.set(path, "{}");
    for (const k of keys) flatten(t[k], path === "" ? k : `${path}.${k}`, out);
  } else out.set(path, t === undefined ? "undefined" : JSON.stringify(t));
}

const describe = (v: unknown): string =>
  v instanceof Tensor ? `tensor ${v.dtype} [${v.shape.join(", ")}]` : typeof v === "number" ? "number" : `${String(v)}`;

/** @internal Checks a loaded tree against a template; throws IoError listing all mismatches. */
export function checkAgainst(tree: unknown, like: unknown, what: string): void {
  const got: Flat = new Map();
  const want: Flat = new Map();
  flatten(tree, "", got);
  flatten(like, "", want);
  const missing: string[] = [];
  const unexpected: string[] = [];
  const wrong: string[] = [];
  for (const [k, w] of want) {
    if (!got.has(k)) {
      missing.push(`${k || "<root>"} (${describe(w)})`);
      continue;
    }
    const g = got.get(k);
    if (w instanceof Tensor && g instanceof Tensor) {
      if (w.shape.length !== g.shape.length || w.shape.some((d, i) => d !== g.shape[i]))
        wrong.push(`${k}: shape [${g.shape.join(", ")}] in the file, [${w.shape.join(", ")}] in the template`);
      if (w.dtype !== g.dtype) wrong.push(`${k}: dtype ${g.dtype} in the file, ${w.dtype} in the template`);
    } else if (typeof w === "number" && (typeof g === "number" || (g instanceof Tensor && g.shape.length === 0))) {
      // a foreign file stores numbers as 0-d tensors
    } else if (!(w instanceof Tensor) && !(typeof w === "number") && w === g) {
      // same static node
    } else wrong.push(`${k || "<root>"}: ${describe(g)} in the file, ${describe(w)} in the template`);
  }
  for (const [k, g] of got) if (!want.has(k)) unexpected.push(`${k || "<root>"} (${describe(g)})`);
  if (missing.length + unexpected.length + wrong.length === 0) return;
  const parts = [
    missing.length ? `missing in the file: ${missing.join(", ")}` : "",
    unexpected.length ? `unexpected in the file: ${unexpected.join(", ")}` : "",
    wrong.length ? `mismatched: ${wrong.join("; ")}` : "",
  ].filter((s) => s !== "");
  throw new IoError(
    `load: ${what} does not match the template (${missing.length} missing, ${unexpected.length} unexpected, ${wrong.length} mismatched): ${parts.join(". ")}`,
  );
}
