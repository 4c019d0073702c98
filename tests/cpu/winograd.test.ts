// The CPU backend's Winograd F(2x2, 3x3) conv kernel (src/backends/cpu/winograd.ts): which convs
// take it, its values against the float64 reference evaluation (odd sizes, asymmetric and zero
// padding, channel counts that are not multiples of 4, batches of 1 to 16, a batch in chunks), its gradients
// against the reference backend's (the input gradient is itself a Winograd conv), helper-thread
// failures, and the bounded kernel cache. Skipped without Wasm SIMD (TENFOLD_SIMD=0: convs then
// take the generic path); run again with relaxed SIMD (FMA in its gemm) on Node < 22.
import { afterAll, describe, expect, test } from "vitest";
import * as tf from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import type { ConvParams } from "../../src/core/conv-general.js";
import { convEval } from "../../src/core/conv-general.js";
import { cpuCacheStats } from "../../src/backends/cpu/cache-stats.js";
import { WINOGRAD_CACHE_LIMIT, setWinogradChunkBytes, winogradEligible, winogradStats } from "../../src/backends/cpu/winograd.js";
import { HelperThreadError, injectHelperFailure } from "../../src/backends/cpu/helper-guard.js";
import { simdHelpers, simdMemory } from "../../src/backends/cpu/simd.js";

const params = (pad: [number, number][], o: Partial<ConvParams> = {}): ConvParams => ({
  strides: [1, 1],
  padding: pad,
  lhsDilation: [1, 1],
  rhsDilation: [1, 1],
  groups: 1,
  ...o,
});

/** Whether a SAME-padded (1 on each side) float32 conv of these shapes takes the Winograd kernel. */
const sameEligible = (xs: number[], ws: number[]): boolean =>
  winogradEligible(
    params([
      [1, 1],
      [1, 1],
    ]),
    xs,
    ws,
    "float32",
  );

/** Elements that differ (a count: a failing toEqual on arrays this long takes minutes to print). */
function mismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

function rnd(shape: number[], seed: number): Tensor {
  return tf.random.uniform(tf.random.key(seed), shape, { minval: -1, maxval: 1 });
}

/** Runs conv (padding [top, bottom, left, right]) on the CPU backend (jitted) and checks it took the Winograd kernel and matches convEval. */
function checkConv(xs: number[], ws: number[], [t, b, l, r]: number[], seed: number): void {
  const pad: [number, number][] = [
    [t!, b!],
    [l!, r!],
  ];
  const p = params(pad);
  expect(winogradEligible(p, xs, ws, "float32")).toBe(true);
  const x = rnd(xs, seed);
  const w = rnd(ws, seed + 1);
  const before = winogradStats.calls;
  const y = tf.jit((a: Tensor, b: Tensor) => tf.conv(a, b, { padding: pad }))(x, w);
  const got = y.dataSync();
  expect(winogradStats.calls).toBe(before + 1);
  const want = convEval(p, xs, ws, x.dataSync(), w.dataSync(), "float32");
  expect(y.shape).toEqual([xs[0], ws[0], xs[2]! + pad[0]![0] + pad[0]![1] - 2, xs[3]! + pad[1]![0] + pad[1]![1] - 2]);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  // (float32 sums over C·9 products of values in [-1, 1]: the direct form's rounding is ~1e-6 too)
  expect(worst).toBeLessThan(2e-5);
  expect(Number.isFinite(worst)).toBe(true);
}

describe.skipIf(!simdMemory())("Winograd conv: values", () => {
  test("SAME 3x3 (the bench's shape at batch 4)", () => checkConv([4, 32, 28, 28], [64, 32, 3, 3], [1, 1, 1, 1], 1));
  test("VALID, even output", () => checkConv([3, 8, 28, 28], [16, 8, 3, 3], [0, 0, 0, 0], 3));
  test("odd output sizes and asymmetric padding (edge tiles store only their valid lanes)", () => {
    checkConv([2, 6, 31, 27], [12, 6, 3, 3], [2, 1, 0, 2], 5);
    checkConv([4, 8, 33, 17], [8, 8, 3, 3], [1, 1, 1, 1], 7);
    checkConv([4, 9, 15, 40], [7, 9, 3, 3], [0, 1, 2, 0], 9);
  });
  test("channels that are not multiples of 4, batch 1, a wide image", () => checkConv([2, 5, 20, 120], [6, 5, 3, 3], [1, 1, 1, 1], 11));
  test("a batch bigger than one chunk of wasm memory runs chunk by chunk (a short last chunk)", () => {
    const was = setWinogradChunkBytes(200_000); // 3 images of [8, 32, 30] in and [6, 32, 30] out per chunk: 3 + 2
    try {
      const before = winogradStats.chunks;
      checkConv([5, 8, 32, 30], [6, 8, 3, 3], [1, 1, 1, 1], 15);
      expect(winogradStats.chunks).toBe(before + 2);
    } finally {
      setWinogradChunkBytes(was);
    }
  });
  test("many channels (K blocks of the gemm)", () => checkConv([1, 300, 12, 12], [12, 300, 3, 3], [1, 1, 1, 1], 13));
  test("zeros around an image do not leak into its neighbours (each image its own rows)", () => {
    const xs = [3, 8, 26, 26];
    const x = tf.concat([tf.zeros([1, 8, 26, 26]), tf.ones([1, 8, 26, 26]), tf.zeros([1, 8, 26, 26])], { axis: 0 });
    const w = tf.ones([8, 8, 3, 3]);
    x.dataSync(); // realized: a conv of constants would be folded at plan time
    w.dataSync();
    expect(sameEligible(xs, [8, 8, 3, 3])).toBe(true);
    const before = winogradStats.calls;
    const y = tf.conv(x, w, { padding: "SAME" }).arraySync() as number[][][][];
    expect(winogradStats.calls).toBe(before + 1);
    expect(y[0]![0]![5]![5]).toBe(0);
    expect(y[0]![7]![25]![25]).toBe(0);
    expect(y[2]![0]![0]![0]).toBe(0);
    expect(y[2]![7]![25]![25]).toBe(0);
    expect(y[1]![3]![0]![0]).toBe(32); // a corner: 2x2 of the window in the image, 8 channels
    expect(y[1]![3]![10]![0]).toBe(48);
    expect(y[1]![3]![25]![10]).toBe(48);
    expect(y[1]![3]![10]![10]).toBe(72);
  });
});

