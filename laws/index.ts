/**
 * Entry point of `tenfold/laws`: what users need to property-test their own tenfold code from
 * their own vitest + fast-check suites.
 *
 * - `arb`: fast-check arbitraries for shapes, broadcast-compatible shape tuples, dtypes and tensors.
 * - `allClose` / `assertAllClose`: elementwise comparison with per-dtype default tolerances.
 * - `checkGrads`: autodiff (forward `jvp` and reverse `vjp`) against central finite differences
 *   along random directions, recursively up to a given order.
 *
 * fast-check is a peer dependency: install it beside tenfold (`npm i -D fast-check`). Reading
 * values uses `dataSync`, so these helpers run on the CPU and reference backends.
 */
import type { DType, NestedArray, TypedArray } from "../src/index.js";
import { Tensor, jvp, tensor, tree, vjp } from "../src/index.js";
import { mulberry32 } from "../src/core/host-rng.js";

export { arb } from "./arb.js";
export type { ShapeOptions, TensorArbOptions } from "./arb.js";

// ---------------------------------------------------------------------------------------------
// allClose
// ---------------------------------------------------------------------------------------------

/** Tolerances of `allClose`: `|a - b| <= atol + rtol * |b|`. */
export interface Tolerance {
  readonly atol?: number;
  readonly rtol?: number;
  /** Whether NaN equals NaN (default true). */
  readonly equalNan?: boolean;
}

/** Default tolerances per dtype. Integers and bools compare exactly. */
export const DEFAULT_TOLERANCE: { readonly [D in DType]: { readonly atol: number; readonly rtol: number } } = {
  float32: { atol: 1e-5, rtol: 1e-5 },
  float16: { atol: 1e-3, rtol: 1e-3 },
  int32: { atol: 0, rtol: 0 },
  bool: { atol: 0, rtol: 0 },
};

/** Something `allClose` can compare: a tensor, a number, nested arrays or a typed array. */
export type Comparable = Tensor | number | boolean | NestedArray | TypedArray | Float64Array | readonly number[];

interface Flat {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
  readonly dtype: DType | undefined;
}

function flat(x: Comparable): Flat {
  if (x instanceof Tensor) return { data: x.dataSync(), shape: x.shape, dtype: x.dtype };
  if (typeof x === "number") return { data: [x], shape: [], dtype: undefined };
  if (typeof x === "boolean") return { data: [x ? 1 : 0], shape: [], dtype: "bool" };
  if (ArrayBuffer.isView(x)) {
    const a = x as unknown as ArrayLike<number>;
    return { data: a, shape: [a.length], dtype: undefined };
  }
  const t = tensor(x as NestedArray);
  return { data: t.dataSync(), shape: t.shape, dtype: undefined };
}

/** Where two arrays differ most (relative to the tolerance). */
export interface Mismatch {
  /** Flat (row-major) index of the worst element, or -1 for a shape mismatch. */
  readonly index: number;
  /** Multi-dimensional index of the worst element. */
  readonly at: readonly number[];
  readonly got: number;
  readonly want: number;
  /** How many elements are out of tolerance. */
  readonly count: number;
  readonly message: string;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(0);
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k]!;
    out[k] = d ? i % d : 0;
    i = d ? Math.floor(i / d) : 0;
  }
  return out;
}

function tolFor(a: Flat, b: Flat, opts: Tolerance): { atol: number; rtol: number } {
  const d = a.dtype ?? b.dtype ?? "float32";
  const def = DEFAULT_TOLERANCE[d];
  return { atol: opts.atol ?? def.atol, rtol: opts.rtol ?? def.rtol };
}

