// Random graph programs for scheduler and CPU-backend properties: DAGs of elementwise, reduce,
// movement (transpose, reshape, slice, flip, pad, concat) and matmul nodes with broadcasting,
// built from the public ops so every node kind the ops layer emits appears.
import fc from "fast-check";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

export type Step =
  | { readonly k: "un"; readonly f: number; readonly i: number }
  | { readonly k: "bin"; readonly f: number; readonly i: number; readonly j: number; readonly c: number }
  | { readonly k: "red"; readonly f: number; readonly i: number; readonly axis: number; readonly keep: boolean }
  | { readonly k: "mov"; readonly f: number; readonly i: number }
  | { readonly k: "mm"; readonly i: number; readonly j: number };

export interface Prog {
  readonly shape: readonly [number, number];
  readonly steps: readonly Step[];
  readonly outs: readonly number[];
  readonly seed: number;
}

const idx = fc.nat(1000);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ k: fc.constant("un" as const), f: fc.nat(5), i: idx }),
  fc.record({ k: fc.constant("bin" as const), f: fc.nat(4), i: idx, j: idx, c: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ k: fc.constant("red" as const), f: fc.nat(2), i: idx, axis: fc.nat(3), keep: fc.boolean() }),
  fc.record({ k: fc.constant("mov" as const), f: fc.nat(6), i: idx }),
  fc.record({ k: fc.constant("mm" as const), i: idx, j: idx }),
);

/** Arbitrary graph programs. */
export const progArb: fc.Arbitrary<Prog> = fc.record({
  shape: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
  steps: fc.array(step, { minLength: 1, maxLength: 12 }),
  outs: fc.array(idx, { minLength: 1, maxLength: 3 }),
  seed: fc.nat(1 << 20),
});

function broadcastable(a: readonly number[], b: readonly number[]): boolean {
  for (let k = 1; k <= Math.min(a.length, b.length); k++) {
    const x = a[a.length - k]!;
    const y = b[b.length - k]!;
    if (x !== y && x !== 1 && y !== 1) return false;
  }
  return true;
}

const UN = [tf.tanh, tf.sin, tf.negative, tf.abs, (x: Tensor) => tf.exp(tf.tanh(x)), tf.square];
const BIN = [tf.add, tf.multiply, tf.subtract, tf.maximum, tf.minimum];

/** Applies a program to inputs x (the program's shape) and y (its transpose). */
export function apply(p: Prog, x: Tensor, y: Tensor): Tensor[] {
  const vals: Tensor[] = [x, y];
  const pick = (i: number): Tensor => vals[i % vals.length]!;
  for (const s of p.steps) {
    const v = pick(s.i);
    switch (s.k) {
      case "un":
        vals.push(UN[s.f % UN.length]!(v));
        break;
      case "bin": {
        const w = pick(s.j);
        const f = BIN[s.f % BIN.length]!;
        vals.push(broadcastable(v.shape, w.shape) ? f(v, w) : f(v, s.c === 0 ? 1 : s.c));
        break;
      }
      case "red":
        if (v.ndim === 0) vals.push(tf.add(v, 1));
        else {
          const axis = s.axis % v.ndim;
          vals.push(s.f === 0 ? tf.sum(v, { axis, keepdims: s.keep }) : tf.max(v, { axis, keepdims: s.keep }));
        }
        break;
      case "mov": {
        if (v.ndim === 0) {
          vals.push(tf.broadcastTo(v, [2, 3]));
          break;
        }
        const f = s.f % 7;
        if (f === 0) vals.push(tf.permuteDims(v, [...Array(v.ndim).keys()].reverse()));
        else if (f === 1) vals.push(tf.reshape(v, [v.size]));
        else if (f === 2) vals.push(tf.flip(v, { axis: 0 }));
        else if (f === 3)
          vals.push(
            tf.pad(
              v,
              v.shape.map((_, d) => [d % 2, 1] as [number, number]),
            ),
          );
        else if (f === 4)
          vals.push(
            tf.slice(
              v,
              v.shape.map((n) => (n > 1 ? 1 : 0)),
              v.shape.map((n) => n),
            ),
          );
        else if (f === 5) vals.push(tf.concat([v, tf.negative(v)], { axis: v.ndim - 1 }));
        else vals.push(v.ndim >= 2 ? tf.reshape(tf.matrixTranspose(v), [v.shape[v.ndim - 1]!, -1]) : tf.expandDims(v, 0));
        break;
      }
      case "mm": {
        const w = pick(s.j);
        if (v.ndim === 2 && w.ndim === 2 && v.shape[1] === w.shape[0]) vals.push(tf.matmul(v, w));
        else if (v.ndim === 2) vals.push(tf.matmul(v, tf.matrixTranspose(v)));
        else vals.push(tf.add(v, 0.5));
        break;
      }
    }
  }
  return p.outs.map((o) => vals[2 + (o % (vals.length - 2))]!);
}

/** Deterministic data in [-2, 2] for a program's inputs. */
export function inputs(p: Prog): [Tensor, Tensor] {
  let s = p.seed + 1;
  const rnd = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    return (s / 0x7fffffff) * 4 - 2;
  };
  const [a, b] = p.shape;
  const x = tf.tensor(Float32Array.from({ length: a * b }, rnd), { shape: [a, b] });
  const y = tf.tensor(Float32Array.from({ length: a * b }, rnd), { shape: [b, a] });
  return [x, y];
}

/** The fast-check seed of this run (FC_SEED overrides), printed so failures can be replayed. */
export function runSeed(name: string): number {
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : Date.now() % 1_000_000_007;
  console.log(`${name}: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
  return seed;
}

/** Elementwise closeness with NaN = NaN. */
export function close(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-4): boolean {
  if (got.length !== want.length) return false;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(g) && Number.isNaN(w)) continue;
    if (g === w) continue;
    if (!(Math.abs(g - w) <= tol + tol * Math.abs(w))) return false;
  }
  return true;
}