describe.skipIf(!simdMemory())("Winograd conv: infinities and NaN", () => {
  afterAll(() => tf.setBackend("cpu"));
  // A tile's transforms mix all 16 inputs of its 4x4 patch into its four outputs: an infinity
  // would make neighbours' outputs NaN (inf - inf). Such calls run the direct form instead.
  const same: [number, number][] = [
    [1, 1],
    [1, 1],
  ];
  const ref = async (x: Tensor, w: Tensor): Promise<Float32Array> => {
    await tf.setBackend("reference");
    const y = Float32Array.from(tf.conv(x, w, { padding: same }).dataSync());
    await tf.setBackend("cpu");
    return y;
  };
  const agree = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
    let bad = 0;
    for (let i = 0; i < want.length; i++) {
      const [g, v] = [got[i]!, want[i]!];
      if (Number.isFinite(v) ? !(Math.abs(g - v) <= 2e-5 * (1 + Math.abs(v))) : !Object.is(g, v)) bad++;
    }
    return bad;
  };
  test("an infinity or a NaN in the input or the filters gives the direct sum's values", async () => {
    const xs = [2, 8, 24, 24];
    const base = Array.from(rnd(xs, 61).dataSync());
    base[5 * 24 + 7] = Infinity; // image 0, channel 0
    base[24 * 24 * 8 + 3 * 576 + 10 * 24 + 11] = -Infinity; // image 1, channel 3
    base[24 * 24 * 8 + 6 * 576 + 20 * 24 + 2] = NaN;
    const x = tf.tensor(base, { shape: xs });
    const w = rnd([16, 8, 3, 3], 62);
    const f = tf.jit((a: Tensor, b: Tensor) => tf.conv(a, b, { padding: same }));
    const before = { ...winogradStats };
    const got = f(x, w).dataSync();
    expect(winogradStats.calls).toBe(before.calls + 1);
    expect(winogradStats.fallbacks).toBe(before.fallbacks + 1);
    expect(agree(got, await ref(x, w))).toBe(0);
    // a finite input takes the Winograd kernel again; infinite filters fall back
    const x2 = rnd(xs, 63);
    expect(agree(f(x2, w).dataSync(), await ref(x2, w))).toBe(0);
    expect(winogradStats.fallbacks).toBe(before.fallbacks + 1);
    const wb = Array.from(w.dataSync());
    wb[1 * 72 + 3 * 9 + 4] = Infinity; // the centre tap (never over the padding, where 0 · inf is NaN)
    const w2 = tf.tensor(wb, { shape: [16, 8, 3, 3] });
    expect(agree(f(x2, w2).dataSync(), await ref(x2, w2))).toBe(0);
    expect(winogradStats.fallbacks).toBe(before.fallbacks + 2);
  });
});

