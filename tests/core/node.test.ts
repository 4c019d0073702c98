/**
 * Graph nodes as a discriminated union on `prim` (src/core/node.ts): checking `n.prim` narrows
 * `n.params` with no cast, a `switch (n.prim)` over a node union is exhaustive-checkable, and
 * `isPrimIn` narrows to a primitive set. Type-level claims are checked by tsc (the file is in the
 * project), runtime claims against hand-computed params of traced graphs.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import { add, makeGraph, multiply, scan, sum, tensor, Tensor } from "../../src/index.js";
import type { Node } from "../../src/core/node.js";
import { isPrim, isPrimIn } from "../../src/core/node.js";
import type { Params, Primitive, ReductionPrim } from "../../src/core/primitives.js";
import { REDUCTION_PRIMS } from "../../src/core/primitives.js";

/** A function over three primitives whose switch is checked exhaustive: `n` is `never` in default. */
function describeNode(n: Node<"sum" | "scan" | "const">): string {
  switch (n.prim) {
    case "sum":
      return `sum axes=${n.params.axes.join(",")}`;
    case "scan":
      return `scan carry=${n.params.numCarry} length=${n.params.length}`;
    case "const":
      return `const ${n.params.value}`;
    default: {
      const rest: never = n;
      return rest;
    }
  }
}

describe("graph nodes are a discriminated union on prim", () => {
  it("types: plain Node covers every primitive; Node<P> is one primitive's node", () => {
    expectTypeOf<Node["prim"]>().toEqualTypeOf<Primitive>();
    expectTypeOf<Node<"scan">["params"]>().toEqualTypeOf<Params<"scan">>();
    expectTypeOf<Node<"sum" | "flip">["params"]>().toEqualTypeOf<Params<"sum"> | Params<"flip">>();
    const n = makeGraph((x: Tensor) => sum(x))(tensor([1, 2])).outputs[0]!;
    // @ts-expect-error params of an un-narrowed node have no `axes` (a union over all primitives)
    expect(() => n.params.axes).not.toThrow();
    if (n.prim === "sum") expectTypeOf(n.params).toEqualTypeOf<Params<"sum">>();
    expect(n.prim).toBe("sum");
  });

  it("narrowing on prim reads scan params without casts", () => {
    const f = (c: Tensor, xs: Tensor): Tensor[] => {
      const [total, running] = scan((acc: Tensor, x: Tensor): [Tensor, Tensor] => [add(acc, x), multiply(acc, x)], c, xs);
      return [total, running];
    };
    const g = makeGraph(f)(tensor(0), tensor([1, 2, 3, 4]));
    const scans = g.nodes().filter((n) => n.prim === "scan");
    expect(scans.length).toBe(1); // one multi-output node; its outputs are read through proj
    for (const s of scans) {
      expectTypeOf(s.params.numCarry).toEqualTypeOf<number>();
      expect([s.params.numConsts, s.params.numCarry, s.params.length, s.params.reverse]).toEqual([0, 1, 4, false]);
    }
    const projs = g.outputs.map((o) => (o.prim === "proj" ? o.params.index : -1));
    expect(projs).toEqual([0, 1]);
    expect(scans.map(describeNode)).toEqual(["scan carry=1 length=4"]);
  });

  it("switch over a node union is exhaustive; isPrim and isPrimIn narrow", () => {
    const g = makeGraph((x: Tensor) => add(sum(x, { axis: 1 }), 2.5))(tensor([[1, 2, 3]]));
    const seen: string[] = [];
    for (const n of g.nodes()) {
      if (isPrimIn(n, REDUCTION_PRIMS)) {
        expectTypeOf(n).toEqualTypeOf<Node<ReductionPrim>>();
        seen.push(`${n.prim} axes=${n.params.axes.join(",")}`);
      }
      if (isPrim(n, "const")) seen.push(describeNode(n));
    }
    expect(seen.sort()).toEqual(["const 2.5", "sum axes=1"]);
  });
});