/** The worst mismatch between `got` and `want`, or null when they are close. */
export function findMismatch(got: Comparable, want: Comparable, opts: Tolerance = {}): Mismatch | null {
  const a = flat(got);
  const b = flat(want);
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!same && !(a.data.length === b.data.length && (a.shape.length <= 1 || b.shape.length <= 1) && (!(got instanceof Tensor) || !(want instanceof Tensor)))) {
    return {
      index: -1,
      at: [],
      got: NaN,
      want: NaN,
      count: Math.max(a.data.length, b.data.length),
      message: `shapes differ: got [${a.shape.join(", ")}], want [${b.shape.join(", ")}]`,
    };
  }
  const { atol, rtol } = tolFor(a, b, opts);
  const equalNan = opts.equalNan ?? true;
  let worst = -1;
  let worstRatio = 0;
  let count = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i]!;
    const y = b.data[i]!;
    let ratio: number;
    if (Number.isNaN(x) || Number.isNaN(y)) ratio = equalNan && Number.isNaN(x) && Number.isNaN(y) ? 0 : Infinity;
    else if (!Number.isFinite(x) || !Number.isFinite(y)) ratio = x === y ? 0 : Infinity;
    else {
      const err = Math.abs(x - y);
      const tol = atol + rtol * Math.abs(y);
      ratio = err <= tol ? 0 : tol === 0 ? Infinity : err / tol;
      if (err > tol && ratio === 0) ratio = Number.MIN_VALUE;
    }
    if (ratio > 0) {
      count++;
      if (worst < 0 || ratio > worstRatio) {
        worst = i;
        worstRatio = ratio;
      }
    }
  }
  if (worst < 0) return null;
  const shape = a.shape.length >= b.shape.length ? a.shape : b.shape;
  const at = unravel(worst, shape);
  const got0 = a.data[worst]!;
  const want0 = b.data[worst]!;
  return {
    index: worst,
    at,
    got: got0,
    want: want0,
    count,
    message: `${count} of ${a.data.length} element(s) differ; worst at [${at.join(", ")}]: got ${got0}, want ${want0} (|diff| ${Math.abs(got0 - want0)}, atol ${atol}, rtol ${rtol})`,
  };
}

/**
 * Whether `got` and `want` have the same shape and `|got - want| <= atol + rtol * |want|`
 * elementwise. Defaults come from the dtype (`DEFAULT_TOLERANCE`: float32 1e-5/1e-5, exact for
 * int32 and bool). NaN equals NaN unless `equalNan: false`; infinities must match exactly.
 * @example
 * ```ts
 * import { tensor, exp, log } from "tenfold";
 * import { allClose } from "tenfold/laws";
 * console.log(allClose(log(exp(tensor([0.5, 1]))), [0.5, 1])); // true
 * ```
 */
export function allClose(got: Comparable, want: Comparable, opts: Tolerance = {}): boolean {
  return findMismatch(got, want, opts) === null;
}

/**
 * `allClose`, throwing an Error that names the worst element when it fails.
 * @example
 * ```ts
 * import { tensor } from "tenfold";
 * import { assertAllClose } from "tenfold/laws";
 * assertAllClose(tensor([1, 2]), [1, 2.000001]);
 * ```
 */
export function assertAllClose(got: Comparable, want: Comparable, opts: Tolerance & { readonly what?: string } = {}): void {
  const m = findMismatch(got, want, opts);
  if (m) throw new Error(`${opts.what ? opts.what + ": " : ""}not close: ${m.message}`);
}

// ---------------------------------------------------------------------------------------------
// checkGrads
// ---------------------------------------------------------------------------------------------

/** Options of `checkGrads`. */
export interface CheckGradsOptions {
  /** Highest derivative order to check (default 1; 2 also checks the derivatives' derivatives). */
  readonly order?: number;
  /** Which modes to check (default both): forward (`jvp`) and reverse (`vjp`). */
  readonly modes?: readonly ("fwd" | "rev")[];
  /** Absolute tolerance (default 1e-2 for float32). */
  readonly atol?: number;
  /** Relative tolerance (default 1e-2 for float32). */
  readonly rtol?: number;
  /** Finite-difference step (default 1e-3). */
  readonly eps?: number;
  /** Seed of the random directions (default 0): the same seed gives the same check. */
  readonly seed?: number;
}

function isFloatTensor(x: unknown): x is Tensor {
  return x instanceof Tensor && (x.dtype === "float32" || x.dtype === "float16");
}

type AnyFn = (...args: any[]) => unknown;

/** Evaluates f and returns its output leaves in float64 (non-float outputs as zeros). */
function evalOut(f: AnyFn, args: readonly unknown[]): { leaves: Float64Array[]; shapes: number[][]; float: boolean[] } {
  const out = f(...args);
  const [ls] = tree.flatten<unknown>(out);
  const leaves: Float64Array[] = [];
  const shapes: number[][] = [];
  const float: boolean[] = [];
  for (const l of ls) {
    if (l instanceof Tensor) {
      leaves.push(Float64Array.from(l.dataSync()));
      shapes.push(l.shape);
      float.push(isFloatTensor(l));
    } else if (typeof l === "number") {
      leaves.push(Float64Array.of(l));
      shapes.push([]);
      float.push(true);
    } else throw new TypeError(`checkGrads: f returned a non-tensor leaf (${typeof l})`);
  }
  return { leaves, shapes, float };
}

function readLeaves(x: unknown): Float64Array[] {
  const [ls] = tree.flatten<unknown>(x);
  return ls.map((l) => (l instanceof Tensor ? Float64Array.from(l.dataSync()) : Float64Array.of(Number(l))));
}

