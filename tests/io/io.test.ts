// tenfold/io against files written by tests/fixtures/gen_io.py (safetensors by the spec with
// struct + json; .npy by numpy.save): loading, byte-identical writing, and corrupt files.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { tensor, tree } from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { IoError, loadNpy, loadSafetensors, safetensorsMetadata, saveNpy, saveSafetensors } from "../../src/io/index.js";

interface Enc {
  readonly shape: number[];
  readonly data: number[];
  readonly dtype?: string;
}
const dir = new URL("../fixtures/io/", import.meta.url);
const file = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, dir)));
const values = JSON.parse(readFileSync(new URL("../fixtures/io.json", import.meta.url), "utf8")) as {
  params: Record<string, Enc>;
  converted: Record<string, Enc>;
  npy: Record<string, Enc>;
};

function make(e: Enc): Tensor {
  const dtype = e.dtype === "int32" ? "int32" : e.dtype === "bool" ? "bool" : "float32";
  const arr = dtype === "int32" ? new Int32Array(e.data) : dtype === "bool" ? new Uint8Array(e.data) : new Float32Array(e.data);
  return tensor(arr, { shape: e.shape, dtype });
}

function expectTensor(t: unknown, e: Enc, tol = 0): void {
  expect(t).toBeInstanceOf(Object);
  const x = t as Tensor;
  expect(x.shape).toEqual(e.shape);
  const got = Array.from(x.dataSync());
  const round = x.dtype === "float32" ? Math.fround : (n: number): number => n;
  got.forEach((v, i) => (tol ? expect(v).toBeCloseTo(e.data[i]!, 5) : expect(v).toBe(round(e.data[i]!))));
}

const p = values.params;
const paramsTree = {
  layers: [
    { w: make(p["layers.0.w"]!), b: make(p["layers.0.b"]!) },
    { w: make(p["layers.1.w"]!), b: make(p["layers.1.b"]!) },
  ],
  mask: make(p.mask!),
  step: make(p.step!),
  empty: make(p.empty!),
};

