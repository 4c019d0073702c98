// paramKey (src/core/node.ts), the params part of hash-consing and plan-cache keys: plain data is
// spelled directly (no JSON.stringify, no memo), and must give the same string the general path
// gives (JSON.stringify with -0 and non-finite numbers kept as strings, calls by id), so that
// equal params are one key and different params different keys.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { paramKey } from "../../src/core/node.js";

const RUNS = Number(process.env.PROPS_RUNS ?? 200);

/** The general path's spelling (what paramKey gave for every params before its plain-data path). */
const reference = (p: object): string =>
  JSON.stringify(p, (_k, v: unknown) => {
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    if (Object.is(v, -0)) return "-0";
    return v;
  });

const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1e-45, 3.4e38));
const leaf = fc.oneof(num, fc.string(), fc.boolean(), fc.constant(null));
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 4 }), fc.dictionary(fc.string(), tie("v"), { maxKeys: 4 })),
})).v;

describe("paramKey", () => {
  it("spells plain params as the general JSON path does (fast-check; seed printed on failure)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value, { maxKeys: 5 }), (p) => {
        expect(paramKey(p)).toBe(reference(p));
      }),
      { numRuns: RUNS, verbose: true },
    );
  });

  it("keeps the cases JSON cannot tell apart apart", () => {
    expect(paramKey({ value: -0 })).not.toBe(paramKey({ value: 0 }));
    expect(paramKey({ value: NaN })).not.toBe(paramKey({ value: null }));
    expect(paramKey({ value: Infinity })).not.toBe(paramKey({ value: -Infinity }));
    expect(paramKey({ value: "-0" })).toBe(paramKey({ value: -0 })); // (as before: a string param "-0" is not a number param)
    expect(paramKey({})).toBe("{}");
    expect(paramKey({ shape: [2, 3] })).toBe('{"shape":[2,3]}');
  });

  it("takes the general path for calls, functions, undefined and typed arrays", () => {
    const call = { id: 7, graph: { nodes: [] } };
    expect(paramKey({ call })).toBe('{"call":"call#7"}');
    expect(paramKey({ f: () => 1 })).toBeUndefined();
    expect(paramKey({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(paramKey({ t: new Float32Array([1, 2]) })).toBe('{"t":{"0":1,"1":2}}');
    const withJson = { value: { toJSON: () => "x" } };
    expect(paramKey(withJson)).toBe('{"value":"x"}');
  });
});

describe("paramKeyOf", () => {
  it("keys a node's params once, and its buffer's params after it is realized", async () => {
    const { add, multiply, tensor } = await import("../../src/index.js");
    const { paramKeyOf } = await import("../../src/core/node.js");
    const y = add(tensor([1, 2]), tensor([3, 4]));
    const n = y.node;
    expect(paramKeyOf(n)).toBe(paramKey(n.params));
    const later = multiply(y, 2); // another consumer: reading the next one realizes y as shared work
    multiply(y, 3).dataSync(); // y's node becomes its buffer in place: new params
    expect(later.dataSync()).toEqual(new Float32Array([8, 12]));
    expect(n.prim).toBe("buffer");
    expect(paramKeyOf(n)).toBe(paramKey(n.params));
    expect(paramKeyOf(n)).toBe('{"dtype":"float32","shape":[2]}');
  });
});
