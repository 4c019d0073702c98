// PyTorch/Flax interop against files written in Python by tests/fixtures/gen_io_interop.py
// (safetensors library; outputs from PyTorch's equations / JAX): a PyTorch nn.Sequential MLP
// loads and predicts the same logits, LSTM/GRU/conv/LayerNorm weights map with their layouts
// and gate orders, Flax trees load, and the exports invert the imports.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { nn, random, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { IoError, fromFlax, fromTorch, loadSafetensors, saveSafetensors, toFlax, toTorch } from "../../src/io/index.js";

interface Enc {
  readonly shape: number[];
  readonly data: number[];
}
const dir = new URL("../fixtures/io/", import.meta.url);
const file = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, dir)));
const fx = JSON.parse(readFileSync(new URL("../fixtures/io_interop.json", import.meta.url), "utf8")) as Record<string, Record<string, Enc>>;
const make = (e: Enc): Tensor => tensor(new Float32Array(e.data), { shape: e.shape });

function expectClose(t: Tensor, e: Enc, tol = 1e-5): void {
  expect(t.shape).toEqual(e.shape);
  const got = t.dataSync();
  let worst = 0;
  e.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[i]! - v) / Math.max(1, Math.abs(v)))));
  expect(worst).toBeLessThan(tol);
}

const torchMlp = nn.sequential(nn.dense(4, 8), nn.relu, nn.dense(8, 8), nn.tanh, nn.dense(8, 3));

