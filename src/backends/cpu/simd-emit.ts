/**
 * The code of one SIMD plan inside a kernel function (see simd.ts): its hoisted constants and
 * per-kernel loads, and the per-row code: row-constant values once per row, then the columns in
 * unrolled steps of UNROLL vectors (an exp is one range test per step), a reduction's
 * accumulators and epilogue, the store of an elementwise row.
 */
import type { Instr } from "../../scheduler/ir.js";
import type { FnBuilder } from "./wasm.js";
import { uleb } from "./wasm.js";
import type { Consts } from "./simd-lanes.js";
import { LANES, OP, emitExpGroup, emitExpSplitPoly, emitExpSplitRange, expSplitLocals, f32x4 } from "./simd-lanes.js";
import { maySplit } from "./simd-exp.js";
import type { Access, SimdPlan } from "./simd.js";

/** Whether a load reads one element for the whole kernel. */
export const fixed = (a: Access): boolean => a.colCoef === 0 && a.rowCoef === 0 && !a.terms;

/**
 * Column vectors per inner-loop iteration when a row's vector count divides by it: the step's
 * vectors are independent dependency chains (a max/min keeps one accumulator per vector: the
 * NaN-propagating f32x4.max is latency-bound with one; a sum adds the step's float64 halves in a
 * tree into one pair), and the loop overhead is shared.
 */
export const UNROLL = 4;

