// The WebGPU benchmark cases, shared by the Node script (run.ts) and the page (index.html): plain
// ESM that receives the `tenfold` module, so it runs on the sources (tsx) and on the built bundle.
// Each case reports the median wall time of `reps` runs (after a warm-up that compiles the
// pipelines) and GFLOP/s; a run ends by reading one element back, which waits for the GPU.

/** Median of numbers. */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeIt(fn, reps) {
  await fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** Waits for a tensor by reading one element. */
async function done(tf, t) {
  await tf.reshape(tf.slice(tf.reshape(t, [-1]), [0], [1]), []).item();
}

/**
 * Runs the suite. opts: { matmulSizes, chainSize, softmaxShape, conv, mnistSamples, reps, peakGflops }.
 * log(line) receives one line per case; returns the rows.
 */
export async function runSuite(tf, opts, log) {
  const o = {
    matmulSizes: [1024, 2048, 4096],
    chainSize: 1 << 22,
    softmaxShape: [4096, 1024],
    conv: { n: 32, c: 16, hw: 32, o: 32 },
    mnistSamples: 60000,
    reps: 5,
    peakGflops: 0,
    ...opts,
  };
  const rows = [];
  const report = (name, ms, flops) => {
    const gf = flops / ms / 1e6;
    const frac = o.peakGflops > 0 ? ` (${((100 * gf) / o.peakGflops).toFixed(1)}% of peak)` : "";
    const row = { name, ms, gflops: gf };
    rows.push(row);
    log(`${name.padEnd(34)} ${ms.toFixed(2).padStart(10)} ms  ${gf.toFixed(2).padStart(8)} GFLOP/s${frac}`);
  };
  const key = tf.random.key(0);
  for (const n of o.matmulSizes) {
    const a = tf.random.normal(key, [n, n]);
    const b = tf.random.normal(tf.random.foldIn(key, 1), [n, n]);
    await done(tf, a);
    await done(tf, b);
    const f = tf.jit((x, y) => tf.matmul(x, y));
    report(`matmul ${n}`, await timeIt(() => done(tf, f(a, b)), Math.min(o.reps, n >= 4096 ? 2 : o.reps)), 2 * n ** 3);
  }
  {
    const x = tf.random.normal(key, [o.chainSize]);
    await done(tf, x);
    const f = tf.jit((x) =>
      tf.subtract(tf.multiply(tf.maximum(tf.add(tf.multiply(x, 1.5), 0.5), 0), tf.divide(1, tf.add(1, tf.exp(tf.negative(x))))), tf.tanh(x)),
    );
    report(`relu(x*a+b)*sigmoid(x)-tanh(x) ${o.chainSize}`, await timeIt(() => done(tf, f(x)), o.reps), 10 * o.chainSize);
  }
  {
    const [r, c] = o.softmaxShape;
    const x = tf.random.normal(key, [r, c]);
    await done(tf, x);
    const f = tf.jit((x) => {
      const e = tf.exp(tf.subtract(x, tf.max(x, { axis: 1, keepdims: true })));
      return tf.divide(e, tf.sum(e, { axis: 1, keepdims: true }));
    });
    report(`softmax [${r}, ${c}]`, await timeIt(() => done(tf, f(x)), o.reps), 5 * r * c);
  }
  {
    const { n, c, hw, o: oc } = o.conv;
    const x = tf.random.normal(key, [n, c, hw, hw]);
    const w = tf.random.normal(tf.random.foldIn(key, 2), [oc, c, 3, 3]);
    await done(tf, x);
    const f = tf.jit((x, w) => tf.conv(x, w, { padding: "SAME" }));
    report(`conv ${n}x${c}x${hw}x${hw} * ${oc}x${c}x3x3`, await timeIt(() => done(tf, f(x, w)), o.reps), 2 * n * oc * hw * hw * c * 9);
  }
  if (o.mnistSamples > 0) {
    const batch = 128;
    const steps = Math.floor(o.mnistSamples / batch);
    const [k1, k2, k3] = tf.random.split(key, 3);
    let p = {
      w1: tf.multiply(tf.random.normal(k1, [784, 128]), 0.05),
      b1: tf.zeros([128]),
      w2: tf.multiply(tf.random.normal(k2, [128, 10]), 0.05),
      b2: tf.zeros([10]),
    };
    const xs = tf.random.uniform(k3, [batch, 784]);
    const ys = tf.oneHot
      ? tf.oneHot(tf.random.randint(k3, [batch], 0, 10), 10)
      : tf.astype(tf.equal(tf.expandDims(tf.random.randint(k3, [batch], 0, 10), 1), tf.arange(10, undefined, 1, { dtype: "int32" })), "float32");
    const loss = (p, x, y) => {
      const h = tf.maximum(tf.add(tf.matmul(x, p.w1), p.b1), 0);
      const z = tf.add(tf.matmul(h, p.w2), p.b2);
      return tf.mean(tf.subtract(tf.logsumexp(z, { axis: 1 }), tf.sum(tf.multiply(z, y), { axis: 1 })));
    };
    const step = tf.jit((p, x, y) => {
      const g = tf.grad(loss)(p, x, y);
      return tf.tree.map((a, b) => tf.subtract(a, tf.multiply(b, 0.1)), p, g);
    });
    p = step(p, xs, ys);
    await done(tf, p.b2);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) p = step(p, xs, ys);
    await done(tf, p.b2);
    const ms = performance.now() - t0;
    const flops = steps * 3 * 2 * batch * (784 * 128 + 128 * 10);
    report(`MNIST MLP epoch (${steps * batch} samples)`, ms, flops);
  }
  return rows;
}
