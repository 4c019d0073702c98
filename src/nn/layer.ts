/**
 * The layer protocol of tenfold/nn and its combinators. A layer is a plain value
 * `{ init(key) => params, apply(params, x, options) => y }` over parameter pytrees. Layers with
 * state (batch norm's running statistics) also give `initState()`; every layer accepts
 * `{ state }` in apply's options and then returns `[y, newState]`, so a training loop can thread
 * state through any model uniformly (a stateless layer returns the state it was given).
 */
import type { Tensor } from "./ops.js";
import { random, tree, zeros } from "./ops.js";

/** A parameter (or state) tree: tensors in nested plain objects and arrays. */
export type Params = Tensor | readonly Params[] | { readonly [k: string]: Params };

/** A state tree (same shape rules as `Params`). */
export type State = Params;

/** Options of `Layer.apply`. */
export interface ApplyOptions {
  /** Training mode: dropout active, batch norm uses and updates batch statistics. Default false. */
  readonly training?: boolean;
  /** Randomness for dropout (needed when training with a dropout rate above 0). */
  readonly key?: random.Key;
  /**
   * Padding mask for attention layers: `[batch, time]` (bool, or 0/1), true where a position is a
   * real token that may be attended to. Other layers ignore it.
   */
  readonly mask?: Tensor;
}

/** `apply`'s options when threading state. */
export interface StatefulApplyOptions<S> extends ApplyOptions {
  readonly state: S;
}

/** A layer: initialize parameters from a key, apply them to an input. */
export interface Layer<P = Params, S = State> {
  /** A short description such as `dense(3, 5)`, used by `summary`. */
  readonly name: string;
  /** True when the layer keeps state (see `initState`). */
  readonly stateful: boolean;
  /** Sublayers, for combinators (`summary` lists them). */
  readonly layers?: readonly LayerLike[];
  /** Fresh parameters. */
  init(key: random.Key): P;
  /** The initial state (`{}` for stateless layers). */
  initState(): S;
  /** The layer's output; with `{ state }`, `[output, newState]`. */
  apply(params: P, x: Tensor, options?: ApplyOptions): Tensor;
  apply(params: P, x: Tensor, options: StatefulApplyOptions<S>): [Tensor, S];
}

/** A layer, or a plain function `x => y` used as a layer without parameters. */
export type LayerLike = Layer<Params, State> | ((x: Tensor) => Tensor);

/** The parameters of a layer-like: what its `init` returns (`{}` for a plain function). */
export type ParamsOf<L> = L extends { init(key: random.Key): infer P } ? P : Record<string, never>;
/** The state of a layer-like: what its `initState` returns (`{}` for a plain function). */
export type StateOf<L> = L extends { initState(): infer S } ? S : Record<string, never>;
/** `sequential(...layers)` params: one entry per layer, each that layer's own params type. */
export type SequentialParams<L extends readonly LayerLike[]> = { -readonly [K in keyof L]: ParamsOf<L[K]> };
/** `sequential(...layers)` state: one entry per layer. */
export type SequentialState<L extends readonly LayerLike[]> = { -readonly [K in keyof L]: StateOf<L[K]> };
/**
 * What `sequential` returns: `init`/`initState` give the precise per-layer tuple, while `apply`
 * also takes any `Params[]` (e.g. params that went through an optimizer typed `Params[]`).
 */
export type SequentialLayer<L extends readonly LayerLike[]> = {
  init(key: random.Key): SequentialParams<L>;
  initState(): SequentialState<L>;
  apply(params: readonly Params[], x: Tensor, options: StatefulApplyOptions<SequentialState<L>>): [Tensor, SequentialState<L>];
} & Layer<Params[], State[]>;

/** What a layer implementation provides; `makeLayer` turns it into a `Layer`. */
export interface LayerSpec<P, S> {
  readonly name: string;
  readonly layers?: readonly LayerLike[];
  init(key: random.Key): P;
  /** Only for stateful layers. */
  initState?(): S;
  /** The forward pass; `state` is undefined when the caller passed none. */
  forward(params: P, x: Tensor, options: ApplyOptions, state: S | undefined): [Tensor, S | undefined];
}

/** Builds a `Layer` from its forward pass (internal helper, exported for custom layers). */
export function makeLayer<P, S = State>(spec: LayerSpec<P, S>): Layer<P, S> {
  const stateful = spec.initState !== undefined;
  function apply(params: P, x: Tensor, options?: ApplyOptions): Tensor;
  function apply(params: P, x: Tensor, options: StatefulApplyOptions<S>): [Tensor, S];
  function apply(params: P, x: Tensor, options: ApplyOptions & { state?: S } = {}): Tensor | [Tensor, S] {
    const given = options.state;
    const [y, s] = spec.forward(params, x, options, given);
    if (given === undefined) return y;
    return [y, (s ?? given) as S];
  }
  return {
    name: spec.name,
    stateful,
    ...(spec.layers ? { layers: spec.layers } : {}),
    init: (key) => spec.init(key),
    initState: () => (spec.initState ? spec.initState() : ({} as S)),
    apply,
  };
}

