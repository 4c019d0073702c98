/**
 * Attention layers: sinusoidal positional encoding, multi-head self-attention (causal mask and
 * padding mask), and a pre-layer-norm transformer block. Inputs are `[..., time, dModel]`.
 */
import type { Tensor } from "../ops.js";
import {
  ShapeError,
  add,
  arange,
  astype,
  divide,
  expandDims,
  lessEqual,
  logicalAnd,
  matmul,
  permuteDims,
  random,
  reshape,
  slice,
  tensor,
  where,
} from "../ops.js";
import { relu, softmax } from "../activations.js";
import type { ApplyOptions, Layer } from "../layer.js";
import { makeLayer } from "../layer.js";
import type { DenseParams } from "./basic.js";
import { dense, dropout, expectAxis } from "./basic.js";
import type { NormParams } from "./norm.js";
import { layerNorm } from "./norm.js";

/** The sinusoidal table `[maxLen, dModel]`: sin on even, cos on odd features. */
export function sinusoidTable(maxLen: number, dModel: number): Tensor {
  const data = new Float32Array(maxLen * dModel);
  for (let pos = 0; pos < maxLen; pos++) {
    for (let i = 0; i < dModel; i++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(i / 2)) / dModel);
      data[pos * dModel + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tensor(data, { shape: [maxLen, dModel] });
}

/**
 * Adds the sinusoidal positional encoding of "Attention Is All You Need" to `[..., time, dModel]`
 * (time ≤ maxLen). No parameters.
 * @example
 * ```ts
 * import { nn, zeros } from "tenfold";
 * const pe = nn.positionalEncoding(50, 4);
 * console.log(pe.apply({}, zeros([1, 3, 4])).arraySync()); // row 1: [sin 1, cos 1, sin 0.01, cos 0.01]
 * ```
 */
export function positionalEncoding(maxLen: number, dModel: number): Layer<Record<string, never>> {
  const name = `positionalEncoding(${maxLen}, ${dModel})`;
  const table = sinusoidTable(maxLen, dModel);
  return makeLayer<Record<string, never>>({
    name,
    init: () => ({}),
    forward: (_p, x) => {
      expectAxis(name, x, -1, dModel, "dModel");
      const t = x.ndim >= 2 ? x.shape[x.ndim - 2]! : 0;
      if (x.ndim < 2 || t > maxLen) throw new ShapeError(`${name}: expected [..., time ≤ ${maxLen}, ${dModel}], got [${x.shape.join(", ")}]`);
      return [add(x, slice(table, [0, 0], [t, dModel])), undefined];
    },
  });
}

/** Parameters of `multiHeadAttention`: query, key, value and output projections. */
export type AttentionParams = { readonly q: DenseParams; readonly k: DenseParams; readonly v: DenseParams; readonly o: DenseParams };

/** Options of `multiHeadAttention`. */
export interface AttentionOptions {
  /** Each position attends only to itself and earlier positions. */
  readonly causal?: boolean;
}

function swapLast2(x: Tensor, a: number, b: number): Tensor {
  const axes = Array.from({ length: x.ndim }, (_, i) => i);
  const n = x.ndim;
  [axes[n + a], axes[n + b]] = [axes[n + b]!, axes[n + a]!];
  return permuteDims(x, axes);
}

/**
 * Multi-head scaled dot-product self-attention over `[..., time, dModel]`. A padding mask
 * `[..., time]` (true or 1 for real tokens) passed as `apply(params, x, { mask })` keeps every
 * query from attending to padded keys; `{ causal: true }` masks future positions.
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const mha = nn.multiHeadAttention(8, 2, { causal: true });
 * console.log(mha.apply(mha.init(random.key(0)), zeros([3, 5, 8])).shape); // [3, 5, 8]
 * ```
 */
export function multiHeadAttention(dModel: number, heads: number, options: AttentionOptions = {}): Layer<AttentionParams> {
  if (!Number.isInteger(dModel / heads)) throw new RangeError(`multiHeadAttention: dModel ${dModel} must be divisible by heads ${heads}`);
  const dh = dModel / heads;
  const name = `multiHeadAttention(${dModel}, ${heads}${options.causal ? ", causal" : ""})`;
  const proj = dense(dModel, dModel);
  return makeLayer<AttentionParams>({
    name,
    init: (key) => {
      const [kq, kk, kv, ko] = random.split(key, 4);
      return { q: proj.init(kq!), k: proj.init(kk!), v: proj.init(kv!), o: proj.init(ko!) };
    },
    forward: (p, x, opts) => {
      if (x.ndim < 2) throw new ShapeError(`${name}: expected [..., time, ${dModel}], got [${x.shape.join(", ")}]`);
      expectAxis(name, x, -1, dModel, "dModel");
      const lead = x.shape.slice(0, -2);
      const t = x.shape[x.ndim - 2]!;
      // [..., t, d] -> [..., heads, t, dh]
      const headsOf = (y: Tensor): Tensor => swapLast2(reshape(y, [...lead, t, heads, dh]), -3, -2);
      const q = headsOf(proj.apply(p.q, x));
      const k = headsOf(proj.apply(p.k, x));
      const v = headsOf(proj.apply(p.v, x));
      let scores = divide(matmul(q, swapLast2(k, -2, -1)), Math.sqrt(dh)); // [..., heads, t, t]
      let allowed: Tensor | undefined;
      if (options.causal) {
        const pos = arange(t, undefined, 1, { dtype: "int32" });
        allowed = lessEqual(expandDims(pos, 0), expandDims(pos, 1)); // [t(query), t(key)]
      }
      if (opts.mask !== undefined) {
        const m = opts.mask;
        if (m.shape.join() !== [...lead, t].join()) {
          throw new ShapeError(`${name}: mask [${m.shape.join(", ")}] must be [${[...lead, t].join(", ")}] (the input without its feature axis)`);
        }
        const km = expandDims(astype(m, "bool"), [-2, -3]); // [..., 1, 1, t]
        allowed = allowed === undefined ? km : logicalAnd(allowed, km);
      }
      if (allowed !== undefined) scores = where(allowed, scores, -1e9);
      const out = matmul(softmax(scores), v); // [..., heads, t, dh]
      return [proj.apply(p.o, reshape(swapLast2(out, -3, -2), [...lead, t, dModel])), undefined];
    },
  });
}

/** Parameters of `transformerBlock`. */
export type TransformerParams = {
  readonly ln1: NormParams;
  readonly attn: AttentionParams;
  readonly ln2: NormParams;
  readonly ff1: DenseParams;
  readonly ff2: DenseParams;
};

/** Options of `transformerBlock`. */
export interface TransformerOptions extends AttentionOptions {
  /** Dropout rate on both residual branches in training (default 0). */
  readonly dropout?: number;
  /** The feed-forward nonlinearity (default `relu`). */
  readonly activation?: (x: Tensor) => Tensor;
}

/**
 * A pre-layer-norm transformer encoder block:
 * `h = x + attn(ln1(x))`, `y = h + ff2(act(ff1(ln2(h))))`, with `ff1: dModel → dFF` and `act`
 * `relu` unless `{ activation }` says otherwise.
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const block = nn.transformerBlock(8, 2, 16);
 * console.log(block.apply(block.init(random.key(0)), zeros([2, 4, 8])).shape); // [2, 4, 8]
 * ```
 */
export function transformerBlock(dModel: number, heads: number, dFF: number, options: TransformerOptions = {}): Layer<TransformerParams> {
  const ln = layerNorm(dModel);
  const attn = multiHeadAttention(dModel, heads, options);
  const ff1 = dense(dModel, dFF);
  const ff2 = dense(dFF, dModel);
  const drop = dropout(options.dropout ?? 0);
  const act = options.activation ?? relu;
  return makeLayer<TransformerParams>({
    name: `transformerBlock(${dModel}, ${heads}, ${dFF})`,
    init: (key) => {
      const [k1, k2, k3] = random.split(key, 3);
      return { ln1: ln.init(k1!), attn: attn.init(k1!), ln2: ln.init(k2!), ff1: ff1.init(k2!), ff2: ff2.init(k3!) };
    },
    forward: (p, x, opts) => {
      const keys = opts.key !== undefined ? random.split(opts.key, 2) : [undefined, undefined];
      const dopts = (k: random.Key | undefined): ApplyOptions => ({ training: opts.training ?? false, ...(k !== undefined ? { key: k } : {}) });
      const a = attn.apply(p.attn, ln.apply(p.ln1, x), opts.mask !== undefined ? { mask: opts.mask } : {});
      const h = add(x, drop.apply({}, a, dopts(keys[0])));
      const f = ff2.apply(p.ff2, act(ff1.apply(p.ff1, ln.apply(p.ln2, h))));
      return [add(h, drop.apply({}, f, dopts(keys[1]))), undefined];
    },
  });
}
