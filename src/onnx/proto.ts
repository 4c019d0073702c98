/**
 * A minimal protocol-buffers writer for the ONNX messages the exporter emits (ModelProto,
 * GraphProto, NodeProto, TensorProto, ValueInfoProto, AttributeProto). Field numbers follow
 * onnx/onnx.proto3; only the fields tenfold writes are modelled. No dependency on a protobuf
 * runtime: the wire format needed here is varints, 32-bit floats and length-delimited bytes.
 */

/** ONNX TensorProto.DataType values used by tenfold. */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float16: 10 } as const;
export type OnnxDType = (typeof ONNX_DTYPE)[keyof typeof ONNX_DTYPE];

/** A growable byte buffer with protobuf field writers. */
export class Writer {
  #buf = new Uint8Array(256);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  #byte(b: number): void {
    this.#reserve(1);
    this.#buf[this.#len++] = b;
  }

  /** A varint of a non-negative or negative integer (negatives as 64-bit two's complement). */
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.#byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.#byte(Number(x));
  }

  #tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** An int32/int64/enum/bool field. */
  int(field: number, v: number | bigint): void {
    this.#tag(field, 0);
    this.varint(v);
  }

  /** A float field (wire type 5). */
  float(field: number, v: number): void {
    this.#tag(field, 5);
    this.#reserve(4);
    new DataView(this.#buf.buffer).setFloat32(this.#len, v, true);
    this.#len += 4;
  }

  /** A length-delimited bytes field. */
  bytes(field: number, b: Uint8Array): void {
    this.#tag(field, 2);
    this.varint(b.length);
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** A string field (UTF-8). */
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  /** An embedded message field. */
  message(field: number, m: Writer): void {
    this.bytes(field, m.finish());
  }

  /** A packed repeated int64 field. */
  packedInts(field: number, vs: readonly number[]): void {
    const inner = new Writer();
    for (const v of vs) inner.varint(v);
    this.bytes(field, inner.finish());
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** An attribute value: ints, floats, a string, a list of ints, a tensor or a subgraph. */
export type AttrValue =
  | { readonly kind: "int"; readonly v: number }
  | { readonly kind: "float"; readonly v: number }
  | { readonly kind: "string"; readonly v: string }
  | { readonly kind: "ints"; readonly v: readonly number[] }
  | { readonly kind: "tensor"; readonly v: TensorMsg }
  | { readonly kind: "graph"; readonly v: GraphMsg };

/** One ONNX node. */
export interface NodeMsg {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attrs?: Readonly<Record<string, AttrValue>>;
}

/** A constant tensor (initializer or attribute). */
export interface TensorMsg {
  readonly name: string;
  readonly dtype: OnnxDType;
  readonly dims: readonly number[];
  /** Little-endian raw bytes of the elements. */
  readonly raw: Uint8Array;
}

/** A graph input/output declaration. */
export interface ValueInfoMsg {
  readonly name: string;
  readonly dtype: OnnxDType;
  readonly dims: readonly number[];
}

/** A graph (the model's main graph, or a Loop body). */
export interface GraphMsg {
  readonly name: string;
  readonly nodes: readonly NodeMsg[];
  readonly initializers: readonly TensorMsg[];
  readonly inputs: readonly ValueInfoMsg[];
  readonly outputs: readonly ValueInfoMsg[];
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, ints: 7 } as const;

export function encodeTensor(t: TensorMsg): Writer {
  const w = new Writer();
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, t.dtype);
  w.string(8, t.name);
  w.bytes(9, t.raw);
  return w;
}

function encodeValueInfo(v: ValueInfoMsg): Writer {
  const shape = new Writer();
  for (const d of v.dims) {
    const dim = new Writer();
    dim.int(1, d);
    shape.message(1, dim);
  }
  const tensorType = new Writer();
  tensorType.int(1, v.dtype);
  tensorType.message(2, shape);
  const type = new Writer();
  type.message(1, tensorType);
  const w = new Writer();
  w.string(1, v.name);
  w.message(2, type);
  return w;
}

function encodeAttr(name: string, a: AttrValue): Writer {
  const w = new Writer();
  w.string(1, name);
  switch (a.kind) {
    case "float":
      w.float(2, a.v);
      break;
    case "int":
      w.int(3, a.v);
      break;
    case "string":
      w.string(4, a.v);
      break;
    case "tensor":
      w.message(5, encodeTensor(a.v));
      break;
    case "graph":
      w.message(6, encodeGraph(a.v));
      break;
    case "ints":
      for (const v of a.v) w.int(8, v);
      break;
  }
  w.int(20, ATTR_TYPE[a.kind]);
  return w;
}

function encodeNode(n: NodeMsg): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, a] of Object.entries(n.attrs ?? {})) w.message(5, encodeAttr(k, a));
  return w;
}

export function encodeGraph(g: GraphMsg): Writer {
  const w = new Writer();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const v of g.inputs) w.message(11, encodeValueInfo(v));
  for (const v of g.outputs) w.message(12, encodeValueInfo(v));
  return w;
}

/** Serializes a ModelProto (IR version 8, default-domain opset `opset`). */
export function encodeModel(g: GraphMsg, opset: number, producerVersion: string): Uint8Array {
  const w = new Writer();
  w.int(1, 8);
  w.string(2, "tenfold");
  w.string(3, producerVersion);
  w.message(7, encodeGraph(g));
  const op = new Writer();
  op.string(1, "");
  op.int(2, opset);
  w.message(8, op);
  return w.finish();
}
