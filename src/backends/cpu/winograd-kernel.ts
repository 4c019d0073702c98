/**
 * The Winograd F(2×2, 3×3) conv kernel's code (see winograd.ts for the algorithm and the host
 * side): its geometry, its memory regions, the generated Wasm SIMD function and its tile tables.
 */
import { MR, NR, FnBuilder, uleb } from "./wasm.js";
import { OP } from "./simd-lanes.js";

/** Geometry of one Winograd conv (all sizes in elements). */
export interface Geom {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly O: number;
  /** Zeros before the first input row and column. */
  readonly pt: number;
  readonly pl: number;
  readonly Ho: number;
  readonly Wo: number;
  /** Tile rows and columns (2×2 outputs each), tile rows per block, blocks per image. */
  readonly th: number;
  readonly tw: number;
  readonly R: number;
  readonly nb: number;
  /** Tiles per block padded to the gemm's NR columns. */
  readonly TB: number;
  /** Padded scratch: rows per block, floats per row (a multiple of 4). */
  readonly PR: number;
  readonly Wp: number;
  /** Row tiles of the packed filters (O padded to MR). */
  readonly mt: number;
}

/** Byte sizes of the kernel's regions. */
export function sizes(g: Geom): { x: number; u: number; y: number; tab: number; scratch: number; P: number; V: number; M: number } {
  const P = (g.C * g.PR * g.Wp + 4) * 4;
  const V = 16 * g.C * g.TB * 4;
  const M = 16 * g.mt * MR * g.TB * 4;
  return {
    x: (g.N * g.C * g.H * g.W + 4) * 4,
    u: 16 * g.mt * MR * g.C * 4,
    y: (g.N * g.O * g.Ho * g.Wo + 4) * 4,
    tab: g.nb * g.TB * 12 + g.N * g.nb * 4,
    scratch: P + V + M,
    P,
    V,
    M,
  };
}

// i32 opcodes used below (SIMD ones: OP of simd-lanes.ts).
const I = { add: 0x6a, sub: 0x6b, mul: 0x6c, divU: 0x6e, and: 0x71, ltU: 0x49, eq: 0x46, load: 0x28, store: 0x36, f32load: 0x2a, f32store: 0x38 } as const;

/** for (v = 0; v < end; v += step) body(). */
function upTo(f: FnBuilder, v: string, end: number, step: number, body: () => void): void {
  f.loop(
    v,
    (h) => h.i32(0),
    (h) => h.i32(end),
    (h) => h.i32(step),
    body,
  );
}

/** i8x16.shuffle immediates picking f32 lanes (0–3: first operand, 4–7: second). */
const lanes = (l: readonly number[]): number[] => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

/**
 * The kernel `k(x, u, y, tab, scr, r0, r1)` for one geometry (byte addresses): rows r are blocks
 * (image r / nb, block r % nb); `tab` holds each block's tile table (TB entries of three i32: the
 * tile's offset in the padded scratch, its output offset in an output plane, and its valid-lane
 * mask: 1 the tile, 2 its right column, 4 its bottom row; on the first of four tiles side by side
 * in one tile row 16, and 8 when the four are whole); `scr` is this thread's scratch (the
 * padded input rows, then V, then M). Function 1 is the packed gemm.
 */