interface Found {
  readonly err: number;
  readonly message: string;
}

/** Reports where two float64 vectors differ most relative to atol + rtol * |want|. */
function worst(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): { ratio: number; i: number } {
  let r = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const tol = atol + rtol * Math.abs(w);
    const err = Math.abs(g - w);
    const ratio = Number.isNaN(err) ? (Number.isNaN(g) && Number.isNaN(w) ? 0 : Infinity) : err / tol;
    if (ratio > r || (at < 0 && ratio > 1)) {
      r = ratio;
      at = i;
    }
  }
  return { ratio: r, i: at };
}

interface Level {
  readonly f: AnyFn;
  /** Human description of the function at this level (e.g. "f", "jvp(f)"). */
  readonly name: string;
}

/**
 * Checks the derivatives of `f` at `args` against central finite differences, like JAX's
 * `check_grads`: for each float argument leaf and a random direction `v`, forward mode compares
 * `jvp(f, args, v)` with `(f(x + εv) − f(x − εv)) / 2ε`, and reverse mode compares
 * `⟨vjp(f)(u), v⟩` with `⟨u, (f(x + εv) − f(x − εv)) / 2ε⟩` for a random output cotangent `u`.
 * Differences are computed in float64 on the host from float32 evaluations. With `order: 2` the
 * same checks run on the functions `x ↦ jvp(f, x, v)` and `x ↦ vjp(f, x)(u)`, and so on.
 *
 * Throws an Error naming the worst mismatch (mode, order, argument, element, expected vs got).
 * `args` are f's positional arguments (tensors or pytrees of tensors); non-float leaves and
 * numbers are held fixed.
 * @example
 * ```ts
 * import { tensor, tanh, sum, multiply } from "tenfold";
 * import { checkGrads } from "tenfold/laws";
 * checkGrads((x, y) => sum(multiply(tanh(x), y)), [tensor([0.1, -0.4]), tensor([2, 3])], { order: 2 });
 * ```
 */
export function checkGrads(f: AnyFn, args: readonly unknown[], options: CheckGradsOptions = {}): void {
  const order = options.order ?? 1;
  const modes = options.modes ?? ["fwd", "rev"];
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`checkGrads: order must be a positive integer, got ${order}`);
  for (const m of modes) if (m !== "fwd" && m !== "rev") throw new RangeError(`checkGrads: unknown mode ${JSON.stringify(m)} (expected "fwd" or "rev")`);
  const rand = mulberry32(options.seed ?? 0);
  const cfg = { atol: options.atol ?? 1e-2, rtol: options.rtol ?? 1e-2, eps: options.eps ?? 1e-3, rand };
  const found: Found[] = [];
  for (const mode of modes) checkLevel({ f, name: "f" }, args, mode, 1, order, cfg, found);
  if (found.length) {
    found.sort((a, b) => b.err - a.err);
    const more = found.length > 1 ? `\n(${found.length - 1} more mismatch(es); next: ${found[1]!.message})` : "";
    throw new Error(`checkGrads: ${found[0]!.message}${more}`);
  }
}

interface Cfg {
  readonly atol: number;
  readonly rtol: number;
  readonly eps: number;
  readonly rand: () => number;
}

function direction(n: number, rand: () => number): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = 2 * rand() - 1;
  return v;
}

function makeCotangent(out: unknown, us: readonly Float64Array[]): unknown {
  const [outLeaves, outDef] = tree.flatten<unknown>(out);
  return tree.unflatten(
    outDef,
    outLeaves.map((o, i) => {
      const ot = o instanceof Tensor ? o : tensor(Number(o));
      return tensor(Float32Array.from(us[i]!), { shape: ot.shape, dtype: isFloatTensor(ot) ? ot.dtype : "float32" });
    }),
  );
}

