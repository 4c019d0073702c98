/**
 * More layers: groupNorm and rmsNorm, transposed convolutions (convTranspose1d/2d, PyTorch
 * weight layout `[inC, outC, ...kernel]`), upsampling2d (nearest, bilinear) and globalAvgPool2d.
 */
import type { Tensor } from "../ops.js";
import { ShapeError, add, convTranspose, globalAvgPool, mean, multiply, ones, random, reshape, rsqrt, square, subtract, upsample, zeros } from "../ops.js";
import type { Initializer } from "../initializers.js";
import { glorotUniform, zeros as zerosInit } from "../initializers.js";
import type { Layer, State } from "../layer.js";
import { makeLayer } from "../layer.js";
import { expectAxis } from "./basic.js";
import type { NormParams } from "./norm.js";

/**
 * Group normalization (Wu & He 2018) of `[batch, channels, ...]`: channels split into `groups`,
 * each normalized over its channels and all spatial positions, then a per-channel scale and bias.
 * `groups = 1` is layer norm over `[C, ...]`, `groups = channels` is instance norm.
 * @example
 * ```ts
 * import { nn, random, tensor } from "tenfold";
 * const gn = nn.groupNorm(2, 4);
 * const y = gn.apply(gn.init(random.key(0)), tensor([[1, 3, 10, 30]]));
 * console.log(y.arraySync()); // ≈[[-1, 1, -1, 1]]
 * ```
 */
export function groupNorm(groups: number, channels: number, options: { eps?: number } = {}): Layer<NormParams> {
  const eps = options.eps ?? 1e-5;
  const name = `groupNorm(${groups}, ${channels})`;
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0)
    throw new RangeError(`groupNorm: groups ${groups} must be a positive divisor of channels ${channels}`);
  return makeLayer<NormParams>({
    name,
    init: () => ({ scale: ones([channels]), bias: zeros([channels]) }),
    forward: (p, x) => {
      if (x.ndim < 2) throw new ShapeError(`${name}: expected [batch, channels, ...], got [${x.shape.join(", ")}]`);
      expectAxis(name, x, 1, channels, "channels");
      const sp = x.shape.slice(2);
      const g = reshape(x, [x.shape[0]!, groups, channels / groups, ...sp]);
      const axes = Array.from({ length: g.ndim - 2 }, (_, i) => i + 2);
      const mu = mean(g, { axis: axes, keepdims: true });
      const c = subtract(g, mu);
      const v = mean(square(c), { axis: axes, keepdims: true });
      const y = reshape(multiply(c, rsqrt(add(v, eps))), x.shape);
      const b = (t: Tensor): Tensor => reshape(t, [channels, ...sp.map(() => 1)]);
      return [add(multiply(y, b(p.scale)), b(p.bias)), undefined];
    },
  });
}

/**
 * RMS normalization (Zhang & Sennrich 2019) over the last axis: `x / sqrt(mean(x²) + eps) * scale`
 * (no centring, no bias), as `flax.linen.RMSNorm` (eps 1e-6).
 * @example
 * ```ts
 * import { nn, random, tensor } from "tenfold";
 * const rn = nn.rmsNorm(2);
 * console.log(rn.apply(rn.init(random.key(0)), tensor([[3, 4]])).arraySync()); // ≈[[0.8485, 1.1314]]
 * ```
 */
export function rmsNorm(features: number, options: { eps?: number } = {}): Layer<{ readonly scale: Tensor }> {
  const eps = options.eps ?? 1e-6;
  const name = `rmsNorm(${features})`;
  return makeLayer<{ readonly scale: Tensor }>({
    name,
    init: () => ({ scale: ones([features]) }),
    forward: (p, x) => {
      expectAxis(name, x, -1, features, "features");
      return [multiply(multiply(x, rsqrt(add(mean(square(x), { axis: -1, keepdims: true }), eps))), p.scale), undefined];
    },
  });
}

/** Parameters of transposed conv layers: weight `[in, out, ...kernel]` and bias `[out]`. */
export type ConvTransposeParams = { readonly w: Tensor; readonly b?: Tensor };

/** Options of the transposed conv layers (PyTorch names). */
export interface ConvTransposeLayerOptions {
  readonly stride?: number | readonly number[];
  readonly padding?: number | readonly number[];
  readonly outputPadding?: number | readonly number[];
  readonly dilation?: number | readonly number[];
  readonly useBias?: boolean;
  /** Default `glorotUniform` (fans from the `[in, out, ...k]` shape). */
  readonly kernelInit?: Initializer;
}

