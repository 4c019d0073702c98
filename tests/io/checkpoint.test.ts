// Checkpoints: save/load of whole training states (params, optimizer state, numbers, keys,
// history, empty nodes, null) restore the exact tree, dtypes and values; load(path, like) lists
// every mismatch; saveSafetensors of nn.sequential params round-trips.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { astype, grad, nn, optim, random, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { IoError, checkpointBytes, load, loadCheckpointBytes, loadSafetensors, safetensorsMetadata, save, saveSafetensors } from "../../src/io/index.js";

const dir = mkdtempSync(join(tmpdir(), "tenfold-ckpt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tree with tensors replaced by {dtype, shape, data} so toEqual compares everything. */
function plain(t: unknown): unknown {
  if (t instanceof Object && "dataSync" in t && "shape" in t) {
    const x = t as Tensor;
    return { dtype: x.dtype, shape: x.shape, data: Array.from(x.dataSync()) };
  }
  if (Array.isArray(t)) return t.map(plain);
  if (t !== null && typeof t === "object") return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, plain(v)]));
  return t;
}

function trainingState() {
  const model = nn.sequential(nn.dense(3, 4), nn.relu, nn.dropout(0.5), nn.dense(4, 2));
  const params = model.init(random.key(0));
  const opt = optim.adam({ lr: 1e-3 });
  return {
    params,
    opt: opt.init(params),
    step: 1234,
    lr: 0.1,
    bad: [NaN, Infinity, -Infinity, -0, 2 ** 53 - 1],
    key: random.split(random.key(7))[1]!,
    mask: tensor([true, false, true]),
    half: astype(tensor([0.5, -2, 1024]), "float16"),
    history: { loss: [0.9, 0.5, 0.25], val: { loss: [], acc: [1] } },
    note: "run a",
    flag: false,
    none: null,
    empty: {},
    nested: [[], [{}], { a: [] }],
    "odd.key": tensor([1]),
  };
}

