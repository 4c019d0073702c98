/**
 * A traced graph: placeholder inputs and output nodes. Printed as text IR (one line per node,
 * like a jaxpr) or as Graphviz DOT. A call (multi-output) node prints with the tuple of its
 * outputs' types; `proj[index=i]` nodes read its outputs.
 */
import type { Node } from "./node.js";
import { topoSort } from "./node.js";

function fmtParams(n: Node): string {
  const parts: string[] = [];
  const entries: [string, unknown][] = Object.entries(n.params);
  for (const [k, v] of entries) {
    if (k === "dtype" && n.prim !== "cast" && n.prim !== "iota") continue;
    if (n.prim === "input" && (k === "shape" || k === "id")) continue;
    if (n.prim === "buffer") continue;
    if (typeof v === "object" && v !== null && "id" in v && ("graph" in v || "fwd" in v)) {
      parts.push(`${k}=#${String((v as { id: number }).id)}`);
    } else parts.push(`${k}=${JSON.stringify(v)}`);
  }
  return parts.length ? `[${parts.join(" ")}]` : "";
}

/** A traced computation: `outputs` as a function of the placeholder `inputs`. */
export class Graph {
  constructor(
    readonly inputs: readonly Node[],
    readonly outputs: readonly Node[],
  ) {}

  /** The nodes of the graph in topological order. */
  nodes(): Node[] {
    return topoSort(this.outputs);
  }

  /** Text IR, one line per node: `%3:f32[2,3] = add %1 %2`. */
  toString(): string {
    const names = new Map<number, string>();
    let k = 0;
    const name = (n: Node): string => names.get(n.id) ?? "?";
    const one = (a: { shape: readonly number[]; dtype: Node["dtype"] }): string =>
      `${a.dtype === "float32" ? "f32" : a.dtype === "int32" ? "i32" : a.dtype === "float16" ? "f16" : "bool"}[${a.shape.join(",")}]`;
    // a call (multi-output) node's type is the tuple of its outputs': `%3:(f32[],f32[4]) = scan ...`
    const ty = (n: Node): string => (n.avals ? `(${n.avals.map(one).join(",")})` : one(n));
    for (const i of this.inputs) names.set(i.id, `%${k++}`);
    const lines: string[] = [`{ lambda ${this.inputs.map((i) => `${name(i)}:${ty(i)}`).join(" ")} .`];
    for (const n of this.nodes()) {
      if (names.has(n.id)) continue;
      names.set(n.id, `%${k++}`);
      if (n.prim === "const") {
        lines.push(`  ${name(n)}:${ty(n)} = const ${String(n.params.value)}`);
        continue;
      }
      const args = n.inputs.map(name).join(" ");
      lines.push(`  ${name(n)}:${ty(n)} = ${n.prim}${fmtParams(n)}${args ? " " + args : ""}`);
    }
    lines.push(`  in ( ${this.outputs.map(name).join(" ")} ) }`);
    return lines.join("\n");
  }

  /** Graphviz DOT source of the graph. */
  toDot(): string {
    const lines = ["digraph tenfold {", "  rankdir=TB;", '  node [shape=box, fontname="monospace"];'];
    const inputIds = new Set(this.inputs.map((i) => i.id));
    for (const n of this.nodes()) {
      const label = n.prim === "const" ? `const ${String(n.params.value)}` : `${n.prim}${fmtParams(n)}`;
      const shape = inputIds.has(n.id) ? ", shape=ellipse" : "";
      const type = n.avals ? `(${n.avals.map((a) => `${a.dtype}[${a.shape.join(",")}]`).join(", ")})` : `${n.dtype}[${n.shape.join(",")}]`;
      lines.push(`  n${n.id} [label="${label.replace(/"/g, '\\"')}\\n${type}"${shape}];`);
      for (const i of n.inputs) lines.push(`  n${i.id} -> n${n.id};`);
    }
    this.outputs.forEach((o, i) => {
      lines.push(`  out${i} [label="out ${i}", shape=plaintext];`, `  n${o.id} -> out${i};`);
    });
    lines.push("}");
    return lines.join("\n");
  }
}
