/**
 * Convolution and pooling layers over channels-first inputs: conv1d `[b, c, length]`, conv2d,
 * maxPool2d and avgPool2d `[b, c, h, w]`. Weights are OIHW.
 */
import type { Padding, Tensor } from "../ops.js";
import { add, avgPool, conv, maxPool, random, reshape } from "../ops.js";
import type { Initializer } from "../initializers.js";
import { glorotUniform, zeros as zerosInit } from "../initializers.js";
import type { Layer, State } from "../layer.js";
import { makeLayer } from "../layer.js";
import { expectAxis } from "./basic.js";

/** Parameters of conv layers: weight `[out, in, ...kernel]` and bias `[out]`. */
export type ConvParams = { readonly w: Tensor; readonly b?: Tensor };

/** Options of the conv layers. */
export interface ConvLayerOptions {
  /** Default 1. */
  readonly stride?: number | readonly number[];
  /** "VALID" (default), "SAME", or explicit pairs. */
  readonly padding?: Padding;
  readonly dilation?: number | readonly number[];
  readonly useBias?: boolean;
  /** Default `glorotUniform`. */
  readonly kernelInit?: Initializer;
}

function convLayer(kind: string, inC: number, outC: number, kernel: readonly number[], options: ConvLayerOptions): Layer<ConvParams, State> {
  const useBias = options.useBias ?? true;
  const kinit = options.kernelInit ?? glorotUniform;
  const name = `${kind}(${inC}, ${outC}, ${kernel.length === 1 ? kernel[0] : `[${kernel.join(", ")}]`})`;
  const nd = kernel.length + 2;
  return makeLayer<ConvParams>({
    name,
    init: (key) => {
      const [kw, kb] = random.split(key, 2);
      const w = kinit(kw!, [outC, inC, ...kernel]);
      return useBias ? { w, b: zerosInit(kb!, [outC]) } : { w };
    },
    forward: (p, x) => {
      if (x.ndim !== nd) throw new TypeError(`${name}: expected a rank-${nd} input [batch, channels, ...spatial], got [${x.shape.join(", ")}]`);
      expectAxis(name, x, 1, inC, "input channels");
      const y = conv(x, p.w, {
        ...(options.stride !== undefined ? { strides: options.stride } : {}),
        padding: options.padding ?? "VALID",
        ...(options.dilation !== undefined ? { dilation: options.dilation } : {}),
      });
      return [p.b !== undefined ? add(y, reshape(p.b, [outC, ...kernel.map(() => 1)])) : y, undefined];
    },
  });
}

/**
 * 2-D convolution layer on `[batch, inC, h, w]`; `kernel` is a size or `[kh, kw]`.
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const c = nn.conv2d(1, 4, 3, { padding: "SAME" });
 * console.log(c.apply(c.init(random.key(0)), zeros([2, 1, 8, 8])).shape); // [2, 4, 8, 8]
 * ```
 */
export function conv2d(inC: number, outC: number, kernel: number | readonly [number, number], options: ConvLayerOptions = {}): Layer<ConvParams, State> {
  return convLayer("conv2d", inC, outC, typeof kernel === "number" ? [kernel, kernel] : kernel, options);
}

/**
 * 1-D convolution layer on `[batch, inC, length]`.
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const c = nn.conv1d(2, 3, 5);
 * console.log(c.apply(c.init(random.key(0)), zeros([1, 2, 10])).shape); // [1, 3, 6]
 * ```
 */
export function conv1d(inC: number, outC: number, kernel: number, options: ConvLayerOptions = {}): Layer<ConvParams, State> {
  return convLayer("conv1d", inC, outC, [kernel], options);
}

/** Options of the pooling layers. */
export interface PoolLayerOptions {
  /** Defaults to the window. */
  readonly stride?: number | readonly number[];
  /** "VALID" (default) or "SAME". */
  readonly padding?: Padding;
}

function poolLayer(
  kind: "maxPool2d" | "avgPool2d",
  window: number | readonly [number, number],
  options: PoolLayerOptions,
): Layer<Record<string, never>, State> {
  const win = typeof window === "number" ? [window, window] : [...window];
  const f = kind === "maxPool2d" ? maxPool : avgPool;
  return makeLayer<Record<string, never>>({
    name: `${kind}(${win.join("x")})`,
    init: () => ({}),
    forward: (_p, x) => {
      if (x.ndim !== 4) throw new TypeError(`${kind}: expected [batch, channels, h, w], got [${x.shape.join(", ")}]`);
      return [f(x, win, { ...(options.stride !== undefined ? { strides: options.stride } : {}), padding: options.padding ?? "VALID" }), undefined];
    },
  });
}

/**
 * 2-D max pooling over `[batch, c, h, w]` (stride defaults to the window).
 * @example
 * ```ts
 * import { nn, zeros } from "tenfold";
 * console.log(nn.maxPool2d(2).apply({}, zeros([1, 3, 8, 8])).shape); // [1, 3, 4, 4]
 * ```
 */
export function maxPool2d(window: number | readonly [number, number], options: PoolLayerOptions = {}): Layer<Record<string, never>, State> {
  return poolLayer("maxPool2d", window, options);
}

/**
 * 2-D average pooling over `[batch, c, h, w]` (stride defaults to the window).
 * @example
 * ```ts
 * import { nn, zeros } from "tenfold";
 * console.log(nn.avgPool2d(2).apply({}, zeros([1, 3, 8, 8])).shape); // [1, 3, 4, 4]
 * ```
 */
export function avgPool2d(window: number | readonly [number, number], options: PoolLayerOptions = {}): Layer<Record<string, never>, State> {
  return poolLayer("avgPool2d", window, options);
}
