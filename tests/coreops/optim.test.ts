// Adagrad, Adadelta, Nadam and Lion against optax (fixtures from tests/fixtures/coreops/gen_optim.py:
// three steps on a quadratic), the hand-computed first steps, bad options, and jit == eager.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { jit, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { adadelta, adagrad, applyUpdates, lion, nadam } from "../../src/optim/index.js";
import type { GradientTransformation, OptState } from "../../src/optim/index.js";

const FIX = JSON.parse(readFileSync(new URL("../fixtures/coreops/optim.json", import.meta.url), "utf8")) as Record<string, number[][]>;
const P0 = [0.5, -1.5, 2.0];
const C = [1.0, 3.0, 0.5];
const D = [0.1, -0.2, 0.3];

function run3(opt: GradientTransformation): number[][] {
  let params = { w: tensor(P0) };
  let state = opt.init(params);
  const out: number[][] = [];
  for (let k = 0; k < 3; k++) {
    const p = Array.from(params.w.dataSync());
    const [u, s] = opt.update({ w: tensor(p.map((x, i) => C[i]! * x + D[i]!)) }, state, params);
    params = applyUpdates(params, u);
    state = s;
    out.push(Array.from(params.w.dataSync()));
  }
  return out;
}

function expectClose(got: number[][], want: number[][]): void {
  got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 5)));
}

const CASES: [string, GradientTransformation][] = [
  ["adagrad", adagrad({ lr: 0.1 })],
  ["adagrad_acc0", adagrad({ lr: 0.1, initialAccumulatorValue: 0 })],
  ["adadelta", adadelta({ lr: 1 })],
  ["adadelta_wd", adadelta({ lr: 0.5, rho: 0.8, eps: 1e-4, weightDecay: 0.1 })],
  ["nadam", nadam({ lr: 0.1 })],
  ["nadam_b", nadam({ lr: 0.05, b1: 0.8, b2: 0.99, eps: 1e-6 })],
  ["lion", lion({ lr: 0.1 })],
  ["lion_b", lion({ lr: 0.05, b1: 0.5, b2: 0.9, weightDecay: 0 })],
];

describe("optimizers match optax", () => {
  for (const [name, opt] of CASES) test(name, () => expectClose(run3(opt), FIX[name]!));
});

describe("hand-computed first steps", () => {
  test("adagrad: -lr g / sqrt(acc + g² + eps)", () => {
    const p = { w: tensor([1]) };
    const opt = adagrad({ lr: 0.1 });
    const [u] = opt.update({ w: tensor([2]) }, opt.init(p), p);
    expect(u.w.dataSync()[0]).toBeCloseTo((-0.1 * 2) / Math.sqrt(0.1 + 4 + 1e-7), 6);
  });
  test("nadam: Nesterov moment", () => {
    const p = { w: tensor([1]) };
    const opt = nadam({ lr: 0.1 });
    const [u] = opt.update({ w: tensor([3]) }, opt.init(p), p);
    const mHat = (0.9 * 0.3) / (1 - 0.81) + (0.1 * 3) / 0.1;
    expect(u.w.dataSync()[0]).toBeCloseTo((-0.1 * mHat) / (3 + 1e-8), 5);
  });
  test("lion: sign step plus decoupled decay", () => {
    const p = { w: tensor([2, -3]) };
    const opt = lion({ lr: 0.1, weightDecay: 0.5 });
    const [u] = opt.update({ w: tensor([0.5, -2]) }, opt.init(p), p);
    expect(Array.from(u.w.dataSync())).toEqual([-0.1 * (1 + 1), -0.1 * (-1 - 1.5)].map((v) => Math.fround(v)));
  });
});

describe("bad options and state", () => {
  test("range errors name the optimizer and option", () => {
    expect(() => adagrad({ lr: 1, initialAccumulatorValue: -1 })).toThrow(/adagrad: initialAccumulatorValue/);
    expect(() => adadelta({ rho: 1 })).toThrow(/adadelta: rho/);
    expect(() => nadam({ b1: 1.5 })).toThrow(/nadam: b1/);
    expect(() => lion({ b2: -0.1 })).toThrow(/lion: b2/);
  });
  test("weight decay without params", () => {
    const p = { w: tensor([1]) };
    const opt = lion();
    expect(() => opt.update({ w: tensor([1]) }, opt.init(p))).toThrow(/lion: .*needs params/);
  });
  test("a foreign state is rejected", () => {
    const p = { w: tensor([1]) };
    expect(() => nadam().update({ w: tensor([1]) }, adagrad({ lr: 1 }).init(p), p)).toThrow(/nadam: the state has no 'mu'/);
  });
});

describe("jit == eager", () => {
  for (const [name, opt] of CASES) {
    test(name, () => {
      const params = { w: tensor(P0) };
      const g = { w: tensor([0.3, -0.7, 1.1]) };
      const step = (gr: { w: Tensor }, s: OptState, p: { w: Tensor }): [{ w: Tensor }, OptState] => opt.update(gr, s, p);
      let sE = opt.init(params);
      let sJ = opt.init(params);
      for (let k = 0; k < 2; k++) {
        const [uE, sE2] = step(g, sE, params);
        const [uJ, sJ2] = jit(step)(g, sJ, params);
        const want = Array.from(uE.w.dataSync());
        Array.from(uJ.w.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
        sE = sE2;
        sJ = sJ2;
      }
    });
  }
});
