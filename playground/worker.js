/* global self, fetch */
// MNIST MLP training for the playground, off the main thread: loads the embedded subset
// (mnist-subset.bin, see gen-mnist.mjs), trains a 784-64-10 MLP with Adam on the CPU backend,
// posts the loss after every step and the held-out accuracy at the end.
import * as tf from "./dist/tenfold.js";

const TEST = 200;
const BATCH = 64;

async function load() {
  const buf = new Uint8Array(await (await fetch(new URL("./mnist-subset.bin", import.meta.url))).arrayBuffer());
  const count = new DataView(buf.buffer).getUint32(4, true);
  const labels = Int32Array.from(buf.subarray(8, 8 + count));
  const pixels = Float32Array.from(buf.subarray(8 + count, 8 + count + count * 784), (v) => v / 255);
  return { count, labels, pixels };
}

self.onmessage = async ({ data: { steps } }) => {
  try {
    const { count, labels, pixels } = await load();
    const nTrain = count - TEST;
    const xAll = tf.tensor(pixels, { shape: [count, 784] });
    const yAll = tf.tensor(labels, { shape: [count], dtype: "int32" });
    const xTest = tf.slice(xAll, [nTrain, 0], [count, 784]); // slice(x, starts, ends)
    const yTest = tf.slice(yAll, [nTrain], [count]);
    const model = tf.nn.sequential(tf.nn.dense(784, 64), tf.nn.relu, tf.nn.dense(64, 10));
    const opt = tf.optim.adam({ lr: 3e-3 });
    let params = model.init(tf.random.key(0));
    let state = opt.init(params);
    const step = tf.jit((p, s, x, y) => {
      const [l, g] = tf.valueAndGrad((q) => tf.nn.sparseSoftmaxCrossEntropy(model.apply(q, x), y))(p);
      const [u, s2] = opt.update(g, s, p);
      return [l, tf.optim.applyUpdates(p, u), s2];
    });
    const batches = Math.floor(nTrain / BATCH);
    for (let i = 0; i < steps; i++) {
      const b = i % batches;
      const x = tf.slice(xAll, [b * BATCH, 0], [(b + 1) * BATCH, 784]);
      const y = tf.slice(yAll, [b * BATCH], [(b + 1) * BATCH]);
      const [l, p2, s2] = step(params, state, x, y);
      [params, state] = [p2, s2];
      self.postMessage({ step: i, loss: await l.item() });
    }
    const pred = tf.argmax(model.apply(params, xTest), { axis: -1 });
    const acc = await tf.mean(tf.astype(tf.equal(pred, yTest), "float32")).item();
    self.postMessage({ accuracy: acc });
  } catch (e) {
    self.postMessage({ error: String((e && e.stack) || e) });
  }
};