export function kernelFn(g: Geom): FnBuilder {
  const s = sizes(g);
  const f = new FnBuilder(["x", "u", "y", "tab", "scr", "r0", "r1"]);
  for (const l of [
    "r",
    "n",
    "b",
    "c",
    "i",
    "j",
    "o",
    "gi",
    "sr",
    "src",
    "dst",
    "pc",
    "xb",
    "yb",
    "tb",
    "vb",
    "mb",
    "mo",
    "ybo",
    "a0",
    "a1",
    "a2",
    "a3",
    "m",
    "ad",
  ])
    f.local(l, "i32");
  const vl = [
    "chk",
    "r0v",
    "r1v",
    "r2v",
    "r3v",
    "t0",
    "t1",
    "t2",
    "t3",
    "d0",
    "d1",
    "d2",
    "d3",
    "zero",
    "y00",
    "y01",
    "y10",
    "y11",
    "lo0",
    "hi0",
    "lo1",
    "hi1",
  ];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) vl.push(`e${i}${j}`, `s${i}${j}`);
  for (const l of vl) f.local(l, "v128");
  const rowB = g.Wp * 4;
  const planeB = g.PR * rowB;
  const VS = g.C * g.TB * 4; // bytes of one V_ξν
  const MS = g.mt * MR * g.TB * 4; // bytes of one M_ξν
  const US = g.mt * MR * g.C * 4;
  const mem = (align: number, off: number): number[] => [align, ...uleb(off)];
  f.simd(OP.const, ...new Array<number>(16).fill(0)).set("zero");
  f.loop(
    "r",
    (h) => h.get("r0"),
    (h) => h.get("r1"),
    (h) => h.i32(1),
    () => {
      // n = r / nb; b = r − n·nb; xb, yb: the image's input and output; tb: the block's tile table.
      f.get("r").i32(g.nb).op(I.divU).set("n");
      f.get("r").get("n").i32(g.nb).mul().op(I.sub).set("b");
      f.get("x")
        .get("n")
        .i32(g.C * g.H * g.W * 4)
        .mul()
        .add()
        .set("xb");
      f.get("y")
        .get("n")
        .i32(g.O * g.Ho * g.Wo * 4)
        .mul()
        .add()
        .set("yb");
      f.get("tab")
        .get("b")
        .i32(g.TB * 12)
        .mul()
        .add()
        .set("tb");
      f.get("scr").i32(s.P).add().set("vb");
      f.get("vb").i32(s.V).add().set("mb");
      // (1) The padded input rows of the block: row i of channel c is input row 2·R·b + i − pt.
      f.get("scr").set("dst");
      upTo(f, "c", g.C, 1, () => {
        upTo(f, "i", g.PR, 1, () => {
          upTo(f, "j", rowB, 16, () => {
            f.get("dst")
              .get("j")
              .add()
              .get("zero")
              .simd(OP.store, ...mem(4, 0));
          });
          f.get("b")
            .i32(2 * g.R)
            .mul()
            .get("i")
            .add()
            .i32(g.pt)
            .op(I.sub)
            .set("sr");
          f.get("sr").i32(g.H).op(I.ltU).op(0x04, 0x40); // if (0 <= sr < H)
          f.get("xb")
            .get("c")
            .i32(g.H)
            .mul()
            .get("sr")
            .add()
            .i32(g.W * 4)
            .mul()
            .add()
            .set("src");
          f.get("dst")
            .i32(g.pl * 4)
            .add()
            .set("ad");
          const W4 = Math.floor(g.W / 4) * 16;
          if (W4 > 0)
            upTo(f, "j", W4, 16, () => {
              f.get("ad")
                .get("j")
                .add()
                .get("src")
                .get("j")
                .add()
                .simd(OP.load, ...mem(0, 0))
                .simd(OP.store, ...mem(0, 0));
            });
          for (let j = W4; j < g.W * 4; j += 4)
            f.get("ad")
              .get("src")
              .op(I.f32load, 2, ...uleb(j))
              .op(I.f32store, 2, ...uleb(j));
          f.op(0x0b);
          f.inc("dst", (h) => h.i32(rowB));
        });
      });
      // Whether the block read an infinity or a NaN (v − v is 0 for every finite v): the transforms
      // would mix it into all four outputs of its tiles (∞ − ∞), so the caller then runs the
      // direct form instead. flags[r] = 1 at tab + nb·TB·12 + 4r.
      f.get("zero").set("chk");
      upTo(f, "j", g.C * g.PR * rowB, 16, () => {
        f.get("scr")
          .get("j")
          .add()
          .simd(OP.load, ...mem(4, 0))
          .set("t0");
        f.get("chk").get("t0").get("t0").simd(OP.sub).simd(OP.add).set("chk");
      });
      f.get("tab")
        .get("r")
        .i32(4)
        .mul()
        .add()
        .get("chk")
        .get("chk")
        .simd(OP.f32Ne)
        .simd(OP.anyTrue)
        .op(I.store, 2, ...uleb(g.nb * g.TB * 12));
      // (2) V = Bᵀ d B for four tiles at a time, into the packed B panels of the 16 products.
      upTo(f, "c", g.C, 1, () => {
        f.get("scr").get("c").i32(planeB).mul().add().set("pc");
        upTo(f, "gi", g.TB / 4, 1, () => {
          const rowT = (i: number): void => {
            // e_iν = (d Bᵀ-rows)_ν: d0 − d2, d1 + d2, d2 − d1, d1 − d3
            f.get("d0").get("d2").simd(OP.sub).set(`e${i}0`);
            f.get("d1").get("d2").simd(OP.add).set(`e${i}1`);
            f.get("d2").get("d1").simd(OP.sub).set(`e${i}2`);
            f.get("d1").get("d3").simd(OP.sub).set(`e${i}3`);
          };
          f.get("tb").get("gi").i32(48).mul().add().set("ad");
          f.get("ad").op(I.load, 2, 8).i32(16).op(I.and).op(0x04, 0x40);
          // Four tiles side by side (flag 16): row i's patches are columns 0..9 from the first
          // tile's; d_j = columns j, j + 2, j + 4, j + 6 (even/odd lanes of two pairs of loads).
          f.get("pc").get("ad").op(I.load, 2, 0).add().set("a0");
          for (let i = 0; i < 4; i++) {
            for (const [v, off] of [
              ["r0v", 0],
              ["r1v", 16],
              ["r2v", 8],
              ["r3v", 24],
            ] as const)
              f.get("a0")
                .simd(OP.load, ...mem(0, i * rowB + off))
                .set(v);
            f.get("r0v")
              .get("r1v")
              .simd(OP.shuffle, ...lanes([0, 2, 4, 6]))
              .set("d0");
            f.get("r0v")
              .get("r1v")
              .simd(OP.shuffle, ...lanes([1, 3, 5, 7]))
              .set("d1");
            f.get("r2v")
              .get("r3v")
              .simd(OP.shuffle, ...lanes([0, 2, 4, 6]))
              .set("d2");
            f.get("r2v")
              .get("r3v")
              .simd(OP.shuffle, ...lanes([1, 3, 5, 7]))
              .set("d3");
            rowT(i);
          }
          f.op(0x05);
          for (let k = 0; k < 4; k++)
            f.get("pc")
              .get("ad")
              .op(I.load, 2, ...uleb(k * 12))
              .add()
              .set(`a${k}`);
          for (let i = 0; i < 4; i++) {
            for (let k = 0; k < 4; k++)
              f.get(`a${k}`)
                .simd(OP.load, ...mem(0, i * rowB))
                .set(`r${k}v`);
            // transpose: d_j = lane j of the four tiles' row i
            f.get("r0v")
              .get("r1v")
              .simd(OP.shuffle, ...lanes([0, 4, 1, 5]))
              .set("t0");
            f.get("r0v")
              .get("r1v")
              .simd(OP.shuffle, ...lanes([2, 6, 3, 7]))
              .set("t1");
            f.get("r2v")
              .get("r3v")
              .simd(OP.shuffle, ...lanes([0, 4, 1, 5]))
              .set("t2");
            f.get("r2v")
              .get("r3v")
              .simd(OP.shuffle, ...lanes([2, 6, 3, 7]))
              .set("t3");
            f.get("t0")
              .get("t2")
              .simd(OP.shuffle, ...lanes([0, 1, 4, 5]))
              .set("d0");
            f.get("t0")
              .get("t2")
              .simd(OP.shuffle, ...lanes([2, 3, 6, 7]))
              .set("d1");
            f.get("t1")
              .get("t3")
              .simd(OP.shuffle, ...lanes([0, 1, 4, 5]))
              .set("d2");
            f.get("t1")
              .get("t3")
              .simd(OP.shuffle, ...lanes([2, 3, 6, 7]))
              .set("d3");
            rowT(i);
          }
          f.op(0x0b);
          // ad = vb + ((gi >> 1)·C + c)·NR·4 + (gi & 1)·16
          f.get("vb")
            .get("gi")
            .i32(1)
            .op(0x76)
            .i32(g.C)
            .mul()
            .get("c")
            .add()
            .i32(NR * 4)
            .mul()
            .add()
            .get("gi")
            .i32(1)
            .op(I.and)
            .i32(4)
            .op(0x74)
            .add()
            .set("ad");
          for (let nu = 0; nu < 4; nu++) {
            const st = (xi: number, a: string, op: number, b: string): void => {
              f.get("ad")
                .get(a)
                .get(b)
                .simd(op)
                .simd(OP.store, ...mem(4, (xi * 4 + nu) * VS));
            };
            st(0, `e0${nu}`, OP.sub, `e2${nu}`);
            st(1, `e1${nu}`, OP.add, `e2${nu}`);
            st(2, `e2${nu}`, OP.sub, `e1${nu}`);
            st(3, `e1${nu}`, OP.sub, `e3${nu}`);
          }
        });
      });
      // (3) M_ξν = U_ξν · V_ξν (mt·MR × TB), 16 packed gemms.
      for (let q = 0; q < 16; q++) {
        f.get("u")
          .i32(q * US)
          .add();
        f.get("vb")
          .i32(q * VS)
          .add();
        f.get("mb")
          .i32(q * MS)
          .add();
        f.i32(g.mt)
          .i32(g.TB / NR)
          .i32(g.C)
          .i32(Math.min(g.C, 256))
          .i32(g.mt)
          .i32(g.TB * 4);
        f.op(0x10, 1); // call gemm
      }
      // (4) Y = Aᵀ M A per output channel, four tiles at a time; stores by the tile table.
      f.get("mb").set("mo");
      f.get("yb").set("ybo");
      upTo(f, "o", g.O, 1, () => {
        upTo(f, "gi", g.TB / 4, 1, () => {
          f.get("mo").get("gi").i32(16).mul().add().set("ad");
          // s_0ν = m_0ν + m_1ν + m_2ν; s_1ν = m_1ν − m_2ν − m_3ν
          for (let nu = 0; nu < 4; nu++) {
            const m = (xi: number): void => void f.get("ad").simd(OP.load, ...mem(4, (xi * 4 + nu) * MS));
            m(0);
            m(1);
            f.simd(OP.add);
            m(2);
            f.simd(OP.add).set(`s0${nu}`);
            m(1);
            m(2);
            f.simd(OP.sub);
            m(3);
            f.simd(OP.sub).set(`s1${nu}`);
          }
          for (let a = 0; a < 2; a++) {
            f.get(`s${a}0`).get(`s${a}1`).simd(OP.add).get(`s${a}2`).simd(OP.add).set(`y${a}0`);
            f.get(`s${a}1`).get(`s${a}2`).simd(OP.sub).get(`s${a}3`).simd(OP.sub).set(`y${a}1`);
            f.get(`y${a}0`)
              .get(`y${a}1`)
              .simd(OP.shuffle, ...lanes([0, 4, 1, 5]))
              .set(`lo${a}`);
            f.get(`y${a}0`)
              .get(`y${a}1`)
              .simd(OP.shuffle, ...lanes([2, 6, 3, 7]))
              .set(`hi${a}`);
          }
          // Four whole tiles side by side in one tile row (flag 8 on the first): two rows of 8 floats.
          f.get("tb").get("gi").i32(48).mul().add().op(I.load, 2, 8).i32(8).op(I.and).op(0x04, 0x40);
          f.get("ybo").get("tb").get("gi").i32(48).mul().add().op(I.load, 2, 4).add().set("ad");
          f.get("ad")
            .get("lo0")
            .simd(OP.store, ...mem(0, 0));
          f.get("ad")
            .get("hi0")
            .simd(OP.store, ...mem(0, 16));
          f.get("ad")
            .get("lo1")
            .simd(OP.store, ...mem(0, g.Wo * 4));
          f.get("ad")
            .get("hi1")
            .simd(OP.store, ...mem(0, g.Wo * 4 + 16));
          f.op(0x05);
          for (let k = 0; k < 4; k++) {
            f.get("tb").get("gi").i32(48).mul().add().set("ad");
            f.get("ad")
              .op(I.load, 2, ...uleb(k * 12 + 8))
              .set("m");
            f.get("ybo")
              .get("ad")
              .op(I.load, 2, ...uleb(k * 12 + 4))
              .add()
              .set("ad");
            const half = k < 2 ? "lo" : "hi";
            f.get("m").i32(7).op(I.and).i32(7).op(I.eq).op(0x04, 0x40); // whole tile
            f.get("ad")
              .get(`${half}0`)
              .simd(OP.store64Lane, ...mem(0, 0), k & 1);
            f.get("ad")
              .get(`${half}1`)
              .simd(OP.store64Lane, ...mem(0, g.Wo * 4), k & 1);
            f.op(0x05);
            const part = (bit: number, v: string, off: number): void => {
              f.get("m").i32(bit).op(I.and).i32(bit).op(I.eq).op(0x04, 0x40);
              f.get("ad")
                .get(v)
                .simd(OP.store32Lane, ...mem(0, off), k);
              f.op(0x0b);
            };
            part(1, "y00", 0);
            part(3, "y01", 4);
            part(5, "y10", g.Wo * 4);
            f.op(0x0b);
          }
          f.op(0x0b);
        });
        f.inc("mo", (h) => h.i32(g.TB * 4));
        f.inc("ybo", (h) => h.i32(g.Ho * g.Wo * 4));
      });
    },
  );
  return f;
}
