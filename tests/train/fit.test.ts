// fit's workflow features: exact resume from a mid-epoch checkpoint, a learning-rate factor that
// reaches the jitted step without retracing, terminateOnNaN (default on), reduceLROnPlateau,
// csvLogger, modelCheckpoint (best and last), default progress on a TTY only, and batched
// evaluate/predict checked against whole-set computations.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { add, matmul, mean, multiply, random, square, subtract, tanh, tensor, zeros } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { adam, sgd } from "../../src/optim/index.js";
import { load } from "../../src/io/index.js";
import { csvLogger, evaluate, fit, modelCheckpoint, predict, reduceLROnPlateau } from "../../src/train/index.js";
import type { Callback, TrainCheckpoint } from "../../src/train/index.js";

type P = { w1: Tensor; b1: Tensor; w2: Tensor };
const X = random.normal(random.key(20), [96, 3]);
const Y = matmul(
  tanh(
    matmul(
      X,
      tensor([
        [1, -2],
        [0.5, 1],
        [-1, 0.3],
      ]),
    ),
  ),
  tensor([[1.5], [-0.7]]),
);
const model = (p: P, x: Tensor): Tensor => matmul(tanh(add(matmul(x, p.w1), p.b1)), p.w2);
const init = (k: Tensor): P => {
  const [k1, k2] = random.split(k);
  return { w1: multiply(random.normal(k1!, [3, 8]), 0.5), b1: zeros([8]), w2: multiply(random.normal(k2!, [8, 1]), 0.25) };
};
const data = { x: X, y: Y };
type D = typeof data;
const mse = (p: P, b: D): Tensor => mean(square(subtract(model(p, b.x), b.y)));
const flat = (p: P): number[] => [p.w1, p.b1, p.w2].flatMap((t) => Array.from(t.dataSync()));

class Killed extends Error {}

describe("resume", () => {
  // 96 samples in batches of 16: 6 steps per epoch, 3 epochs; a kill after step 10 (mid epoch 2)
  const opts = { init, loss: mse, optimizer: adam({ lr: 0.02 }), data, validation: data, epochs: 3, batchSize: 16, key: 7, verbose: 0 as const };
  test("a run killed mid-epoch resumes from its last checkpoint to the same final weights and history", async () => {
    const full = await fit(opts);
    const saved = new Map<string, TrainCheckpoint>();
    const kill: Callback = {
      onBatchEnd(_s, _l, _i, ctl) {
        if (ctl.step === 10) throw new Killed("killed");
      },
    };
    const ckpt = modelCheckpoint({ path: "last", everySteps: 4, save: (p, t) => void saved.set(p, t) });
    expect(() => fit({ ...opts, callbacks: [ckpt, kill] })).toThrow(Killed);
    const last = saved.get("last")!;
    expect(Array.from(last.progress.dataSync())).toEqual([8, 1, 2, 32]); // step 8 = epoch 1, 2 batches, 32 samples
    const resumed = await fit({ ...opts, resume: last });
    expect(flat(resumed.params)).toEqual(flat(full.params));
    expect(resumed.history.loss).toHaveLength(3);
    resumed.history.loss.forEach((v, i) => expect(v).toBeCloseTo(full.history.loss[i]!, 6));
    resumed.history.valLoss.forEach((v, i) => expect(v).toBeCloseTo(full.history.valLoss[i]!, 6));
    // the optimizer state carried over too: adam's step count is the total number of steps
    expect((resumed.optState as { count: Tensor }).count.itemSync()).toBe(18);
  });
  test("the same through files: modelCheckpoint's default io save, then load", async () => {
    const dir = mkdtempSync(join(tmpdir(), "resume-"));
    const path = join(dir, "last.safetensors");
    const kill: Callback = {
      onBatchEnd(_s, _l, _i, ctl) {
        if (ctl.step === 9) throw new Killed("killed");
      },
    };
    await expect(fit({ ...opts, callbacks: [modelCheckpoint({ path, everySteps: 4 }), kill] })).rejects.toThrow(Killed);
    const ck = await load<TrainCheckpoint>(path);
    expect(Array.from(ck.progress.dataSync())).toEqual([8, 1, 2, 32]);
    const resumed = await fit({ ...opts, resume: ck });
    expect(flat(resumed.params)).toEqual(flat((await fit(opts)).params));
  });
  test("resuming from an epoch-end checkpoint continues with the next epoch only", async () => {
    const saved: TrainCheckpoint[] = [];
    await fit({ ...opts, epochs: 1, callbacks: [modelCheckpoint({ path: "x", save: (_p, t) => void saved.push(t) })] });
    expect(Array.from(saved[0]!.progress.dataSync())).toEqual([6, 1, 0, 0]);
    const epochs: number[] = [];
    const more = await fit({ ...opts, resume: saved[0]!, callbacks: [{ onEpochBegin: (e) => void epochs.push(e) }] });
    expect(epochs).toEqual([1, 2]);
    expect(flat(more.params)).toEqual(flat((await fit(opts)).params));
  });
  test("a malformed checkpoint is a clear error", () => {
    expect(() => fit({ ...opts, resume: { params: {} } as unknown as TrainCheckpoint })).toThrow(
      /fit: resume must be a checkpoint.*missing optState, key, progress, numbers/,
    );
  });
});

