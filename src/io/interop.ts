/**
 * Weight interop with PyTorch `state_dict`s and Flax/JAX param trees: map their names and
 * layouts onto a tenfold params template (`model.init(key)`), and export the other way.
 *
 * PyTorch: the tree path is the module path (`nn.sequential` index i is `i.`, an object key `k`
 * is `k.`); dense `{w [in,out], b}` is `Linear` (`weight [out,in]`, transposed); conv `{w, b}`
 * keeps `weight` (OIHW in both); `{table}` is `Embedding.weight`; `{scale, bias}` is
 * `LayerNorm`/`BatchNorm` `weight`/`bias`; RNN `{wx, wh, b[, bh]}` is `weight_ih_l0`,
 * `weight_hh_l0` (transposed; gate order i,f,g,o for LSTM and r,z,n for GRU is the same in both)
 * with `b = bias_ih_l0 + bias_hh_l0` (GRU: `b = bias_ih_l0`, `bh = bias_hh_l0`).
 *
 * Flax: modules are named by kind and a per-parent counter (`Dense_0`, `Conv_1`, `Embed_0`,
 * `LayerNorm_0` or `BatchNorm_0`) in arrays, and by their key in objects; dense `w` is `kernel`
 * (same layout), conv `w [out,in,...k]` is `kernel [...k,in,out]`, `table` is `embedding`.
 */
import { Tensor } from "../core/tensor.js";
import { isFloat } from "../core/dtype.js";
import { add, astype } from "../ops/elementwise.js";
import { zerosLike } from "../ops/creation.js";
import { permuteDims } from "../ops/shape.js";
import { IoError } from "./common.js";
import { isPlain } from "./structure.js";

/** Options of `fromTorch` / `fromFlax`. */
export interface FromForeignOptions {
  /**
   * When true (the default), names in the file that the template does not use are an error (as
   * PyTorch's `load_state_dict(strict=True)`); false ignores them (e.g. BatchNorm's `running_mean`).
   */
  readonly strict?: boolean;
}

type Kind = "dense" | "conv" | "embed" | "norm" | "rnn" | "gru";

function kindOf(node: Record<string, unknown>): Kind | undefined {
  const keys = Object.keys(node).sort().join(",");
  const t = (k: string): Tensor | undefined => (node[k] instanceof Tensor ? (node[k] as Tensor) : undefined);
  if ((keys === "b,w" || keys === "w") && t("w")) return t("w")!.ndim === 2 ? "dense" : "conv";
  if (keys === "table" && t("table")) return "embed";
  if (keys === "bias,scale" && t("scale") && t("bias")) return "norm";
  if (keys === "b,wh,wx" && t("wx") && t("wh") && t("b")) return "rnn";
  if (keys === "b,bh,wh,wx" && t("wx") && t("wh") && t("b") && t("bh")) return "gru";
  return undefined;
}

const T2 = (x: Tensor): Tensor => permuteDims(x, [1, 0]);

/** Flattens a loaded foreign tree (nested or flat keys) into names joined by `sep`. */
function flatNames(t: unknown, sep: string, fn: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const rec = (x: unknown, path: string): void => {
    if (x instanceof Tensor) out.set(path, x);
    else if (Array.isArray(x)) x.forEach((v: unknown, i) => rec(v, path === "" ? String(i) : `${path}${sep}${i}`));
    else if (isPlain(x)) for (const [k, v] of Object.entries(x)) rec(v, path === "" ? k : `${path}${sep}${k}`);
    else if (x !== null && x !== undefined)
      throw new TypeError(`${fn}: the weights must be a tree of tensors (as loadSafetensors returns); got ${typeof x} at "${path}"`);
  };
  rec(t, "");
  return out;
}

/** Looks names up in the foreign weights, recording what is missing, mismatched and used. */
class Lookup {
  readonly used = new Set<string>();
  readonly missing: string[] = [];
  readonly wrong: string[] = [];
  constructor(
    readonly names: Map<string, Tensor>,
    readonly fn: string,
  ) {}

  get(name: string, want: Tensor, convert: (x: Tensor) => Tensor = (x) => x, layout = ""): Tensor {
    const x = this.names.get(name);
    if (x === undefined) {
      this.missing.push(`${name} [${want.shape.join(", ")}]`);
      return want;
    }
    this.used.add(name);
    const y = convert(x);
    if (y.shape.length !== want.shape.length || y.shape.some((d, i) => d !== want.shape[i])) {
      this.wrong.push(`${name}: shape [${x.shape.join(", ")}] in the file${layout ? ` (${layout})` : ""}, template needs [${want.shape.join(", ")}]`);
      return want;
    }
    if (y.dtype === want.dtype) return y;
    if (isFloat(y.dtype) && isFloat(want.dtype)) return astype(y, want.dtype);
    this.wrong.push(`${name}: dtype ${y.dtype} in the file, template needs ${want.dtype}`);
    return want;
  }