describe("PyTorch state_dict", () => {
  test("a PyTorch-saved nn.Sequential MLP predicts the same logits", () => {
    const sd = loadSafetensors(file("torch_mlp.safetensors"));
    const params = fromTorch(sd, torchMlp.init(random.key(0)));
    expectClose(torchMlp.apply(params, make(fx.torch_mlp!.x!)), fx.torch_mlp!.logits!);
  });

  test("LSTM, GRU (gate order), Conv2d, LayerNorm, Embedding and nested ModuleList names", () => {
    const l = fx.torch_layers!;
    const lstm = nn.lstm(3, 5);
    const gru = nn.gru(3, 4);
    const conv = nn.conv2d(2, 4, 3);
    const norm = nn.layerNorm(4);
    const head = [nn.dense(5, 6), nn.dense(6, 2)];
    const like = {
      emb: nn.embedding(10, 4).init(random.key(0)),
      conv: conv.init(random.key(1)),
      norm: norm.init(random.key(2)),
      lstm: lstm.init(random.key(3)),
      gru: gru.init(random.key(4)),
      head: { layers: head.map((h) => h.init(random.key(5))) },
      bn: nn.batchNorm(4).init(random.key(6)),
    };
    const sd = loadSafetensors(file("torch_layers.safetensors"));
    // strict: BatchNorm's running statistics are state, not params
    expect(() => fromTorch(sd, like)).toThrow(/unexpected in the file: .*bn\.running_mean/);
    const p = fromTorch(sd, like, { strict: false });
    const seq = make(l.x_seq!);
    expectClose(lstm.apply(p.lstm, seq), l.lstm!);
    expectClose(gru.apply(p.gru, seq), l.gru!);
    expectClose(conv.apply(p.conv, make(l.x_img!)), l.conv!);
    expectClose(norm.apply(p.norm, make(l.x_norm!)), l.norm!, 1e-4);
    const h = head[1]!.apply(p.head.layers[1]!, head[0]!.apply(p.head.layers[0]!, make(l.lstm!)));
    expectClose(h, l.head!);
    expect(p.emb.table.arraySync()).toEqual((sd as { emb: { weight: Tensor } }).emb.weight.arraySync());
  });

  test("a model of another shape gets an error listing the mismatched names", () => {
    const sd = loadSafetensors(file("torch_mlp.safetensors"));
    const other = nn.sequential(nn.dense(4, 8), nn.relu, nn.dense(8, 5), nn.tanh, nn.dense(5, 3), nn.relu, nn.dense(3, 3));
    let msg = "";
    try {
      fromTorch(sd, other.init(random.key(0)));
    } catch (e) {
      expect(e).toBeInstanceOf(IoError);
      msg = (e as Error).message;
    }
    expect(msg).toContain("2.weight: shape [8, 8] in the file (Linear [out, in]), template needs [8, 5]");
    expect(msg).toContain("missing in the file: 6.weight [3, 3], 6.bias [3]");
    expect(msg).toMatch(/4\.weight: shape \[3, 8\]/);
  });

  test("toTorch inverts fromTorch, names and layouts as PyTorch's", () => {
    const sd = loadSafetensors(file("torch_mlp.safetensors"));
    const params = fromTorch(sd, torchMlp.init(random.key(0)));
    const back = toTorch(params);
    expect(Object.keys(back)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
    const flat = sd as unknown as Record<string, Record<string, Tensor>>;
    expect(back["2.weight"]!.arraySync()).toEqual(flat["2"]!.weight!.arraySync());
    // written file: flat PyTorch names, loads again into the same model
    const again = fromTorch(loadSafetensors(saveSafetensors(back)), torchMlp.init(random.key(1)));
    expectClose(torchMlp.apply(again, make(fx.torch_mlp!.x!)), fx.torch_mlp!.logits!);
    const lstm = nn.lstm(3, 5).init(random.key(2));
    const t = toTorch({ lstm });
    expect(t["lstm.weight_ih_l0"]!.shape).toEqual([20, 3]);
    expect(t["lstm.bias_hh_l0"]!.arraySync()).toEqual(new Array(20).fill(0));
    const r = fromTorch(t, { lstm });
    expect(r.lstm.b.arraySync()).toEqual(lstm.b.arraySync());
  });
});

describe("Flax/JAX params", () => {
  test("a Flax MLP (params/Dense_0/kernel names) predicts the same logits as JAX", () => {
    const model = nn.sequential(nn.dense(4, 8), nn.relu, nn.dense(8, 3));
    const params = fromFlax(loadSafetensors(file("flax_mlp.safetensors")), model.init(random.key(0)));
    expectClose(model.apply(params, make(fx.flax_mlp!.x!)), fx.flax_mlp!.logits!);
  });

  test("Conv (HWIO kernels), LayerNorm, Embed and Dense by per-kind counters", () => {
    const conv = nn.conv2d(2, 4, 3);
    const like = [
      conv.init(random.key(0)),
      {},
      nn.layerNorm(4).init(random.key(0)),
      nn.embedding(10, 4).init(random.key(0)),
      nn.dense(4, 2).init(random.key(0)),
    ] as const;
    const flat = loadSafetensors(file("flax_layers.safetensors")) as Record<string, Tensor>;
    const p = fromFlax(flat, like);
    expectClose(conv.apply(p[0], make(fx.flax_layers!.x_img!)), fx.flax_layers!.conv!);
    expect(p[1]).toEqual({});
    expect(p[2].scale.arraySync()).toEqual(flat["params/LayerNorm_0/scale"]!.arraySync());
    expect(p[3].table.arraySync()).toEqual(flat["params/Embed_0/embedding"]!.arraySync());
    expect(p[4].w.arraySync()).toEqual(flat["params/Dense_0/kernel"]!.arraySync());
    // export inverts it: same names and layouts as the Flax file
    const f = toFlax(p).params as Record<string, Record<string, Tensor>>;
    expect(Object.keys(f)).toEqual(["Conv_0", "LayerNorm_0", "Embed_0", "Dense_0"]);
    expect(f.Conv_0!.kernel!.arraySync()).toEqual(flat["params/Conv_0/kernel"]!.arraySync());
    // and the nested form loads as well
    const again = fromFlax(toFlax(p), like);
    expect(again[0].w.arraySync()).toEqual(p[0].w.arraySync());
  });

  test("mismatches and unsupported layouts are clear errors", () => {
    const flat = loadSafetensors(file("flax_mlp.safetensors"));
    expect(() => fromFlax(flat, nn.sequential(nn.dense(4, 8), nn.relu, nn.dense(8, 2)).init(random.key(0)))).toThrow(
      /Dense_1\/kernel: shape \[8, 3\] in the file, template needs \[8, 2\]/,
    );
    expect(() => fromFlax(flat, [nn.dense(4, 8).init(random.key(0))])).toThrow(/2 unexpected.*unexpected in the file: Dense_1\/bias, Dense_1\/kernel/);
    expect(() => toFlax([nn.lstm(2, 3).init(random.key(0))])).toThrow(/toFlax: RNN params/);
    expect(() => fromTorch(tensor([1]), tensor([1]))).toThrow(/fromTorch: like must be a params tree/);
  });
});