describe("learning-rate factor", () => {
  test("lrSchedule changes the step size every epoch while the jitted step is traced once", async () => {
    let traces = 0;
    const loss = (p: P, b: D, ctx: { training: boolean }): Tensor => {
      if (ctx.training) traces++;
      return mse(p, b);
    };
    const r = await fit({ init, loss, optimizer: sgd({ lr: 0.1 }), data, epochs: 4, batchSize: 32, verbose: 0, lrSchedule: (e) => 1 / (1 + e) });
    expect(traces).toBe(1);
    expect(r.history.lrScale).toEqual([1, 1 / 2, 1 / 3, 1 / 4]);
    // the factor reaches the update: a zero factor leaves the params at their init
    const frozen = await fit({ init, loss: mse, optimizer: sgd({ lr: 0.1 }), data, epochs: 2, batchSize: 32, verbose: 0, lrSchedule: () => 0 });
    expect(flat(frozen.params)).toEqual(flat(init(random.split(random.key(0), 3)[0]!)));
  });
  test("a factor of 0.5 equals halving the optimizer's own learning rate (plain SGD)", async () => {
    const a = await fit({ init, loss: mse, optimizer: sgd({ lr: 0.1 }), data, epochs: 2, batchSize: 32, verbose: 0, lrSchedule: () => 0.5 });
    const b = await fit({ init, loss: mse, optimizer: sgd({ lr: 0.05 }), data, epochs: 2, batchSize: 32, verbose: 0 });
    flat(a.params).forEach((v, i) => expect(v).toBeCloseTo(flat(b.params)[i]!, 5));
  });
  test("reduceLROnPlateau lowers the factor after `patience` epochs without improvement", async () => {
    const { history } = await fit({
      init: { w: tensor([[0]]) },
      loss: (p: { w: Tensor }, b: { x: Tensor; y: Tensor }) => mean(square(subtract(multiply(b.x, p.w), b.y))),
      optimizer: sgd({ lr: 0 }),
      data: { x: tensor([[1], [2]]), y: tensor([[2], [4]]) },
      epochs: 5,
      verbose: 0,
      callbacks: [reduceLROnPlateau({ patience: 2, factor: 0.5 })],
    });
    // epoch 0 sets the best; epochs 1, 2 do not improve: reduced after epoch 2, again after epoch 4
    expect(history.lrScale).toEqual([1, 1, 1, 0.5, 0.5]);
    expect(() => reduceLROnPlateau({ factor: 1 })).toThrow(/factor must be in \(0, 1\), got 1/);
  });
});

describe("terminateOnNaN", () => {
  // sample 2 is NaN: with batches of 1 in order, the third step produces a NaN loss
  const nanData = { x: tensor([[1], [2], [NaN], [3]]), y: tensor([[1], [2], [3], [4]]) };
  const opts = {
    init: { w: tensor([[0.5]]) },
    loss: (p: { w: Tensor }, b: typeof nanData) => mean(square(subtract(multiply(b.x, p.w), b.y))),
    optimizer: sgd({ lr: 0.01 }),
    data: nanData,
    epochs: 3,
    batchSize: 1,
    shuffle: false,
    verbose: 0 as const,
  };
  test("is on by default: stops at the NaN step and keeps the params from before it", async () => {
    const r = await fit(opts);
    expect(r.stopReason).toBe("nan");
    expect(Number.isFinite(r.params.w.itemSync())).toBe(true);
    expect(r.history.loss).toHaveLength(1);
    // the kept params are those after exactly two steps
    const two = await fit({ ...opts, data: { x: tensor([[1], [2]]), y: tensor([[1], [2]]) }, epochs: 1 });
    expect(r.params.w.itemSync()).toBe(two.params.w.itemSync());
  });
  test("terminateOnNaN: false carries on through NaNs", async () => {
    const r = await fit({ ...opts, terminateOnNaN: false });
    expect(r.stopReason).toBeUndefined();
    expect(r.history.loss).toHaveLength(3);
    expect(Number.isNaN(r.params.w.itemSync())).toBe(true);
  });
});

