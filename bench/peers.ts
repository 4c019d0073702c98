// Loading the peer libraries for the benchmark (each optional: a peer that fails to load is
// reported as n/a) and one-node ONNX MatMul and Conv models encoded by hand (protobuf wire format).

export type AnyMod = any;

/** Imports a module, or undefined (with a note) when it cannot load. */
export async function tryImport(name: string): Promise<AnyMod | undefined> {
  try {
    return await import(name);
  } catch (e) {
    console.log(`  (${name} unavailable: ${String(e).split("\n")[0]})`);
    return undefined;
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (no: number, wire: number): number[] => varint((no << 3) | wire);
const int = (no: number, v: number): number[] => [...field(no, 0), ...varint(v)];
const bytes = (no: number, b: number[]): number[] => [...field(no, 2), ...varint(b.length), ...b];
const str = (no: number, s: string): number[] => bytes(no, [...Buffer.from(s, "utf8")]);

function valueInfo(name: string, dims: readonly number[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, int(1, d)));
  const tensorType = [...int(1, 1), ...bytes(2, shape)]; // elem_type FLOAT
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

/** An ONNX model computing Y = A @ B for A [m, k], B [k, n]. */
export function onnxMatmulModel(m: number, k: number, n: number): Uint8Array {
  const node = [...str(1, "A"), ...str(1, "B"), ...str(2, "Y"), ...str(4, "MatMul")];
  const graph = [
    ...bytes(1, node),
    ...str(2, "g"),
    ...bytes(11, valueInfo("A", [m, k])),
    ...bytes(11, valueInfo("B", [k, n])),
    ...bytes(12, valueInfo("Y", [m, n])),
  ];
  const opset = [...str(1, ""), ...int(2, 13)];
  return Uint8Array.from([...int(1, 7), ...bytes(8, opset), ...bytes(7, graph)]);
}

/** An ONNX model computing Y = Conv(X, W) (NCHW, OIHW, stride 1, `pad` zeros on every side). */
export function onnxConvModel(x: readonly number[], w: readonly number[], pad: number): Uint8Array {
  const y = [x[0]!, w[0]!, ...x.slice(2).map((s, i) => s + 2 * pad - w[2 + i]! + 1)];
  const pads = [...str(1, "pads"), ...x.slice(2).flatMap(() => [...int(8, pad), ...int(8, pad)]), ...int(20, 7)]; // INTS
  const node = [...str(1, "X"), ...str(1, "W"), ...str(2, "Y"), ...str(4, "Conv"), ...bytes(5, pads)];
  const graph = [...bytes(1, node), ...str(2, "g"), ...bytes(11, valueInfo("X", x)), ...bytes(11, valueInfo("W", w)), ...bytes(12, valueInfo("Y", y))];
  const opset = [...str(1, ""), ...int(2, 13)];
  return Uint8Array.from([...int(1, 7), ...bytes(8, opset), ...bytes(7, graph)]);
}