describe("safetensors", () => {
  test("loads a file written by the spec (Python struct + json) into the nested tree", () => {
    const t = loadSafetensors(file("params.safetensors")) as typeof paramsTree;
    expect(Object.keys(t)).toEqual(["layers", "mask", "step", "empty"]);
    expect(Array.isArray(t.layers)).toBe(true);
    expectTensor(t.layers[0]!.w, p["layers.0.w"]!);
    expectTensor(t.layers[1]!.b, p["layers.1.b"]!);
    expect(t.mask.dtype).toBe("bool");
    expect(t.mask.arraySync()).toEqual([true, false, true]);
    expect(t.step.dtype).toBe("int32");
    expect(t.step.shape).toEqual([]);
    expect(t.empty.shape).toEqual([0, 4]);
    expect(safetensorsMetadata(file("params.safetensors"))).toEqual({ format: "tenfold", note: "fixture" });
  });

  test("our writer produces the same bytes for the same tree", () => {
    const ours = saveSafetensors(paramsTree, { metadata: { format: "tenfold", note: "fixture" } });
    expect(Buffer.from(ours).equals(Buffer.from(file("params.safetensors")))).toBe(true);
    expect((8 + Number(new DataView(ours.buffer).getBigUint64(0, true))) % 8).toBe(0);
  });

  test("round trip of a tree with numbers and nested arrays", () => {
    const t = { a: [[tensor([1, 2])], tensor([[3]])], b: 5 };
    const back = loadSafetensors(saveSafetensors(t)) as { b: number };
    expect(back.b).toBe(5); // numbers come back as numbers (exact: stored as F64)
    expect(tree.map((x: Tensor | number) => (typeof x === "number" ? x : (x.arraySync() as unknown as Tensor)), back)).toEqual({ a: [[[1, 2]], [[3]]], b: 5 });
  });

  test("F64, I64, F16, BF16, U8 convert to float32 / int32", () => {
    const t = loadSafetensors(file("converted.safetensors")) as Record<string, Tensor>;
    const c = values.converted;
    expectTensor(t.f64, c.f64!, 1e-6);
    expect(t.i64!.dtype).toBe("int32");
    expectTensor(t.i64, c.i64!);
    expectTensor(t.f16, c.f16!);
    expectTensor(t.bf16, c.bf16!);
    expectTensor(t.u8, c.u8!);
  });

  test("writer rejects what a tree cannot hold, and stores the rest with its structure", () => {
    expect(() => saveSafetensors({ a: () => 1 })).toThrow(/saveSafetensors: unsupported value at "a" \(a function\)/);
    expect(() => saveSafetensors({ a: [new Map()] })).toThrow(/unsupported value at "a.0" \(a Map\)/);
    const root = loadSafetensors(saveSafetensors(tensor([1, 2]))) as Tensor;
    expect(root.arraySync()).toEqual([1, 2]);
    expect(loadSafetensors(saveSafetensors({ "a.b": tensor([1]), s: "x" })) as object).toEqual({ "a.b": expect.any(Object), s: "x" });
  });

  test("U32 entries (e.g. PRNG keys from JAX) load as int32 when they fit", () => {
    const t = loadSafetensors(withHeader({ k: { dtype: "U32", shape: [2], data_offsets: [0, 8] } }, new Uint8Array([0, 0, 0, 0, 42, 0, 0, 0]))) as {
      k: Tensor;
    };
    expect(t.k.dtype).toBe("int32");
    expect(t.k.arraySync()).toEqual([0, 42]);
  });

  test("numeric names with holes (PyTorch nn.Sequential: 0.weight, 2.weight) load with {} in the gaps", () => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    const t = loadSafetensors(
      withHeader({ "x.0": { dtype: "F32", shape: [1], data_offsets: [0, 4] }, "x.2": { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, data),
    ) as { x: unknown[] };
    expect(t.x.length).toBe(3);
    expect(t.x[1]).toEqual({});
    expect((t.x[2] as Tensor).arraySync()).toEqual([2]);
  });

  /** Rewrites the header of a valid file (keeping the data) to craft lying headers. */
  function withHeader(header: object, data: Uint8Array): Uint8Array {
    const h = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    out.set(data, 8 + h.length);
    return out;
  }
  const data8 = new Uint8Array(8);
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty file", new Uint8Array(0), /fewer than the 8-byte/],
    ["truncated data", file("params.safetensors").slice(0, -5), /past the data buffer|truncated/],
    [
      "header length past the end",
      (() => {
        const b = file("params.safetensors").slice();
        new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
        return b;
      })(),
      /exceeds/,
    ],
    ["header not JSON", withHeader({}, data8).fill(0x41, 8, 10), /start with|JSON/],
    [
      "overlapping tensors",
      withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, data8),
      /overlaps/,
    ],
    ["offsets out of bounds", withHeader({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, data8), /past the data buffer/],
    ["shape x dtype != bytes", withHeader({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, data8), /needs 12 bytes/],
    ["hole in the buffer", withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, data8), /hole/],
    ["trailing bytes", withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, data8), /trailing/],
    ["unknown dtype", withHeader({ a: { dtype: "C64", shape: [1], data_offsets: [0, 8] } }, data8), /unsupported dtype/],
    [
      "name is a tensor and a prefix",
      withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, "a.b": { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, data8),
      /prefix/,
    ],
    [
      "U32 beyond int32",
      withHeader({ a: { dtype: "U32", shape: [2], data_offsets: [0, 8] } }, new Uint8Array([7, 0, 0, 0, 255, 255, 255, 255])),
      /element 1 \(4294967295\) does not fit in int32/,
    ],
    ["I64 beyond int32", withHeader({ a: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0])), /does not fit/],
  ];
  for (const [name, bytes, re] of cases) {
    test(`corrupt: ${name}`, () => {
      expect(() => loadSafetensors(bytes)).toThrow(IoError);
      expect(() => loadSafetensors(bytes)).toThrow(re);
    });
  }
});