function checkLevel(level: Level, args: readonly unknown[], mode: "fwd" | "rev", k: number, order: number, cfg: Cfg, found: Found[]): void {
  const [leaves, def] = tree.flatten<unknown>([...args]);
  // which top-level argument each leaf belongs to, and its index inside that argument
  const leafName: string[] = [];
  args.forEach((a, i) => {
    const n = tree.flatten<unknown>(a)[0].length;
    for (let j = 0; j < n; j++) leafName.push(a instanceof Tensor || typeof a === "number" ? `argument ${i}` : `argument ${i} (leaf ${j})`);
  });
  const rebuildArgs = (ls: readonly unknown[]): unknown[] => tree.unflatten(def, ls) as unknown[];
  const call = (...ls: unknown[]): unknown => level.f(...rebuildArgs(ls));
  const base = evalOut(call, leaves);
  // A random cotangent per output leaf (reverse mode), zero for non-float outputs.
  const us = base.leaves.map((l, i) => (base.float[i] ? direction(l.length, cfg.rand) : new Float64Array(l.length)));
  const floatIdx = leaves.map((l, i) => (isFloatTensor(l) ? i : -1)).filter((i) => i >= 0);
  const zeroTangents = leaves.map((l) => (l instanceof Tensor ? zerosOf(l) : 0));
  const fullTangent = [...zeroTangents];
  for (const li of floatIdx) {
    const x = leaves[li] as Tensor;
    const xv = x.dataSync();
    const v = direction(x.size, cfg.rand);
    const xp = new Float32Array(x.size);
    const xm = new Float32Array(x.size);
    const t = new Float32Array(x.size);
    for (let i = 0; i < x.size; i++) {
      xp[i] = xv[i]! + cfg.eps * v[i]!;
      xm[i] = xv[i]! - cfg.eps * v[i]!;
      // the direction actually taken once the perturbed points are rounded to float32
      t[i] = (xp[i]! - xm[i]!) / (2 * cfg.eps);
    }
    const withLeaf = (val: Tensor): unknown[] => leaves.map((l, i) => (i === li ? val : l));
    const fp = evalOut(call, withLeaf(tensor(xp, { shape: x.shape, dtype: x.dtype })));
    const fm = evalOut(call, withLeaf(tensor(xm, { shape: x.shape, dtype: x.dtype })));
    const numeric = fp.leaves.map((p, o) => p.map((pv, i) => (base.float[o] ? (pv - fm.leaves[o]![i]!) / (2 * cfg.eps) : 0)));
    const tangent = tensor(t, { shape: x.shape, dtype: x.dtype });
    fullTangent[li] = tangent;
    const tag = `${mode} mode, order ${k}, ${level.name}, ${leafName[li]}`;
    if (mode === "fwd") {
      const tangents = zeroTangents.map((z, i) => (i === li ? tangent : z));
      const [, tout] = jvp(level.f, rebuildArgs(leaves), rebuildArgs(tangents)) as [unknown, unknown];
      readLeaves(tout).forEach((g, o) => {
        if (!base.float[o]) return;
        const w = worst(g, numeric[o]!, cfg.atol, cfg.rtol);
        if (w.ratio > 1) {
          const at = unravel(w.i, base.shapes[o]!);
          found.push({
            err: w.ratio,
            message: `${tag}: output leaf ${o} at [${at.join(", ")}]: expected (finite differences) ${numeric[o]![w.i]}, got (jvp) ${g[w.i]} (atol ${cfg.atol}, rtol ${cfg.rtol})`,
          });
        }
      });
    } else {
      const [out, pullback] = vjp(level.f, ...rebuildArgs(leaves)) as [unknown, (ct: unknown) => unknown[]];
      const gl = tree.flatten<unknown>(pullback(makeCotangent(out, us)))[0];
      const g = (gl[li] as Tensor).dataSync();
      let got = 0;
      for (let i = 0; i < g.length; i++) got += g[i]! * t[i]!;
      let want = 0;
      numeric.forEach((nv, o) => nv.forEach((val, i) => (want += val * us[o]![i]!)));
      const w = worst([got], [want], cfg.atol, cfg.rtol);
      if (w.ratio > 1) {
        found.push({
          err: w.ratio,
          message: `${tag}: expected (finite differences) <u, J v> = ${want}, got (vjp) <J^T u, v> = ${got} (atol ${cfg.atol}, rtol ${cfg.rtol})`,
        });
      }
    }
  }
  if (k >= order || floatIdx.length === 0) return;
  // Next order: differentiate the derivative function itself (tangent/cotangent held fixed).
  if (mode === "fwd") {
    const tanTree = rebuildArgs(fullTangent);
    const g: AnyFn = (...a: unknown[]) => (jvp(level.f, a, tanTree) as [unknown, unknown])[1];
    checkLevel({ f: g, name: `jvp(${level.name})` }, args, mode, k + 1, order, cfg, found);
  } else {
    const g: AnyFn = (...a: unknown[]) => {
      const [out, pullback] = vjp(level.f, ...a) as [unknown, (ct: unknown) => unknown[]];
      return pullback(makeCotangent(out, us));
    };
    checkLevel({ f: g, name: `vjp(${level.name})` }, args, mode, k + 1, order, cfg, found);
  }
}

function zerosOf(t: Tensor): Tensor {
  return tensor(t.dtype === "int32" ? new Int32Array(t.size) : t.dtype === "bool" ? new Uint8Array(t.size) : new Float32Array(t.size), {
    shape: t.shape,
    dtype: t.dtype,
  });
}
