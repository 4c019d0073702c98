/**
 * Late-bound entry points of the transforms, for the rules of call-like primitives (call, scan,
 * customVjp, checkpoint) that recurse into a body graph: the rule tables are imported by the
 * transforms, so the rules reach the transforms through this table (filled when jvp.ts, vjp.ts
 * and vmap.ts load) instead of importing them back, which keeps src/ free of import cycles.
 */
import type { jvpGraph } from "./jvp.js";
import type { transposeLinear } from "./vjp.js";
import type { batchGraph } from "./vmap.js";

interface Transforms {
  jvpGraph?: typeof jvpGraph;
  transposeLinear?: typeof transposeLinear;
  batchGraph?: typeof batchGraph;
}

const table: Transforms = {};

/** Registers a transform's entry point (called once by the transform's own module). */
export function provide<K extends keyof Transforms>(name: K, fn: NonNullable<Transforms[K]>): void {
  table[name] = fn;
}

/** A transform's entry point (throws if its module was not loaded, which cannot happen via rules). */
export function transform<K extends keyof Transforms>(name: K): NonNullable<Transforms[K]> {
  const fn = table[name];
  if (!fn) throw new Error(`internal: transform ${name} used before its module loaded`);
  return fn;
}
