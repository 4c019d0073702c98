// Optimizers against their papers' update rules, computed here with plain JS doubles; schedules
// against closed forms; combinators; and a jitted train step carrying the optimizer state.
import { describe, expect, test } from "vitest";
import { jit, sum, square, subtract, tensor, grad, tree } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { adam, adamw, addDecayedWeights, applyUpdates, chain, clipByGlobalNorm, globalNorm, rmsprop, schedules, sgd } from "../../src/optim/index.js";
import type { GradientTransformation } from "../../src/optim/index.js";

const P0 = [0.5, -1.5, 2.0];
// gradients of f(p) = sum(c * p^2) / 2 + d * p at p: c * p + d, with distinct coefficients
const C = [1.0, 3.0, 0.5];
const D = [0.1, -0.2, 0.3];
const gradAt = (p: number[]): number[] => p.map((x, i) => C[i]! * x + D[i]!);

/** Runs `opt` for 3 steps on the quadratic and returns the params after each step. */
function run3(opt: GradientTransformation): number[][] {
  let params = { w: tensor(P0) };
  let state = opt.init(params);
  const out: number[][] = [];
  for (let k = 0; k < 3; k++) {
    const p = Array.from(params.w.dataSync());
    const g = { w: tensor(gradAt(p)) };
    const [u, s] = opt.update(g, state, params);
    params = applyUpdates(params, u);
    state = s;
    out.push(Array.from(params.w.dataSync()));
  }
  return out;
}