describe("save/load", () => {
  test("a whole training state round-trips: structure, dtypes, exact numbers, empty nodes", async () => {
    const state = trainingState();
    const path = join(dir, "state.safetensors");
    await save(path, state);
    const back = await load(path);
    expect(plain(back)).toEqual(plain(state));
    const b = back as unknown as typeof state;
    expect(b.step).toBe(1234);
    expect(b.lr).toBe(0.1); // exact double, not float32 0.10000000149
    expect(Object.is(b.bad[3], -0)).toBe(true);
    expect((b.key as Tensor).dtype).toBe(state.key.dtype);
    expect((b.half as Tensor).dtype).toBe("float16");
    expect(b.params[1]).toEqual({});
    expect(b.params[2]).toEqual({});
    expect(Object.keys(b)).toEqual(Object.keys(state));
    // the file is plain safetensors: params are named by their paths
    const meta = safetensorsMetadata(new Uint8Array(readFileSync(path)));
    expect(meta?.["tenfold.tree"]).toBeDefined();
    const flat = loadSafetensors(new Uint8Array(readFileSync(path))) as unknown as typeof state;
    expect((flat.params[3] as unknown as { w: Tensor }).w.shape).toEqual([4, 2]);
  });

  test("restored params and optimizer state continue training identically", async () => {
    const model = nn.sequential(nn.dense(2, 3), nn.tanh, nn.dense(3, 1));
    const opt = optim.adam({ lr: 0.05 });
    const x = tensor([
      [1, 2],
      [3, -1],
      [0, 1],
    ]);
    const y = tensor([[1], [0], [2]]);
    const loss = (p: nn.Params): Tensor => nn.mse(model.apply(p as nn.Params[], x), y);
    const step = (p: nn.Params, s: optim.OptState): [nn.Params, optim.OptState] => {
      const [u, s2] = opt.update(grad(loss)(p) as nn.Params, s, p);
      return [optim.applyUpdates(p, u) as nn.Params, s2];
    };
    let p = model.init(random.key(3)) as nn.Params;
    let s = opt.init(p);
    for (let i = 0; i < 3; i++) [p, s] = step(p, s);
    const path = join(dir, "resume.safetensors");
    await save(path, { p, s });
    let [p1, s1] = [p, s];
    for (let i = 0; i < 3; i++) [p1, s1] = step(p1, s1);
    const r = await load(path, { p, s });
    let [p2, s2] = [r.p, r.s];
    for (let i = 0; i < 3; i++) [p2, s2] = step(p2, s2);
    expect(plain(p2)).toEqual(plain(p1));
    expect(plain(s2)).toEqual(plain(s1));
  });

  test("load(path, like) lists missing, unexpected, wrong-shape and wrong-dtype names", async () => {
    const path = join(dir, "mlp.safetensors");
    await save(path, { l0: { w: tensor([[1, 2, 3]]), b: tensor([0, 0, 0]) }, extra: tensor([1]), k: tensor([1, 2], { dtype: "int32" }) });
    const like = {
      l0: {
        w: tensor([
          [1, 2],
          [3, 4],
        ]),
        b: tensor([0, 0, 0]),
        g: tensor([1]),
      },
      k: tensor([1, 2]),
    };
    const err = await load(path, like).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IoError);
    const msg = (err as Error).message;
    expect(msg).toContain("mlp.safetensors");
    expect(msg).toContain("missing in the file: l0.g (tensor float32 [1])");
    expect(msg).toContain("unexpected in the file: extra (tensor float32 [1])");
    expect(msg).toContain("l0.w: shape [1, 3] in the file, [2, 2] in the template");
    expect(msg).toContain("k: dtype int32 in the file, float32 in the template");
    expect(msg).toMatch(/1 missing, 1 unexpected, 2 mismatched/);
  });

  test("a model of a different architecture is rejected with the layer names", async () => {
    const path = join(dir, "arch.safetensors");
    await save(path, nn.sequential(nn.dense(3, 4), nn.relu, nn.dense(4, 2)).init(random.key(0)));
    const other = nn.sequential(nn.dense(3, 4), nn.dense(4, 4), nn.dense(4, 2)).init(random.key(0));
    await expect(load(path, other)).rejects.toThrow(/missing in the file: 1\.w \(tensor float32 \[4, 4\]\), 1\.b/);
    await expect(load(path, other)).rejects.toThrow(/unexpected in the file: 1 \(\{\}\)/);
  });

  test("load(path, like) accepts foreign files and returns the template's structure", async () => {
    const path = join(dir, "foreign.safetensors");
    // no tenfold structure: a file as another framework writes it
    writeFileSync(path, saveSafetensors({ w: tensor([1, 2]), step: tensor(5, { dtype: "int32" }) }));
    expect(safetensorsMetadata(new Uint8Array(readFileSync(path)))).toBeUndefined();
    const back = (await load(path, { w: tensor([0, 0]), step: 0 })) as { w: Tensor; step: number };
    expect(back.step).toBe(5);
    expect(back.w.arraySync()).toEqual([1, 2]);
  });

  test("bytes API works the same and validates the structure metadata", async () => {
    const t = { a: [tensor([1]), {}], n: 3 };
    const bytes = await checkpointBytes(t, { metadata: { epoch: "2" } });
    expect(plain(loadCheckpointBytes(bytes))).toEqual(plain(t));
    expect(safetensorsMetadata(bytes)?.epoch).toBe("2");
    await expect(checkpointBytes(t, { metadata: { "tenfold.tree": "x" } })).rejects.toThrow(/reserved/);
    await expect(checkpointBytes({ f: () => 1 })).rejects.toThrow(/save: unsupported value at "f" \(a function\)/);
    await expect(checkpointBytes({ d: new Date(0) })).rejects.toThrow(/a Date/);
    // a structure naming an entry the file lacks, and an entry the structure does not name
    const lie = (structure: string): Uint8Array => {
      const h = new TextEncoder().encode(
        JSON.stringify({ __metadata__: { "tenfold.tree": structure }, a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }),
      );
      const out = new Uint8Array(8 + h.length + 4);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return out;
    };
    expect(loadSafetensors(lie(JSON.stringify({ o: [["a", { t: "a" }]] })))).toEqual({ a: expect.any(Object) });
    expect(() => loadSafetensors(lie(JSON.stringify({ o: [["a", { t: "b" }]] })))).toThrow(/names entry "b", which the file does not have/);
    expect(() => loadSafetensors(lie(JSON.stringify({ o: [] })))).toThrow(/entries "a" are not in the tenfold.tree metadata/);
    expect(() => loadSafetensors(lie("{oops"))).toThrow(IoError);
    expect(() => loadSafetensors(lie(JSON.stringify({ q: 1 })))).toThrow(/unknown node kind/);
  });

  test("bad paths are rejected at the call", async () => {
    await expect(save("", {})).rejects.toThrow(/save: path must be a non-empty string/);
    await expect(load(join(dir, "does-not-exist.safetensors"))).rejects.toThrow(/ENOENT/);
    writeFileSync(join(dir, "junk.safetensors"), new Uint8Array([1, 2, 3]));
    await expect(load(join(dir, "junk.safetensors"))).rejects.toThrow(/load: ".*junk.safetensors": safetensors: file has 3 bytes/);
  });

  test("save creates missing directories and leaves no temporary files", async () => {
    const path = join(dir, "sub", "deeper", "ck.safetensors");
    await save(path, { x: tensor([1]) });
    await save(path, { x: tensor([2]) });
    expect(readdirSync(join(dir, "sub", "deeper"))).toEqual(["ck.safetensors"]);
    expect(((await load(path)) as { x: Tensor }).x.arraySync()).toEqual([2]);
  });
});

describe("saveSafetensors/loadSafetensors", () => {
  test("nn.sequential params with parameter-free layers round-trip", () => {
    const model = nn.sequential(nn.dense(2, 3), nn.relu, nn.dense(3, 3), nn.sigmoid, nn.dense(3, 1));
    const p = model.init(random.key(1));
    const back = loadSafetensors(saveSafetensors(p)) as nn.Params[];
    expect(plain(back)).toEqual(plain(p));
    const x = tensor([[0.5, -1]]);
    expect(model.apply(back, x).arraySync()).toEqual(model.apply(p, x).arraySync());
  });

  test("a tree the names alone rebuild gets no structure entry", () => {
    expect(safetensorsMetadata(saveSafetensors({ a: [{ w: tensor([1]) }] }))).toBeUndefined();
    expect(safetensorsMetadata(saveSafetensors([tensor([1]), {}]))?.["tenfold.tree"]).toBeDefined();
  });

  test("flat names with dots, numeric-keyed objects and holes", () => {
    const flat = { "0.weight": tensor([1]), "2.bias": tensor([2]) };
    const back = loadSafetensors(saveSafetensors(flat)) as Record<string, Tensor>;
    expect(Object.keys(back)).toEqual(["0.weight", "2.bias"]);
    const numericObj = { "3": tensor([1]), "7": tensor([2]) };
    expect(Object.keys(loadSafetensors(saveSafetensors(numericObj)) as object)).toEqual(["3", "7"]);
  });
});