function convTLayer(kind: string, inC: number, outC: number, kernel: readonly number[], options: ConvTransposeLayerOptions): Layer<ConvTransposeParams, State> {
  const useBias = options.useBias ?? true;
  const kinit = options.kernelInit ?? glorotUniform;
  const name = `${kind}(${inC}, ${outC}, ${kernel.join("x")})`;
  const nd = kernel.length + 2;
  return makeLayer<ConvTransposeParams>({
    name,
    init: (key) => {
      const [kw, kb] = random.split(key, 2);
      const w = kinit(kw!, [inC, outC, ...kernel]);
      return useBias ? { w, b: zerosInit(kb!, [outC]) } : { w };
    },
    forward: (p, x) => {
      if (x.ndim !== nd) throw new ShapeError(`${name}: expected a rank-${nd} input [batch, channels, ...spatial], got [${x.shape.join(", ")}]`);
      expectAxis(name, x, 1, inC, "input channels");
      const y = convTranspose(x, p.w, {
        ...(options.stride !== undefined ? { strides: options.stride } : {}),
        ...(options.padding !== undefined ? { padding: options.padding } : {}),
        ...(options.outputPadding !== undefined ? { outputPadding: options.outputPadding } : {}),
        ...(options.dilation !== undefined ? { dilation: options.dilation } : {}),
      });
      return [p.b !== undefined ? add(y, reshape(p.b, [outC, ...kernel.map(() => 1)])) : y, undefined];
    },
  });
}

/**
 * 2-D transposed convolution layer on `[batch, inC, h, w]` (PyTorch `ConvTranspose2d`).
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const up = nn.convTranspose2d(4, 2, 2, { stride: 2 });
 * console.log(up.apply(up.init(random.key(0)), zeros([1, 4, 5, 5])).shape); // [1, 2, 10, 10]
 * ```
 */
export function convTranspose2d(
  inC: number,
  outC: number,
  kernel: number | readonly [number, number],
  options: ConvTransposeLayerOptions = {},
): Layer<ConvTransposeParams, State> {
  return convTLayer("convTranspose2d", inC, outC, typeof kernel === "number" ? [kernel, kernel] : kernel, options);
}

/**
 * 1-D transposed convolution layer on `[batch, inC, length]` (PyTorch `ConvTranspose1d`).
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const up = nn.convTranspose1d(3, 2, 3, { stride: 2, padding: 1, outputPadding: 1 });
 * console.log(up.apply(up.init(random.key(0)), zeros([1, 3, 4])).shape); // [1, 2, 8]
 * ```
 */
export function convTranspose1d(inC: number, outC: number, kernel: number, options: ConvTransposeLayerOptions = {}): Layer<ConvTransposeParams, State> {
  return convTLayer("convTranspose1d", inC, outC, [kernel], options);
}

/**
 * Upsampling layer for `[batch, c, h, w]` by an integer or fractional `scale` (see `upsample`).
 * @example
 * ```ts
 * import { nn, zeros } from "tenfold";
 * console.log(nn.upsampling2d(2, { method: "bilinear" }).apply({}, zeros([1, 3, 4, 4])).shape); // [1, 3, 8, 8]
 * ```
 */
export function upsampling2d(
  scale: number | readonly [number, number],
  options: { method?: "nearest" | "bilinear" } = {},
): Layer<Record<string, never>, State> {
  const method = options.method ?? "nearest";
  return makeLayer<Record<string, never>>({
    name: `upsampling2d(${JSON.stringify(scale)}, ${method})`,
    init: () => ({}),
    forward: (_p, x) => {
      if (x.ndim !== 4) throw new ShapeError(`upsampling2d: expected [batch, channels, h, w], got [${x.shape.join(", ")}]`);
      return [upsample(x, scale, { method }), undefined];
    },
  });
}

/**
 * Global average pooling layer: `[batch, c, ...spatial]` to `[batch, c]`.
 * @example
 * ```ts
 * import { nn, ones } from "tenfold";
 * console.log(nn.globalAvgPool2d().apply({}, ones([2, 3, 4, 4])).shape); // [2, 3]
 * ```
 */
export function globalAvgPool2d(): Layer<Record<string, never>, State> {
  return makeLayer<Record<string, never>>({
    name: "globalAvgPool2d",
    init: () => ({}),
    forward: (_p, x) => [globalAvgPool(x), undefined],
  });
}