describe("npy", () => {
  const v = values.npy;
  for (const name of ["f4", "i4", "b1", "f8", "i8", "scalar", "long", "fortran", "bigendian"]) {
    test(`loads numpy.save output: ${name}`, () => {
      const x = loadNpy(file(`${name}.npy`));
      expectTensor(x, v[name]!, name === "f8" ? 1e-6 : 0);
      expect(x.dtype).toBe(name === "b1" ? "bool" : name.startsWith("i") ? "int32" : "float32");
    });
  }
  test("saveNpy writes the same bytes as numpy.save", () => {
    for (const name of ["f4", "i4", "b1", "scalar", "long", "fortran"]) {
      const ours = saveNpy(loadNpy(file(`${name}.npy`)));
      const theirs = name === "fortran" ? null : file(`${name}.npy`);
      if (theirs) expect(Buffer.from(ours).equals(Buffer.from(theirs)), name).toBe(true);
      expect(loadNpy(ours).arraySync()).toEqual(loadNpy(file(`${name}.npy`)).arraySync());
    }
  });
  test("corrupt .npy files throw IoError", () => {
    const good = file("f4.npy");
    expect(() => loadNpy(good.slice(0, -4))).toThrow(/needs 24 data bytes, the file has 20 \(truncated\?\)/);
    expect(() => loadNpy(new Uint8Array([...good.slice(0, good.length), 0]))).toThrow(/the file has 25/);
    const bad = good.slice();
    bad[0] = 0;
    expect(() => loadNpy(bad)).toThrow(/magic/);
    expect(() => loadNpy(good.slice(0, 30))).toThrow(IoError);
    const c8 = good.slice();
    const at = Buffer.from(c8).indexOf("<f4");
    c8.set(new TextEncoder().encode("<c8"), at);
    expect(() => loadNpy(c8)).toThrow(/unsupported dtype/);
  });

  /** An .npy file with a hand-written header (version 1 or 2) and the given data bytes. */
  function npy(header: string, data: Uint8Array, version: 1 | 2 = 1, pad = 0): Uint8Array {
    const prefix = version === 1 ? 10 : 12;
    let text = header + " ".repeat(pad);
    text += " ".repeat(63 - ((prefix + text.length) % 64)) + "\n";
    const out = new Uint8Array(prefix + text.length + data.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
    const dv = new DataView(out.buffer);
    if (version === 1) dv.setUint16(8, text.length, true);
    else dv.setUint32(8, text.length, true);
    for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i);
    out.set(data, prefix + text.length);
    return out;
  }
  const f4x3 = new Uint8Array(new Float32Array([1, 2, 3]).buffer);

  test("a version 2.0 file with a multi-megabyte header loads (no stack overflow)", () => {
    const big = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4x3, 2, 4_000_000);
    expect(big.length).toBeGreaterThan(4_000_000);
    expect(loadNpy(big).arraySync()).toEqual([1, 2, 3]);
    const v1 = npy("{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}", f4x3);
    expect(loadNpy(v1).arraySync()).toEqual([1, 2, 3]);
  });

  test("duplicated, missing and unknown header keys are rejected", () => {
    expect(() => loadNpy(npy("{'descr': '<i4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4x3))).toThrow(
      /loadNpy: header has the key 'descr' twice/,
    );
    expect(() => loadNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'shape': (1, 3), }", f4x3))).toThrow(/'shape' twice/);
    expect(() => loadNpy(npy("{'descr': '<f4', 'shape': (3,), }", f4x3))).toThrow(/keys must be exactly descr, fortran_order, shape; got descr, shape/);
    expect(() => loadNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': True}", f4x3))).toThrow(IoError);
    expect(() => loadNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,) ", f4x3))).toThrow(/malformed header/);
    expect(() => loadNpy(npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}", f4x3))).toThrow(/loadNpy: malformed header/);
  });

  test("absurd shapes are rejected at load with the reason", () => {
    const h = (shape: string): string => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
    expect(() => loadNpy(npy(h("(-1,)"), f4x3))).toThrow(/loadNpy: shape entry -1 is negative/);
    expect(() => loadNpy(npy(h("(1.5, 2)"), f4x3))).toThrow(/loadNpy: shape entry '1.5' is not an integer/);
    expect(() => loadNpy(npy(h("(1e3,)"), f4x3))).toThrow(/'1e3' is not an integer/);
    expect(() => loadNpy(npy(h("(1073741824, 1073741824, 1073741824)"), f4x3))).toThrow(/has 1237940039285380274899124224 elements, more than 2\^53 - 1/);
    expect(() => loadNpy(npy(h("(100000000000000000000000000000,)"), f4x3))).toThrow(/more than 2\^53 - 1/);
    expect(() => loadNpy(npy(h("(1000, 1000)"), f4x3))).toThrow(
      /loadNpy: shape \(1000, 1000\) of '<f4' needs 4000000 data bytes, the file has 12 \(truncated\?\)/,
    );
    expect(() => loadNpy(npy(h("(0, 3)"), new Uint8Array(0)))).not.toThrow();
    expect(loadNpy(npy(h("(3L,)"), f4x3)).shape).toEqual([3]); // Python 2 long literals, as numpy reads them
  });
});
