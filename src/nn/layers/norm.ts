/**
 * Normalization layers: batchNorm (stateful: running mean and variance in a separate state tree)
 * and layerNorm.
 */
import type { Tensor } from "../ops.js";
import { add, mean, multiply, ones, reshape, rsqrt, square, stopGradient, subtract, zeros } from "../ops.js";
import type { Layer } from "../layer.js";
import { makeLayer } from "../layer.js";
import { expectAxis } from "./basic.js";

/** Scale and shift of a normalization layer, each `[features]`. */
export type NormParams = { readonly scale: Tensor; readonly bias: Tensor };

/** Running statistics of `batchNorm`, each `[features]`. */
export type BatchNormState = { readonly mean: Tensor; readonly var: Tensor };

/** Options of `batchNorm`. */
export interface BatchNormOptions {
  /** Running stats update `r = momentum * r + (1 - momentum) * batch`; default 0.9. */
  readonly momentum?: number;
  /** Default 1e-5. */
  readonly eps?: number;
}

/**
 * Batch normalization over axis 1 (features of `[b, f]`, channels of `[b, c, ...]`). In training
 * it normalizes with the batch's mean and (biased) variance and, given `{ state }`, returns the
 * updated running statistics; otherwise it normalizes with the running statistics from
 * `{ state }` (required outside training).
 * @example
 * ```ts
 * import { nn, random, tensor } from "tenfold";
 * const bn = nn.batchNorm(2);
 * const p = bn.init(random.key(0));
 * const x = tensor([[1, 2], [3, 6]]);
 * const [y, state] = bn.apply(p, x, { training: true, state: bn.initState() });
 * console.log(y.arraySync(), state.mean.arraySync()); // ≈[[-1, -1], [1, 1]] [0.2, 0.4]
 * const yEval = bn.apply(p, x, { state }); // running statistics, state unchanged
 * ```
 */
export function batchNorm(features: number, options: BatchNormOptions = {}): Layer<NormParams, BatchNormState> {
  const momentum = options.momentum ?? 0.9;
  const eps = options.eps ?? 1e-5;
  const name = `batchNorm(${features})`;
  return makeLayer<NormParams, BatchNormState>({
    name,
    init: () => ({ scale: ones([features]), bias: zeros([features]) }),
    initState: () => ({ mean: zeros([features]), var: ones([features]) }),
    forward: (p, x, opts, state) => {
      if (x.ndim < 2) throw new TypeError(`${name}: expected [batch, features, ...], got [${x.shape.join(", ")}]`);
      expectAxis(name, x, 1, features, "features/channels");
      const axes = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
      const bshape = [features, ...Array.from({ length: x.ndim - 2 }, () => 1)];
      const b = (t: Tensor): Tensor => reshape(t, bshape);
      let mu: Tensor;
      let v: Tensor;
      let next: BatchNormState | undefined;
      if (opts.training) {
        mu = mean(x, { axis: axes });
        v = mean(square(subtract(x, b(mu))), { axis: axes });
        if (state !== undefined) {
          const upd = (r: Tensor, s: Tensor): Tensor => add(multiply(momentum, r), multiply(1 - momentum, stopGradient(s)));
          next = { mean: upd(state.mean, mu), var: upd(state.var, v) };
        }
      } else {
        if (state === undefined) {
          throw new TypeError(`${name}: outside training, pass the running statistics: apply(params, x, { state }) (start from layer.initState())`);
        }
        mu = state.mean;
        v = state.var;
        next = state;
      }
      const y = add(multiply(multiply(subtract(x, b(mu)), b(rsqrt(add(v, eps)))), b(p.scale)), b(p.bias));
      return [y, next];
    },
  });
}

/**
 * Layer normalization over the last axis (size `features`), with learned scale and bias.
 * @example
 * ```ts
 * import { nn, random, tensor } from "tenfold";
 * const ln = nn.layerNorm(2);
 * console.log(ln.apply(ln.init(random.key(0)), tensor([[1, 3]])).arraySync()); // ≈[[-1, 1]]
 * ```
 */
export function layerNorm(features: number, options: { eps?: number } = {}): Layer<NormParams> {
  const eps = options.eps ?? 1e-5;
  const name = `layerNorm(${features})`;
  return makeLayer<NormParams>({
    name,
    init: () => ({ scale: ones([features]), bias: zeros([features]) }),
    forward: (p, x) => {
      expectAxis(name, x, -1, features, "features");
      const mu = mean(x, { axis: -1, keepdims: true });
      const c = subtract(x, mu);
      const v = mean(square(c), { axis: -1, keepdims: true });
      return [add(multiply(multiply(c, rsqrt(add(v, eps))), p.scale), p.bias), undefined];
    },
  });
}