/** Whether a value is a `Layer` (rather than a plain function). */
export function isLayer(l: LayerLike): l is Layer<Params, State> {
  return typeof l !== "function";
}

/** Display name of a layer or function. */
export function layerName(l: LayerLike): string {
  return isLayer(l) ? l.name : l.name || "fn";
}

/**
 * Chains layers: the output of each is the input of the next. Params (and state) are arrays with
 * one entry per layer (`{}` for layers without any). A plain function counts as a layer without
 * parameters. Keys for dropout are split per layer.
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const mlp = nn.sequential(nn.dense(3, 5), nn.relu, nn.dense(5, 2));
 * const params = mlp.init(random.key(0));
 * console.log(mlp.apply(params, zeros([4, 3])).shape, nn.paramCount(params)); // [4, 2] 32
 * ```
 */
export function sequential<const L extends readonly LayerLike[]>(...layers: L): SequentialLayer<L> {
  const anyState = layers.some((l) => isLayer(l) && l.stateful);
  const layer = makeLayer<Params[], State[]>({
    name: `sequential(${layers.length})`,
    layers,
    init: (key) => {
      const keys = random.split(key, Math.max(2, layers.length));
      return layers.map((l, i) => (isLayer(l) ? l.init(keys[i]!) : {}));
    },
    ...(anyState ? { initState: () => layers.map((l) => (isLayer(l) ? l.initState() : {})) } : {}),
    forward: (params, x, options, state) => {
      if (params.length !== layers.length) {
        throw new TypeError(`sequential: got ${params.length} parameter entries for ${layers.length} layers`);
      }
      const keys = options.key !== undefined ? random.split(options.key, Math.max(2, layers.length)) : undefined;
      const newState: State[] = [];
      let h = x;
      layers.forEach((l, i) => {
        if (!isLayer(l)) {
          h = l(h);
          newState.push({});
          return;
        }
        const opts: ApplyOptions = { ...options, ...(keys ? { key: keys[i]! } : {}) };
        const s = state?.[i];
        if (s !== undefined) {
          const [y, s2] = l.apply(params[i]!, h, { ...opts, state: s });
          h = y;
          newState.push(s2);
        } else {
          h = l.apply(params[i]!, h, opts);
          newState.push({});
        }
      });
      return [h, state === undefined ? undefined : newState];
    },
  });
  // The arrays built above have one entry per layer, in order: exactly the mapped tuple types.
  return layer as SequentialLayer<L>;
}

/**
 * Total number of scalars in a parameter tree.
 * @example
 * ```ts
 * import { nn, zeros } from "tenfold";
 * console.log(nn.paramCount({ w: zeros([3, 5]), b: zeros([5]) })); // 20
 * ```
 */
export function paramCount(params: unknown): number {
  return tree.leaves<Tensor | number>(params).reduce<number>((n, l) => n + (typeof l === "number" ? 1 : l.size), 0);
}

function fmtShape(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}

/**
 * A text table of a model's layers, output shapes and parameter counts for an input of
 * `inputShape` (batch axis included). Only shapes are computed: nothing is evaluated.
 * @example
 * ```ts
 * import { nn } from "tenfold";
 * const mlp = nn.sequential(nn.dense(3, 5), nn.relu, nn.dense(5, 2));
 * console.log(nn.summary(mlp, [1, 3]));
 * // layer        output shape  params
 * // dense(3, 5)  [1, 5]        20 ...
 * ```
 */
export function summary(model: LayerLike, inputShape: readonly number[]): string {
  const rows: [string, string, string][] = [["layer", "output shape", "params"]];
  const x0 = zeros(inputShape);
  let total = 0;
  const run = (l: LayerLike, key: random.Key, x: Tensor): Tensor => {
    if (!isLayer(l)) {
      const y = l(x);
      rows.push([layerName(l), fmtShape(y.shape), "0"]);
      return y;
    }
    if (l.layers) {
      const keys = random.split(key, Math.max(2, l.layers.length));
      return l.layers.reduce((h, sub, i) => run(sub, keys[i]!, h), x);
    }
    const p = l.init(key);
    const [y] = l.apply(p, x, { state: l.initState() });
    const n = paramCount(p);
    total += n;
    rows.push([l.name, fmtShape(y.shape), String(n)]);
    return y;
  };
  run(model, random.key(0), x0);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]): string => r.map((v, c) => (c === 2 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join("  ");
  const rule = "-".repeat(widths[0]! + widths[1]! + widths[2]! + 4);
  return [line(rows[0]!), rule, ...rows.slice(1).map(line), rule, `total params: ${total}`].join("\n");
}