  finish(strict: boolean): void {
    const unexpected = strict ? [...this.names.keys()].filter((n) => !this.used.has(n)) : [];
    if (this.missing.length + this.wrong.length + unexpected.length === 0) return;
    const parts = [
      this.missing.length ? `missing in the file: ${this.missing.join(", ")}` : "",
      unexpected.length ? `unexpected in the file: ${unexpected.join(", ")} (pass { strict: false } to ignore)` : "",
      this.wrong.length ? `mismatched: ${this.wrong.join("; ")}` : "",
    ].filter((s) => s !== "");
    throw new IoError(
      `${this.fn}: the weights do not match the template (${this.missing.length} missing, ${unexpected.length} unexpected, ${this.wrong.length} mismatched): ${parts.join(". ")}`,
    );
  }
}

function checkLike(like: unknown, fn: string): void {
  if (!Array.isArray(like) && !isPlain(like))
    throw new TypeError(
      `${fn}: like must be a params tree (an array or object, e.g. model.init(key)), got ${like instanceof Tensor ? "a tensor" : typeof like}`,
    );
}

/**
 * Loads a PyTorch `state_dict` (the tree `loadSafetensors` returns for a file written by
 * `safetensors.torch.save_file(model.state_dict(), ...)`, or a flat `{ "0.weight": tensor }`
 * record) into tenfold params shaped like `like` (`model.init(key)`): names are mapped and
 * Linear/RNN weights transposed (see the module header). Throws `IoError` listing every missing,
 * unexpected (unless `strict: false`) and wrong-shape name.
 * @example
 * ```ts
 * import { nn, random, tensor } from "tenfold";
 * import { fromTorch } from "tenfold/io";
 * const model = nn.sequential(nn.dense(2, 3), nn.relu, nn.dense(3, 1));
 * const sd = { "0.weight": tensor([[1, 2], [3, 4], [5, 6]]), "0.bias": tensor([0, 0, 0]), "2.weight": tensor([[1, 1, 1]]), "2.bias": tensor([0.5]) };
 * const params = fromTorch(sd, model.init(random.key(0)));
 * console.log(model.apply(params, tensor([[1, 1]])).arraySync()); // [[21.5]]
 * ```
 */
export function fromTorch<T>(stateDict: unknown, like: T, options: FromForeignOptions = {}): T {
  checkLike(like, "fromTorch");
  const L = new Lookup(flatNames(stateDict, ".", "fromTorch"), "fromTorch");
  const rec = (node: unknown, prefix: string): unknown => {
    const p = (k: string): string => (prefix === "" ? k : `${prefix}.${k}`);
    if (node instanceof Tensor) return L.get(prefix, node);
    if (Array.isArray(node)) return node.map((c: unknown, i) => rec(c, p(String(i))));
    if (!isPlain(node)) return node;
    const kind = kindOf(node);
    const n = node as Record<string, Tensor>;
    if (kind === "dense") return { w: L.get(p("weight"), n.w!, T2, "Linear [out, in]"), ...(n.b ? { b: L.get(p("bias"), n.b) } : {}) };
    if (kind === "conv") return { w: L.get(p("weight"), n.w!), ...(n.b ? { b: L.get(p("bias"), n.b) } : {}) };
    if (kind === "embed") return { table: L.get(p("weight"), n.table!) };
    if (kind === "norm") return { scale: L.get(p("weight"), n.scale!), bias: L.get(p("bias"), n.bias!) };
    if (kind === "rnn" || kind === "gru") {
      const wx = L.get(p("weight_ih_l0"), n.wx!, T2, "[gates·hidden, in]");
      const wh = L.get(p("weight_hh_l0"), n.wh!, T2, "[gates·hidden, hidden]");
      const bi = L.get(p("bias_ih_l0"), n.b!);
      const bh = L.get(p("bias_hh_l0"), n.bh ?? n.b!);
      return kind === "gru" ? { wx, wh, b: bi, bh } : { wx, wh, b: add(bi, bh) };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rec(v, p(k))]));
  };
  const out = rec(like, "");
  L.finish(options.strict ?? true);
  return out as T;
}