describe.skipIf(!simdMemory())("Winograd conv: which convs take it", () => {
  const xs = [4, 16, 28, 28];
  const same: [number, number][] = [
    [1, 1],
    [1, 1],
  ];
  const elig = (o: Partial<ConvParams>, ws = [32, 16, 3, 3], x = xs, pad = same, dtype = "float32"): boolean => winogradEligible(params(pad, o), x, ws, dtype);
  test("3x3, unit strides and dilations, one group, padding 0-2, float32, big enough", () => {
    expect(elig({})).toBe(true);
    expect(elig({ strides: [2, 1] })).toBe(false);
    expect(elig({ rhsDilation: [2, 2] })).toBe(false);
    expect(elig({ lhsDilation: [2, 2] })).toBe(false);
    expect(elig({ groups: 2 }, [32, 8, 3, 3])).toBe(false);
    expect(elig({}, [32, 16, 5, 5])).toBe(false);
    expect(
      elig({}, undefined, undefined, [
        [-1, 1],
        [1, 1],
      ]),
    ).toBe(false);
    expect(
      elig({}, undefined, undefined, [
        [3, 3],
        [1, 1],
      ]),
    ).toBe(false);
    expect(elig({}, undefined, undefined, same, "float16")).toBe(false);
    expect(elig({}, [2, 2, 3, 3], [1, 2, 6, 6])).toBe(false);
    expect(winogradEligible(params([[1, 1]]), [4, 16, 28], [32, 16, 3], "float32")).toBe(false);
  });
  test("a stride-2 conv of the same size keeps the gemm path", () => {
    const before = winogradStats.calls;
    tf.conv(rnd(xs, 1), rnd([32, 16, 3, 3], 2), { padding: "SAME", strides: [2, 2] }).dataSync();
    expect(winogradStats.calls).toBe(before);
  });
});

describe.skipIf(!simdMemory())("Winograd conv: gradients and other backends", () => {
  afterAll(() => tf.setBackend("cpu"));
  test("input and filter gradients match the reference backend's (decomposed) ones", async () => {
    const x = rnd([4, 8, 20, 18], 21);
    const w = rnd([12, 8, 3, 3], 22);
    const t = rnd([4, 12, 20, 18], 23);
    const loss = (a: Tensor, b: Tensor): Tensor => tf.sum(tf.multiply(tf.conv(a, b, { padding: "SAME" }), t));
    const g = tf.jit(tf.grad(loss, { argnums: [0, 1] }));
    const before = winogradStats.calls;
    const [gx, gw] = g(x, w) as [Tensor, Tensor];
    const [cx, cw] = [gx.dataSync().slice(), gw.dataSync().slice()];
    expect(winogradStats.calls).toBeGreaterThan(before); // the input gradient is a 3x3 stride-1 conv
    await tf.setBackend("reference");
    const [rx, rw] = tf.grad(loss, { argnums: [0, 1] })(x, w) as [Tensor, Tensor];
    const close = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
      return worst;
    };
    expect(close(cx, rx.dataSync())).toBeLessThan(2e-5);
    expect(close(cw, rw.dataSync())).toBeLessThan(2e-5);
    await tf.setBackend("cpu");
  });
});

describe.skipIf(!simdMemory())("Winograd conv: the shared wasm memory", () => {
  test("a program's copies kept in the arena are not trusted after a Winograd conv overwrote them", () => {
    const x = rnd([512, 1024], 51);
    const soft = tf.jit((a: Tensor) => tf.nn.softmax(a));
    const first = soft(x).dataSync().slice();
    const before = winogradStats.calls;
    tf.jit((a: Tensor, b: Tensor) => tf.conv(a, b, { padding: "SAME" }))(rnd([8, 32, 28, 28], 52), rnd([64, 32, 3, 3], 53)).dataSync();
    expect(winogradStats.calls).toBe(before + 1);
    expect(mismatches(soft(x).dataSync(), first)).toBe(0);
  });
});

describe.skipIf(!simdMemory())("Winograd conv: threads and caches", () => {
  test("a helper thread that throws surfaces as an error in the caller, and the next call works", async () => {
    const x = rnd([16, 16, 28, 28], 31);
    const w = rnd([32, 16, 3, 3], 32);
    const f = tf.jit((a: Tensor, b: Tensor) => tf.conv(a, b, { padding: "SAME" }));
    const good = f(x, w).dataSync().slice();
    // wait (bounded) for a ready helper: without one every row runs here
    for (const t0 = Date.now(); simdHelpers().length === 0 && Date.now() - t0 < 10_000;) await new Promise((r) => setTimeout(r, 20));
    if (simdHelpers().length === 0) return; // one thread (no SharedArrayBuffer): nothing to inject into
    injectHelperFailure("simd", "throw");
    expect(() => f(x, w).dataSync()).toThrow(HelperThreadError);
    expect(mismatches(f(x, w).dataSync(), good)).toBe(0);
  });
  test("kernels are kept per geometry in a bounded LRU cache", () => {
    const w = rnd([8, 8, 3, 3], 41);
    for (let i = 0; i < WINOGRAD_CACHE_LIMIT + 3; i++) {
      const xs = [1, 8, 46, 40 + i];
      expect(sameEligible(xs, [8, 8, 3, 3])).toBe(true);
      tf.conv(tf.ones(xs), w, { padding: "SAME" }).dataSync();
    }
    const s = cpuCacheStats();
    expect(s.winogradKernelLimit).toBe(WINOGRAD_CACHE_LIMIT);
    expect(s.winogradKernels).toBe(WINOGRAD_CACHE_LIMIT);
  });
});