function expectClose(got: number[][], want: number[][], tol = 2e-5): void {
  got.forEach((row, k) => row.forEach((v, i) => expect(Math.abs(v - want[k]![i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(want[k]![i]!)))));
}

/** A reference loop in doubles: `step(p, g, k)` returns the new p (k is 1-based). */
function reference(step: (p: number[], g: number[], k: number) => number[]): number[][] {
  let p = [...P0];
  const out: number[][] = [];
  for (let k = 1; k <= 3; k++) {
    p = step(p, gradAt(p), k);
    out.push([...p]);
  }
  return out;
}

describe("optimizers match their update rules for the first 3 steps", () => {
  test("sgd", () => {
    expectClose(
      run3(sgd({ lr: 0.1 })),
      reference((p, g) => p.map((x, i) => x - 0.1 * g[i]!)),
    );
  });

  test("sgd with momentum (heavy ball)", () => {
    let t = [0, 0, 0];
    const want = reference((p, g) => {
      t = t.map((b, i) => g[i]! + 0.9 * b);
      return p.map((x, i) => x - 0.1 * t[i]!);
    });
    expectClose(run3(sgd({ lr: 0.1, momentum: 0.9 })), want);
  });

  test("sgd with Nesterov momentum", () => {
    let t = [0, 0, 0];
    const want = reference((p, g) => {
      t = t.map((b, i) => g[i]! + 0.9 * b);
      return p.map((x, i) => x - 0.1 * (g[i]! + 0.9 * t[i]!));
    });
    expectClose(run3(sgd({ lr: 0.1, momentum: 0.9, nesterov: true })), want);
  });

  const adamRef = (lr: number, b1: number, b2: number, eps: number, wd: number): number[][] => {
    let m = [0, 0, 0];
    let v = [0, 0, 0];
    return reference((p, g, k) => {
      m = m.map((x, i) => b1 * x + (1 - b1) * g[i]!);
      v = v.map((x, i) => b2 * x + (1 - b2) * g[i]! ** 2);
      return p.map((x, i) => {
        const mh = m[i]! / (1 - b1 ** k);
        const vh = v[i]! / (1 - b2 ** k);
        return x - lr * (mh / (Math.sqrt(vh) + eps) + wd * x);
      });
    });
  };

  test("adam (Kingma & Ba, Algorithm 1)", () => {
    expectClose(run3(adam({ lr: 0.05, b1: 0.8, b2: 0.99, eps: 1e-6 })), adamRef(0.05, 0.8, 0.99, 1e-6, 0));
    expectClose(run3(adam({ lr: 0.01 })), adamRef(0.01, 0.9, 0.999, 1e-8, 0));
  });

  test("adamw (Loshchilov & Hutter, decoupled decay)", () => {
    expectClose(run3(adamw({ lr: 0.05, weightDecay: 0.1 })), adamRef(0.05, 0.9, 0.999, 1e-8, 0.1));
  });

  test("rmsprop (Tieleman & Hinton), plain, momentum, centered", () => {
    const ref = (lr: number, decay: number, eps: number, mom: number, centered: boolean): number[][] => {
      let v = [0, 0, 0];
      let mg = [0, 0, 0];
      let b = [0, 0, 0];
      return reference((p, g) => {
        v = v.map((x, i) => decay * x + (1 - decay) * g[i]! ** 2);
        mg = mg.map((x, i) => decay * x + (1 - decay) * g[i]!);
        const d = g.map((x, i) => x / (Math.sqrt(centered ? v[i]! - mg[i]! ** 2 : v[i]!) + eps));
        b = d.map((x, i) => (mom > 0 ? mom * b[i]! + x : x));
        return p.map((x, i) => x - lr * b[i]!);
      });
    };
    expectClose(run3(rmsprop({ lr: 0.01, decay: 0.9 })), ref(0.01, 0.9, 1e-8, 0, false));
    expectClose(run3(rmsprop({ lr: 0.01, decay: 0.95, momentum: 0.5 })), ref(0.01, 0.95, 1e-8, 0.5, false));
    expectClose(run3(rmsprop({ lr: 0.01, decay: 0.9, centered: true, eps: 1e-3 })), ref(0.01, 0.9, 1e-3, 0, true));
  });

  test("a schedule as lr is evaluated at the step count before the update", () => {
    const lrs = [0.1, 0.05, 0.025];
    const want = reference((p, g, k) => p.map((x, i) => x - lrs[k - 1]! * g[i]!));
    expectClose(run3(sgd({ lr: schedules.exponentialDecay({ init: 0.1, decayRate: 0.5, transitionSteps: 1 }) })), want);
  });
});

describe("combinators", () => {
  test("clipByGlobalNorm scales only when the norm exceeds the bound", () => {
    const c = clipByGlobalNorm(5);
    const [small] = c.update({ a: tensor([1, 2]), b: [tensor([2])] }, c.init({}));
    expect(tree.leaves<Tensor>(small).map((t) => t.arraySync())).toEqual([[1, 2], [2]]);
    const [big] = c.update({ a: tensor([6, 0]), b: [tensor([8])] }, c.init({}));
    expect(globalNorm(big).itemSync()).toBeCloseTo(5, 5);
    expect((big.a as Tensor).arraySync()).toEqual([3, 0]);
  });

  test("chain(addDecayedWeights, sgd) equals sgd on g + wd * p", () => {
    const want = reference((p, g) => p.map((x, i) => x - 0.1 * (g[i]! + 0.01 * x)));
    expectClose(run3(chain(addDecayedWeights(0.01), sgd({ lr: 0.1 }))), want);
  });

  test("optimizer state is a pytree of tensors that a jitted step can carry", () => {
    const opt = chain(clipByGlobalNorm(10), adam({ lr: schedules.warmupCosine({ peak: 0.1, warmupSteps: 2, decaySteps: 50 }) }));
    const target = tensor([1, 2, 3]);
    const loss = (p: { w: Tensor }): Tensor => sum(square(subtract(p.w, target)));
    const step = jit((p: { w: Tensor }, s: unknown) => {
      const g = grad(loss)(p) as { w: Tensor };
      const [u, s2] = opt.update(g, s as never, p);
      return [applyUpdates(p, u), s2] as const;
    });
    let p = { w: tensor([0, 0, 0]) };
    let s: unknown = opt.init(p);
    let q = p;
    let sq: unknown = s;
    const l0 = loss(p).itemSync();
    for (let i = 0; i < 40; i++) {
      [p, s] = step(p, s);
      const [u, s2] = opt.update(grad(loss)(q) as { w: Tensor }, sq as never, q);
      [q, sq] = [applyUpdates(q, u), s2];
    }
    expect(step.traceCount).toBe(1);
    expect(loss(p).itemSync()).toBeLessThan(l0 / 10);
    expectClose([Array.from(p.w.dataSync())], [Array.from(q.w.dataSync())]);
    for (const leaf of tree.leaves(s)) expect(typeof leaf).not.toBe("number");
  });

  test("adamw and addDecayedWeights need params", () => {
    const o = adamw({ weightDecay: 0.1 });
    expect(() => o.update({ w: tensor([1]) }, o.init({ w: tensor([1]) }))).toThrow(/needs params/);
  });
});

describe("schedules match their closed forms", () => {
  const steps = [0, 1, 7, 10, 25, 99, 100, 150];
  test("exponentialDecay, smooth and staircase, on numbers and tensor steps", () => {
    const s = schedules.exponentialDecay({ init: 0.3, decayRate: 0.7, transitionSteps: 10 });
    const st = schedules.exponentialDecay({ init: 0.3, decayRate: 0.7, transitionSteps: 10, staircase: true });
    for (const k of steps) {
      expect(s(k).itemSync()).toBeCloseTo(0.3 * 0.7 ** (k / 10), 6);
      expect(st(tensor(new Int32Array([k]), { shape: [], dtype: "int32" })).itemSync()).toBeCloseTo(0.3 * 0.7 ** Math.floor(k / 10), 6);
    }
  });
  test("cosineDecay", () => {
    const s = schedules.cosineDecay({ init: 2, decaySteps: 100, alpha: 0.1 });
    for (const k of steps) {
      const c = 0.5 * (1 + Math.cos((Math.PI * Math.min(k, 100)) / 100));
      expect(s(k).itemSync()).toBeCloseTo(2 * (0.9 * c + 0.1), 5);
    }
  });
  test("warmupCosine", () => {
    const s = schedules.warmupCosine({ peak: 1, warmupSteps: 10, decaySteps: 100, end: 0.05, init: 0.01 });
    for (const k of steps) {
      const want = k < 10 ? 0.01 + (0.99 * k) / 10 : 0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * Math.min(k - 10, 90)) / 90));
      expect(s(k).itemSync()).toBeCloseTo(want, 5);
    }
  });
  test("bad options throw", () => {
    expect(() => schedules.warmupCosine({ peak: 1, warmupSteps: 10, decaySteps: 5 })).toThrow(/decaySteps/);
    expect(() => schedules.cosineDecay({ init: 1, decaySteps: 0 })).toThrow(RangeError);
  });
});