/**
 * Exports tenfold params as a PyTorch `state_dict`: a flat record of PyTorch names to tensors
 * in PyTorch layouts (the inverse of `fromTorch`; RNN biases go to `bias_ih_l0`, with
 * `bias_hh_l0` zero). Save it with `saveSafetensors` and load it in Python with
 * `model.load_state_dict(safetensors.torch.load_file(path))`.
 * @example
 * ```ts
 * import { nn, random } from "tenfold";
 * import { toTorch } from "tenfold/io";
 * const sd = toTorch(nn.sequential(nn.dense(2, 3), nn.relu, nn.dense(3, 1)).init(random.key(0)));
 * console.log(Object.keys(sd), sd["0.weight"]!.shape); // ["0.weight", "0.bias", "2.weight", "2.bias"] [3, 2]
 * ```
 */
export function toTorch(params: unknown): Record<string, Tensor> {
  checkLike(params, "toTorch");
  const out: Record<string, Tensor> = {};
  const put = (name: string, x: Tensor | undefined): void => {
    if (x) Object.defineProperty(out, name, { value: x, enumerable: true, writable: true, configurable: true });
  };
  const rec = (node: unknown, prefix: string): void => {
    const p = (k: string): string => (prefix === "" ? k : `${prefix}.${k}`);
    if (node instanceof Tensor) return put(prefix, node);
    if (Array.isArray(node)) return node.forEach((c: unknown, i) => rec(c, p(String(i))));
    if (!isPlain(node)) return;
    const kind = kindOf(node);
    const n = node as Record<string, Tensor | undefined>;
    if (kind === "dense" || kind === "conv") {
      put(p("weight"), kind === "dense" ? T2(n.w!) : n.w);
      return put(p("bias"), n.b);
    }
    if (kind === "embed") return put(p("weight"), n.table);
    if (kind === "norm") {
      put(p("weight"), n.scale);
      return put(p("bias"), n.bias);
    }
    if (kind === "rnn" || kind === "gru") {
      put(p("weight_ih_l0"), T2(n.wx!));
      put(p("weight_hh_l0"), T2(n.wh!));
      put(p("bias_ih_l0"), n.b);
      return put(p("bias_hh_l0"), n.bh ?? zerosLike(n.b!));
    }
    for (const [k, v] of Object.entries(node)) rec(v, p(k));
  };
  rec(params, "");
  return out;
}

const FLAX_NAME: Readonly<Record<Kind, string>> = { dense: "Dense", conv: "Conv", embed: "Embed", norm: "LayerNorm", rnn: "RNN", gru: "RNN" };

/** Flax child names of an array container: kind + per-kind counter (parameter-free entries skipped). */
function flaxNames(children: readonly unknown[], fn: string): (string | undefined)[] {
  const count = new Map<string, number>();
  return children.map((c, i) => {
    if (c instanceof Tensor) throw new TypeError(`${fn}: a bare tensor at index ${i} has no Flax module name; wrap it in an object`);
    if (!Array.isArray(c) && (!isPlain(c) || Object.keys(c).length === 0)) return undefined;
    const kind = Array.isArray(c) ? undefined : kindOf(c);
    if (kind === undefined)
      throw new TypeError(
        `${fn}: entry ${i} of an array is not a single layer's params (dense, conv, embedding, layerNorm/batchNorm), so it has no automatic Flax name; put it under an object key named as the Flax submodule`,
      );
    if (kind === "rnn" || kind === "gru")
      throw new TypeError(`${fn}: RNN params have no Flax equivalent here (Flax's LSTMCell splits gates into ii/if/ig/io...); map them by hand`);
    const base = FLAX_NAME[kind];
    const k = count.get(base) ?? 0;
    count.set(base, k + 1);
    return `${base}_${k}`;
  });
}

const convToFlax = (w: Tensor): Tensor => permuteDims(w, [...Array.from({ length: w.ndim - 2 }, (_, i) => i + 2), 1, 0]);
const convFromFlax = (k: Tensor): Tensor => {
  const s = k.ndim - 2;
  return permuteDims(k, [s + 1, s, ...Array.from({ length: s }, (_, i) => i)]);
};

/**
 * Loads a Flax/JAX param tree into tenfold params shaped like `like`: either the nested tree
 * (`{ params: { Dense_0: { kernel, bias } } }`) or the flat names `flax.traverse_util.flatten_dict
 * (params, sep="/")` gives (`params/Dense_0/kernel`, as `loadSafetensors` returns them), with or
 * without the leading `params`. Conv kernels are transposed from HWIO; `LayerNorm_i` and
 * `BatchNorm_i` are both accepted for `{scale, bias}`. Throws `IoError` listing every mismatch.
 * @example
 * ```ts
 * import { nn, random, tensor } from "tenfold";
 * import { fromFlax } from "tenfold/io";
 * const model = nn.sequential(nn.dense(2, 1), nn.relu, nn.dense(1, 1));
 * const flax = { "params/Dense_0/kernel": tensor([[1], [2]]), "params/Dense_0/bias": tensor([0]), "params/Dense_1/kernel": tensor([[3]]), "params/Dense_1/bias": tensor([1]) };
 * const params = fromFlax(flax, model.init(random.key(0)));
 * console.log(model.apply(params, tensor([[1, 1]])).arraySync()); // [[10]]
 * ```
 */
