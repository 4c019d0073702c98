/**
 * Recurrent layers: simpleRnn, lstm, gru. Input `[batch, time, features]`; the input projection
 * for all steps is one matmul, then `scan` runs the recurrence over time as one loop in the graph
 * (not unrolled). They return the last hidden state `[batch, hidden]`, or with
 * `{ returnSequences: true }` every step's hidden state `[batch, time, hidden]`.
 */
import type { Tensor } from "../ops.js";
import { add, concat, matmul, multiply, ones, permuteDims, random, scan, split, subtract, tanh, zeros } from "../ops.js";
import { sigmoid } from "../activations.js";
import { glorotUniform } from "../initializers.js";
import type { Layer } from "../layer.js";
import { makeLayer } from "../layer.js";
import { expectAxis } from "./basic.js";

/** Options of the recurrent layers. */
export interface RnnOptions {
  /** Return every step's hidden state `[batch, time, hidden]` instead of the last `[batch, hidden]`. */
  readonly returnSequences?: boolean;
}

/**
 * Parameters of a recurrent layer: input weights `wx [in, g·hidden]`, recurrent weights
 * `wh [hidden, g·hidden]` and bias `b [g·hidden]` (g = 1 for simpleRnn, 4 for lstm; gru has
 * separate input and recurrent biases `b` and `bh`, g = 3).
 */
export type RnnParams = { readonly wx: Tensor; readonly wh: Tensor; readonly b: Tensor; readonly bh?: Tensor };

interface CellSpec<C> {
  readonly kind: string;
  readonly gates: number;
  init(key: random.Key, inF: number, hidden: number): RnnParams;
  /** Initial carry for a batch. */
  carry(batch: number): C;
  /** One step: carry and the projected input `x_t @ wx + b` => new carry. */
  step(p: RnnParams, carry: C, xt: Tensor): C;
  /** The hidden state inside a carry. */
  hidden(carry: C): Tensor;
}

function rnnLayer<C>(cell: CellSpec<C>, inF: number, hidden: number, options: RnnOptions): Layer<RnnParams> {
  const name = `${cell.kind}(${inF}, ${hidden})`;
  return makeLayer<RnnParams>({
    name,
    init: (key) => cell.init(key, inF, hidden),
    forward: (p, x) => {
      if (x.ndim !== 3) throw new TypeError(`${name}: expected [batch, time, features], got [${x.shape.join(", ")}]`);
      expectAxis(name, x, 2, inF, "input features");
      const xs = permuteDims(add(matmul(x, p.wx), p.b), [1, 0, 2]); // [time, batch, g·hidden]
      const [last, hs] = scan(
        (c: C, xt: Tensor) => {
          const n = cell.step(p, c, xt);
          return [n, cell.hidden(n)] as const;
        },
        cell.carry(x.shape[0]!),
        xs,
      );
      return [options.returnSequences ? permuteDims(hs as Tensor, [1, 0, 2]) : cell.hidden(last), undefined];
    },
  });
}

function weights(key: random.Key, inF: number, hidden: number, g: number): { wx: Tensor; wh: Tensor } {
  const [k1, k2] = random.split(key, 2);
  return { wx: glorotUniform(k1!, [inF, g * hidden]), wh: glorotUniform(k2!, [hidden, g * hidden]) };
}

/**
 * Elman RNN: `h' = tanh(x W_x + h W_h + b)`.
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const rnn = nn.simpleRnn(3, 8, { returnSequences: true });
 * console.log(rnn.apply(rnn.init(random.key(0)), zeros([2, 5, 3])).shape); // [2, 5, 8]
 * ```
 */
export function simpleRnn(inF: number, hidden: number, options: RnnOptions = {}): Layer<RnnParams> {
  return rnnLayer<Tensor>(
    {
      kind: "simpleRnn",
      gates: 1,
      init: (key, i, h) => ({ ...weights(key, i, h, 1), b: zeros([h]) }),
      carry: (batch) => zeros([batch, hidden]),
      step: (p, h, xt) => tanh(add(xt, matmul(h, p.wh))),
      hidden: (h) => h,
    },
    inF,
    hidden,
    options,
  );
}

type LstmCarry = { readonly h: Tensor; readonly c: Tensor };

/**
 * LSTM (gates in the order input, forget, cell, output; the forget bias starts at 1).
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const lstm = nn.lstm(3, 8);
 * console.log(lstm.apply(lstm.init(random.key(0)), zeros([2, 5, 3])).shape); // [2, 8]
 * ```
 */
export function lstm(inF: number, hidden: number, options: RnnOptions = {}): Layer<RnnParams> {
  return rnnLayer<LstmCarry>(
    {
      kind: "lstm",
      gates: 4,
      init: (key, i, h) => ({ ...weights(key, i, h, 4), b: concat([zeros([h]), ones([h]), zeros([2 * h])]) }),
      carry: (batch) => ({ h: zeros([batch, hidden]), c: zeros([batch, hidden]) }),
      step: (p, { h, c }, xt) => {
        const [i, f, g, o] = split(add(xt, matmul(h, p.wh)), 4, { axis: -1 });
        const c2 = add(multiply(sigmoid(f!), c), multiply(sigmoid(i!), tanh(g!)));
        return { h: multiply(sigmoid(o!), tanh(c2)), c: c2 };
      },
      hidden: (carry) => carry.h,
    },
    inF,
    hidden,
    options,
  );
}

/**
 * GRU (reset gate applied after the recurrent matmul, as in cuDNN and PyTorch):
 * `r, z = σ(·)`, `n = tanh(x_n + r ⊙ (h W_hn + b_hn))`, `h' = (1 - z) ⊙ n + z ⊙ h`.
 * @example
 * ```ts
 * import { nn, random, zeros } from "tenfold";
 * const gru = nn.gru(3, 8);
 * console.log(gru.apply(gru.init(random.key(0)), zeros([2, 5, 3])).shape); // [2, 8]
 * ```
 */
export function gru(inF: number, hidden: number, options: RnnOptions = {}): Layer<RnnParams> {
  return rnnLayer<Tensor>(
    {
      kind: "gru",
      gates: 3,
      init: (key, i, h) => ({ ...weights(key, i, h, 3), b: zeros([3 * h]), bh: zeros([3 * h]) }),
      carry: (batch) => zeros([batch, hidden]),
      step: (p, h, xt) => {
        const [xr, xz, xn] = split(xt, 3, { axis: -1 });
        const [hr, hz, hn] = split(add(matmul(h, p.wh), p.bh!), 3, { axis: -1 });
        const r = sigmoid(add(xr!, hr!));
        const z = sigmoid(add(xz!, hz!));
        const n = tanh(add(xn!, multiply(r, hn!)));
        return add(multiply(subtract(1, z), n), multiply(z, h));
      },
      hidden: (h) => h,
    },
    inF,
    hidden,
    options,
  );
}