/** Declares a plan's locals and emits its hoisted code; returns the emitter of its per-row code. */
export function emitPlan(
  f: FnBuilder,
  K: Consts,
  plan: SimdPlan,
  P: string,
  keep: ReadonlyMap<number, number>,
  reuse: ReadonlyMap<number, number>,
  regionBytes: number,
  splitAt?: number,
): () => void {
  const { body, acc, cols, reduce, column } = plan;
  // `a + neg(b)` (how subtraction reaches kernels) runs as one f32x4.sub of b (V8 rebuilds the
  // negation's sign mask at every use: three instructions per step instead of none).
  const subtrahend = (i: Instr): { a: number; b: number } | undefined => {
    if (i.op !== "binary" || i.fn !== "add") return undefined;
    const neg = (j: number): number | undefined => {
      const n = body[j]!;
      return n.op === "unary" && n.fn === "neg" && !reuse.has(j) && !keep.has(j) ? n.x : undefined;
    };
    const nb = neg(i.b);
    if (nb !== undefined) return { a: i.a, b: nb };
    const na = neg(i.a);
    return na !== undefined ? { a: i.b, b: na } : undefined;
  };
  // Instructions the result needs (a reused value's operands are not computed); `leaf`: one whose
  // operands are not needed either (a split exp's second pass).
  const marked = (from: number, leaf?: number): Set<number> => {
    const set = new Set<number>();
    const mark = (j: number): void => {
      if (set.has(j)) return;
      set.add(j);
      const i = body[j]!;
      if (reuse.has(j) || j === leaf) return;
      if (i.op === "unary" || i.op === "cast") mark(i.x);
      else if (i.op === "binary") {
        const d = subtrahend(i);
        mark(d?.a ?? i.a);
        mark(d?.b ?? i.b);
      } else if (i.op === "where") {
        mark(i.c);
        mark(i.a);
        mark(i.b);
      }
    };
    mark(from);
    return set;
  };
  const need = marked(body.length - 1);
  const scratch = (r: number): void => {
    f.get("scr")
      .i32(r * regionBytes)
      .add()
      .get("c")
      .add();
  };
  // Instructions constant along a row (of constants and per-row loads only, such as softmax's
  // −max): computed once per row, not per vector.
  const inv: boolean[] = [];
  body.forEach((i, j) => {
    inv[j] =
      i.op === "load"
        ? acc[j]!.colCoef !== 1
        : i.op === "const"
          ? true
          : i.op === "unary" || i.op === "cast"
            ? inv[i.x]!
            : i.op === "binary"
              ? inv[i.a]! && inv[i.b]!
              : i.op === "where"
                ? inv[i.c]! && inv[i.a]! && inv[i.b]!
                : false;
  });
  const hoisted = (j: number): boolean => inv[j]! && body[j]!.op !== "load" && body[j]!.op !== "const" && !reuse.has(j) && !keep.has(j);
  /** An exp computed per vector (one range test per step: emitExpGroup). */
  const grouped = (j: number): boolean => {
    const i = body[j]!;
    return i.op === "unary" && i.fn === "exp" && !inv[j] && need.has(j) && !hoisted(j) && !reuse.has(j);
  };
  // Values per vector of the unrolled step have a local per vector (the step's vectors are
  // computed instruction by instruction, interleaved); row-constant values have one.
  body.forEach((_, j) => {
    if (inv[j] && !reuse.has(j)) f.local(`${P}v${j}`, "v128");
    else for (let u = 0; u < UNROLL; u++) f.local(`${P}v${j}_${u}`, "v128");
  });
  plan.epi?.body.forEach((_, j) => f.local(`${P}e${j}`, "v128"));
  acc.forEach((a, j) => {
    if (a?.colCoef === 1) f.local(`${P}p${j}`, "i32");
  });
  const v = (j: number, u = 0): string => (inv[j] && !reuse.has(j) ? `${P}v${j}` : `${P}v${j}_${u}`);
  const addr = (j: number, a: Access, withRow: boolean, from: readonly Instr[] = body): void => {
    const i = from[j] as Extract<Instr, { op: "load" }>;
    f.get(`${P}in${i.input}`)
      .i32(a.off * 4)
      .add();
    if (withRow && a.rowCoef !== 0)
      f.get("row")
        .i32(a.rowCoef * 4)
        .mul()
        .add();
    if (withRow)
      for (const t of a.terms ?? [])
        f.get("row")
          .i32(t.div)
          .op(0x6e)
          .i32(t.mod)
          .op(0x70)
          .i32(t.coef * 4)
          .mul()
          .add(); // ((row / div) % mod)·coef
  };
  // Hoisted: constants and loads constant over the whole kernel.
  body.forEach((i, j) => {
    if (i.op === "const") f.simd(OP.const, ...f32x4(i.value)).set(v(j));
    const a = acc[j];
    if (a && fixed(a)) {
      addr(j, a, false);
      f.simd(OP.load32Splat, 2, 0).set(v(j));
    }
  });
  const emitInstr = (i: Instr, j: number, off: number, u = 0): void => {
    switch (i.op) {
      case "load":
        if (acc[j]!.colCoef === 1)
          f.get(`${P}p${j}`)
            .get("c")
            .add()
            .simd(OP.load, 0, ...uleb(off))
            .set(v(j, u));
        return;
      case "unary":
        LANES[i.fn]!(f, K, [v(i.x, u)]);
        f.set(v(j, u));
        return;
      case "binary": {
        const d = subtrahend(i);
        if (d) f.get(v(d.a, u)).get(v(d.b, u)).simd(OP.sub);
        else LANES[i.fn]!(f, K, [v(i.a, u), v(i.b, u)]);
        f.set(v(j, u));
        return;
      }
      case "where":
        LANES.where!(f, K, [v(i.c, u), v(i.a, u), v(i.b, u)]);
        f.set(v(j, u));
        return;
      case "cast":
        LANES.cast!(f, K, [v(i.x, u)]);
        f.set(v(j, u));
        return;
      default:
        return;
    }
  };
  const ident = (reduce ?? column) === "rmax" ? -Infinity : Infinity;
  const half = Math.ceil(cols / 4) * 16; // a column plan's max/min: the NaN masks after the values
  /** A column plan: vector `last` (at byte offset `off` of the step) into the thread's accumulators. */
  const accumulate = (last: string, off: number): void => {
    const at = (scale: number): void => {
      f.get("po").get("c");
      if (scale > 1) f.i32(scale).mul();
      f.add();
    };
    if (column === "sum") {
      for (const [o, hi] of [
        [0, false],
        [16, true],
      ] as const) {
        at(2);
        at(2);
        f.simd(OP.load, 0, ...uleb(off * 2 + o));
        if (hi) f.get(last).get(last).simd(OP.shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
        else f.get(last);
        f.simd(OP.promoteLow)
          .simd(OP.f64Add)
          .simd(OP.store, 0, ...uleb(off * 2 + o));
      }
      return;
    }
    at(1);
    at(1);
    f.simd(OP.load, 0, ...uleb(off))
      .get(last)
      .simd(column === "rmax" ? OP.pmax : OP.pmin)
      .simd(OP.store, 0, ...uleb(off));
    at(1);
    at(1);
    f.simd(OP.load, 0, ...uleb(half + off))
      .get(last)
      .get(last)
      .simd(OP.f32Ne)
      .simd(OP.or)
      .simd(OP.store, 0, ...uleb(half + off));
  };
  // Whole vectors, then (cols % 4 > 0) one tail vector: its loads may read up to 3 elements past
  // the row (the next row or the slot's padding), its extra lanes are masked out of reductions
  // and stored lane by lane (a whole-vector store could race with the thread writing the next row).
  const vecs = Math.floor(cols / 4);
  const rem = cols % 4;
  const U = vecs % UNROLL === 0 ? UNROLL : vecs % 2 === 0 ? 2 : 1;
  const out = `${P}out`;
  // A split exp (rows of 32 to SPLIT_MAX_COLS columns, one exp `a` per vector): a first loop over
  // the row computes a's argument, the row's range test and the range reduction into two scratch
  // rows (2^n, the reduced argument: regions splitAt, splitAt + 1); a second loop computes the rest
  // (`needB`: a's operands only if something else needs them) with a's polynomial from those rows;
  // a row with a lane out of range runs the one loop instead. Same bits; each loop's dependency
  // chains are half the one loop's, and its six constants stay in registers (docs/performance.md).
  const exps = body.flatMap((_, j) => (grouped(j) ? [j] : []));
  const split =
    splitAt !== undefined && maySplit(plan) && exps.length === 1 && U === UNROLL
      ? { at: exps[0]!, needA: marked((body[exps[0]!] as Extract<Instr, { op: "unary" }>).x), needB: marked(body.length - 1, exps[0]!) }
      : undefined;
  if (split) f.local(`${P}far`, "v128");
  return () => {
    acc.forEach((a, j) => {
      if (!a || fixed(a) || !need.has(j)) return;
      addr(j, a, true);
      if (a.colCoef === 1) f.set(`${P}p${j}`);
      else f.simd(OP.load32Splat, 2, 0).set(v(j));
    });
    body.forEach((i, j) => {
      if (need.has(j) && hoisted(j)) emitInstr(i, j, 0);
    });
    if (column) f.get("scr").set("po");
    else if (!reduce)
      f.get(out)
        .get("row")
        .i32(cols * 4)
        .mul()
        .add()
        .set("po");
    for (let u = 0; u < (reduce === "sum" ? 1 : U); u++) {
      if (reduce === "sum")
        f.simd(OP.const, ...f32x4(0))
          .set(`alo${u}`)
          .simd(OP.const, ...f32x4(0))
          .set(`ahi${u}`);
      else if (reduce)
        f.simd(OP.const, ...f32x4(ident))
          .set(`alo${u}`)
          .simd(OP.const, ...f32x4(0))
          .set(`ahi${u}`);
    }
    // Instruction j for the vectors `us` (an exp: one range test for all of them, emitExpGroup;
    // the split exp in its second pass: from the first pass's scratch rows), if `needed` has it.
    const instr = (i: Instr, j: number, us: readonly number[], needed: ReadonlySet<number> = need): void => {
      if (!needed.has(j) || hoisted(j)) return;
      if (j === split?.at && needed === split.needB) {
        for (const u of us) {
          scratch(splitAt!);
          f.simd(OP.load, 0, ...uleb(u * 16)).set(expSplitLocals(u).r);
          emitExpSplitPoly(f, K, v(j, u), u, () => {
            scratch(splitAt! + 1);
            f.simd(OP.load, 0, ...uleb(u * 16));
          });
          // Each vector's result is stored before the next vector's loads (a kept exp to its
          // region, else over its reduced argument): V8 keeps loads in program order with stores
          // but would hoist all four vectors' loads and constants to the top, spilling them.
          scratch(keep.get(j) ?? splitAt!);
          f.get(v(j, u)).simd(OP.store, 0, ...uleb(u * 16));
        }
        return;
      }
      const r = reuse.get(j);
      if (r !== undefined) {
        for (const u of us) {
          scratch(r);
          f.simd(OP.load, 0, ...uleb(u * 16)).set(v(j, u));
        }
        return;
      }
      if (grouped(j))
        emitExpGroup(
          f,
          K,
          us.map((u) => v((i as Extract<Instr, { op: "unary" }>).x, u)),
          us.map((u) => v(j, u)),
        );
      else for (const u of us) emitInstr(i, j, u * 16, u);
      const kr = keep.get(j);
      if (kr !== undefined)
        for (const u of us) {
          scratch(kr);
          f.get(v(j, u)).simd(OP.store, 0, ...uleb(u * 16));
        }
    };
    // The vectors `us` of one step (the unrolled loop's, or the tail's one), computed instruction
    // by instruction over all of them (an exp: one range test for all), then each stored (or added
    // to the accumulators). A body with an erf (three polynomials, 30 constants) runs vector by
    // vector after its last exp instead, each stored before the next: V8 keeps loads and stores in
    // program order but floats the arithmetic between them, so one stretch keeps every vector's
    // values and constants live at once, more than the 16 xmm registers (erf 13.6 → 17.8 ms); for
    // the other bodies the stretch is the faster (one thread, 4M elements: expm1 21.4 → 16.2,
    // gelu 9.9 → 8.3, log1p 13.4 → 12.1, log 10.6 → 9.9 ms).
    const stretch = body.some((i) => i.op === "unary" && i.fn === "erf") ? body.reduce((m, _, j) => (grouped(j) ? j : m), -1) : body.length - 1;
    const steps = (us: readonly number[], tail: boolean, needed: ReadonlySet<number> = need): void => {
      body.forEach((i, j) => j <= stretch && instr(i, j, us, needed));
      for (const u of us) {
        body.forEach((i, j) => j > stretch && instr(i, j, [u], needed));
        const off = u * 16;
        const alo = `alo${u}`;
        const ahi = `ahi${u}`;
        const last = v(body.length - 1, u);
        if (column) {
          if (tail) {
            f.get(last);
            f.simd(OP.const, ...f32x4(column === "sum" ? 0 : ident));
            f.simd(OP.const, ...[0, 1, 2, 3].flatMap((l) => (l < rem ? [255, 255, 255, 255] : [0, 0, 0, 0])));
            f.simd(OP.bitselect).set(last);
          }
          accumulate(last, off);
          continue;
        }
        if (tail && !reduce) {
          for (let l = 0; l < rem; l++)
            f.get("po")
              .get("c")
              .add()
              .get(last)
              .simd(OP.f32Extract, l)
              .op(0x38, 2, ...uleb(l * 4)); // f32.store
          continue;
        }
        if (tail) {
          f.get(last);
          f.simd(OP.const, ...f32x4(reduce === "sum" ? 0 : ident));
          f.simd(OP.const, ...[0, 1, 2, 3].flatMap((l) => (l < rem ? [255, 255, 255, 255] : [0, 0, 0, 0])));
          f.simd(OP.bitselect).set(last);
        }
        if (!reduce)
          f.get("po")
            .get("c")
            .add()
            .get(last)
            .simd(OP.store, 0, ...uleb(off));
        else if (reduce === "sum") {
          // float64 halves of the vector: the tail adds them to the row's accumulators, an
          // unrolled step leaves them in slo/shi for the tree below (only alo0/ahi0 live across
          // iterations: with one accumulator pair per step they would not fit the registers).
          const [lo, hi] = tail ? [alo, ahi] : [`slo${u}`, `shi${u}`];
          f.get(last).simd(OP.promoteLow);
          if (tail) f.get(lo).simd(OP.f64Add);
          f.set(lo);
          f.get(last).get(last).simd(OP.shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15).simd(OP.promoteLow);
          if (tail) f.get(hi).simd(OP.f64Add);
          f.set(hi);
        } else {
          // max/min: the one-instruction pmax/pmin (acc < x ? x : acc) skips a NaN x, so NaN
          // lanes are tracked apart in ahi (x ≠ x) and put back at the end of the row.
          f.get(alo)
            .get(last)
            .simd(reduce === "rmax" ? OP.pmax : OP.pmin)
            .set(alo);
          f.get(ahi).get(last).get(last).simd(OP.f32Ne).simd(OP.or).set(ahi);
        }
      }
    };
    const all = Array.from({ length: U }, (_, u) => u);
    const [from0, toEnd, byStep] = [(g: FnBuilder) => g.i32(0), (g: FnBuilder) => g.i32(vecs * 16), (g: FnBuilder) => g.i32(U * 16)];
    // A loop over the row's whole vectors, U per iteration (byte offset c).
    const overVectors = (step: () => void): FnBuilder => f.loop("c", from0, toEnd, byStep, step);
    const columns = (needed: ReadonlySet<number>): void => {
      overVectors(() => {
        steps(all, false, needed);
        if (reduce === "sum") {
          for (const h of ["slo", "shi"]) {
            for (let w = 1; w < U; w *= 2)
              for (let u = 0; u + w < U; u += 2 * w)
                f.get(`${h}${u}`)
                  .get(`${h}${u + w}`)
                  .simd(OP.f64Add)
                  .set(`${h}${u}`);
            const a = h === "slo" ? "alo0" : "ahi0";
            f.get(a).get(`${h}0`).simd(OP.f64Add).set(a);
          }
        }
      });
    };
    if (vecs > 0 && split) {
      // The split exp's first loop, then the second or (a lane out of range) the one loop.
      const far = `${P}far`;
      f.simd(OP.const, ...f32x4(0)).set(far);
      const xs = all.map((u) => v((body[split.at] as Extract<Instr, { op: "unary" }>).x, u));
      K.hoisting(() =>
        overVectors(() => {
          body.forEach((i, j) => j < split.at && instr(i, j, all, split.needA));
          emitExpSplitRange(f, K, xs, far, (u) => {
            const { t, r } = expSplitLocals(u);
            scratch(splitAt!);
            f.get(r).simd(OP.store, 0, ...uleb(u * 16));
            scratch(splitAt! + 1);
            f.get(t).simd(OP.store, 0, ...uleb(u * 16));
          });
        }),
      );
      f.get(far).simd(OP.anyTrue).op(0x04, 0x40); // if (some lane out of range)
      K.hoisting(() => columns(need));
      f.op(0x05); // else
      K.hoisting(() => columns(split.needB));
      f.op(0x0b);
    } else if (vecs > 0) K.hoisting(() => columns(need));
    if (rem > 0) {
      f.i32(vecs * 16).set("c");
      steps([0], true);
    }
    if (reduce) {
      // max/min: combine the unrolled accumulators pairwise into alo0 (and ahi0); a sum has one pair.
      for (let w = 1; w < U && reduce !== "sum"; w *= 2) {
        for (let u = 0; u + w < U; u += 2 * w) {
          f.get(`alo${u}`)
            .get(`alo${u + w}`)
            .simd(reduce === "rmax" ? OP.pmax : OP.pmin)
            .set(`alo${u}`);
          f.get(`ahi${u}`)
            .get(`ahi${u + w}`)
            .simd(OP.or)
            .set(`ahi${u}`);
        }
      }
      if (reduce !== "sum")
        f.simd(OP.const, ...f32x4(NaN))
          .get("alo0")
          .get("ahi0")
          .simd(OP.bitselect)
          .set("alo0");
      f.get(out).get("row").i32(4).mul().add();
      if (reduce === "sum") {
        f.get("alo0").get("ahi0").simd(OP.f64Add).set("alo0");
        f.get("alo0").simd(OP.f64Extract, 0).get("alo0").simd(OP.f64Extract, 1).op(0xa0, 0xb6); // f64.add; f32.demote_f64
      } else {
        const m = reduce === "rmax" ? 0x97 : 0x96;
        f.get("alo0")
          .simd(OP.f32Extract, 0)
          .get("alo0")
          .simd(OP.f32Extract, 1)
          .op(m)
          .get("alo0")
          .simd(OP.f32Extract, 2)
          .op(m)
          .get("alo0")
          .simd(OP.f32Extract, 3)
          .op(m);
      }
      if (plan.epi) epilogue();
      f.op(0x38, 2, 0); // f32.store
    }
  };
  /** The reduced value (f32 on the stack) through the epilogue, in lanes of a splat; lane 0 stays. */
  function epilogue(): void {
    const { body: eb, acc: ea } = plan.epi!;
    f.simd(0x13); // f32x4.splat
    const e = (j: number): string => `${P}e${j}`;
    eb.forEach((i, j) => {
      if (i.op === "acc") f.set(e(j));
      else if (i.op === "const") f.simd(OP.const, ...f32x4(i.value)).set(e(j));
      else if (i.op === "load") {
        addr(j, ea[j]!, true, eb);
        f.simd(OP.load32Splat, 2, 0).set(e(j));
      } else {
        const args = i.op === "unary" || i.op === "cast" ? [i.x] : i.op === "binary" ? [i.a, i.b] : i.op === "where" ? [i.c, i.a, i.b] : [];
        LANES[i.op === "unary" || i.op === "binary" ? i.fn : i.op === "where" ? "where" : "cast"]!(f, K, args.map(e));
        f.set(e(j));
      }
    });
    f.get(e(eb.length - 1)).simd(OP.f32Extract, 0);
  }
}