describe("callbacks", () => {
  test("csvLogger writes a header and one row per epoch; modelCheckpoint keeps the best epoch", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fit-"));
    const file = join(dir, "log.csv");
    const saved: { path: string; epoch: number }[] = [];
    // lr schedule that makes epoch 1 the best (a huge step in epoch 2 ruins the fit)
    const r = await fit({
      init,
      loss: mse,
      optimizer: sgd({ lr: 0.1 }),
      data,
      validation: data,
      epochs: 3,
      batchSize: 32,
      verbose: 0,
      terminateOnNaN: false,
      lrSchedule: (e) => (e === 2 ? 50 : 1),
      callbacks: [
        csvLogger(file),
        modelCheckpoint({ path: "last", bestPath: "best", save: (p, t) => void saved.push({ path: p, epoch: t.progress.dataSync()[1]! }) }),
      ],
    });
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines[0]).toBe("epoch,loss,valLoss,lrScale");
    expect(lines).toHaveLength(4);
    expect(Number(lines[2]!.split(",")[1])).toBeCloseTo(r.history.loss[1]!, 10);
    const vl = r.history.valLoss;
    const bestEpoch = vl.indexOf(Math.min(...vl.filter(Number.isFinite)));
    const bests = saved.filter((s) => s.path === "best").map((s) => s.epoch);
    expect(bests.at(-1)).toBe(bestEpoch + 1); // a checkpoint taken at the end of epoch e resumes at e + 1
    expect(saved.filter((s) => s.path === "last").map((s) => s.epoch)).toEqual([1, 2, 3]);
    expect(() => modelCheckpoint({})).toThrow(/give path/);
    // saveBestOnly: only improvements are written, to path
    const only: number[] = [];
    await fit({
      init,
      loss: mse,
      optimizer: sgd({ lr: 0.1 }),
      data,
      epochs: 3,
      batchSize: 32,
      verbose: 0,
      lrSchedule: () => 0,
      callbacks: [modelCheckpoint({ path: "p", saveBestOnly: true, save: (_p, t) => void only.push(t.progress.dataSync()[1]!) })],
    });
    expect(only).toEqual([1]); // frozen params: the loss never improves after epoch 0
  });
});

describe("progress", () => {
  const isTTY = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
  afterEach(() => {
    vi.restoreAllMocks();
    if (isTTY) Object.defineProperty(process.stderr, "isTTY", isTTY);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
  });
  const run = async (tty: boolean, verbose?: 0 | 1 | 2): Promise<string> => {
    Object.defineProperty(process.stderr, "isTTY", { value: tty, configurable: true });
    const out: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    await fit({ init, loss: mse, optimizer: sgd({ lr: 0.1 }), data, epochs: 2, batchSize: 32, ...(verbose === undefined ? {} : { verbose }) });
    vi.restoreAllMocks();
    return out.join("");
  };
  test("a bar with loss, steps/s and ETA on a TTY by default; nothing off a TTY or with verbose 0", async () => {
    const tty = await run(true);
    expect(tty).toMatch(/\repoch 1\/2 \[[=> ]+\] \d\/3 loss \d+\.\d{4} [\d.]+ steps\/s ETA /);
    expect(tty).toMatch(/epoch 2\/2 - loss \d+\.\d{4} - .* steps\/s/);
    expect(tty).toContain(" steps/s\u001b[K\n");
    expect(await run(false)).toBe("");
    expect(await run(true, 0)).toBe("");
    expect(await run(false, 2)).toMatch(/^epoch 1\/2 - loss .*\nepoch 2\/2 - loss .*\n$/);
  });
});

describe("evaluate and predict", () => {
  test("batched results equal the whole-set computation", async () => {
    const p = init(random.key(3));
    const r = await evaluate(p, (q: P, b: D) => [mse(q, b), { mae: mean(square(subtract(model(q, b.x), b.y))) }] as const, data, { batchSize: 40 });
    expect(r.loss).toBeCloseTo(mse(p, data).itemSync(), 5);
    expect(r.mae).toBeCloseTo(r.loss!, 6);
    const y = predict(model, p, X, { batchSize: 40 });
    expect(y.shape).toEqual([96, 1]);
    const want = model(p, X).dataSync();
    Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    expect(() => predict(model, p, X, { batchSize: 0 })).toThrow(/predict: batchSize must be a positive integer, got 0/);
  });
});