export function fromFlax<T>(tree: unknown, like: T, options: FromForeignOptions = {}): T {
  checkLike(like, "fromFlax");
  const raw = flatNames(tree, "/", "fromFlax");
  const names = new Map<string, Tensor>();
  for (const [k, v] of raw) names.set(k.startsWith("params/") ? k.slice(7) : k, v);
  const L = new Lookup(names, "fromFlax");
  const rec = (node: unknown, prefix: string): unknown => {
    const p = (k: string): string => (prefix === "" ? k : `${prefix}/${k}`);
    if (node instanceof Tensor) return L.get(prefix, node);
    if (Array.isArray(node)) {
      const fn = flaxNames(node, "fromFlax");
      return node.map((c: unknown, i) => (fn[i] === undefined ? c : rec(c, p(fn[i]!))));
    }
    if (!isPlain(node)) return node;
    const kind = kindOf(node);
    const n = node as Record<string, Tensor>;
    if (kind === "dense" || kind === "conv") {
      const w = kind === "dense" ? L.get(p("kernel"), n.w!) : L.get(p("kernel"), n.w!, convFromFlax, "Flax kernel [...window, in, out]");
      return { w, ...(n.b ? { b: L.get(p("bias"), n.b) } : {}) };
    }
    if (kind === "embed") return { table: L.get(p("embedding"), n.table!) };
    if (kind === "norm" && prefix !== "") {
      const alt = prefix.replace(/(^|\/)LayerNorm_(\d+)$/, "$1BatchNorm_$2");
      const q = !names.has(p("scale")) && names.has(`${alt}/scale`) ? (k: string): string => `${alt}/${k}` : p;
      return { scale: L.get(q("scale"), n.scale!), bias: L.get(q("bias"), n.bias!) };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rec(v, p(k))]));
  };
  const out = rec(like, "");
  L.finish(options.strict ?? true);
  return out as T;
}

/** A nested Flax-style tree of tensors. */
export type FlaxTree = { readonly [k: string]: Tensor | FlaxTree };

/**
 * Exports tenfold params as a Flax param tree `{ params: { Dense_0: { kernel, bias }, ... } }`
 * (the inverse of `fromFlax`). `saveSafetensors` writes it with names `params.Dense_0.kernel`;
 * in Python, `flax.traverse_util.unflatten_dict(load_file(path), sep=".")` rebuilds the tree.
 * @example
 * ```ts
 * import { nn, random } from "tenfold";
 * import { toFlax } from "tenfold/io";
 * const f = toFlax(nn.sequential(nn.conv2d(1, 2, 3), nn.relu, nn.dense(4, 2)).init(random.key(0)));
 * const p = f.params as Record<string, Record<string, { shape: number[] }>>;
 * console.log(Object.keys(p), p.Conv_0!.kernel!.shape); // ["Conv_0", "Dense_0"] [3, 3, 1, 2]
 * ```
 */
export function toFlax(params: unknown): { readonly params: FlaxTree } {
  checkLike(params, "toFlax");
  const rec = (node: unknown): Tensor | FlaxTree | undefined => {
    if (node instanceof Tensor) return node;
    if (Array.isArray(node)) {
      const fn = flaxNames(node, "toFlax");
      const out: Record<string, Tensor | FlaxTree> = {};
      node.forEach((c: unknown, i) => {
        const v = fn[i] === undefined ? undefined : rec(c);
        if (v !== undefined) out[fn[i]!] = v;
      });
      return out;
    }
    if (!isPlain(node)) return undefined;
    const kind = kindOf(node);
    const n = node as Record<string, Tensor>;
    if (kind === "dense" || kind === "conv") return { kernel: kind === "dense" ? n.w! : convToFlax(n.w!), ...(n.b ? { bias: n.b } : {}) };
    if (kind === "embed") return { embedding: n.table! };
    if (kind === "rnn" || kind === "gru")
      throw new TypeError("toFlax: RNN params have no Flax equivalent here (Flax's LSTMCell splits gates into ii/if/ig/io...); map them by hand");
    const out: Record<string, Tensor | FlaxTree> = {};
    for (const [k, v] of Object.entries(node)) {
      const r = rec(v);
      if (r !== undefined) out[k] = r;
    }
    return out;
  };
  return { params: (rec(params) ?? {}) as FlaxTree };
}
