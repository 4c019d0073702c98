/* global document, Worker */
// Page logic of the playground: runs the edited program against the tenfold bundle on the chosen
// backend and prints its results; starts the MNIST worker and draws its loss curve live.
import * as tf from "./dist/tenfold.js";

const $ = (id) => document.getElementById(id);
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;

/** Text for one printed value: tensors are read (async, so WebGPU works) and shown with dtype, shape, device. */
async function show(v) {
  if (!tf.isTensor(v)) return typeof v === "string" ? v : JSON.stringify(v);
  await v.data();
  if (tf.getBackend() === "cpu") return String(v);
  return `tensor(${JSON.stringify(await v.array())}, dtype=${v.dtype}, shape=[${v.shape.join(", ")}], device=${tf.getBackend()})`;
}

$("run").addEventListener("click", async () => {
  const out = $("out");
  out.textContent = "";
  $("status").textContent = "running...";
  const lines = [];
  let chain = Promise.resolve(); // prints appear in call order even though reads are async
  const print = (...vs) =>
    (chain = chain.then(async () => {
      lines.push((await Promise.all(vs.map(show))).join(" "));
      out.textContent = lines.join("\n");
    }));
  try {
    await tf.setBackend($("backend").value);
    await new AsyncFunction("tf", "print", $("code").value)(tf, print);
    await chain;
    $("status").textContent = `done on ${tf.getBackend()}`;
  } catch (e) {
    out.textContent = lines.concat(`Error: ${e && e.message ? e.message : e}`).join("\n");
    $("status").textContent = "error";
  }
  document.body.dataset.ran = String(Number(document.body.dataset.ran ?? 0) + 1);
});

function drawLoss(losses, total) {
  const c = $("loss");
  const g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  g.strokeStyle = "#999";
  g.strokeRect(40, 10, c.width - 50, c.height - 40);
  if (losses.length < 1) return;
  const max = Math.max(...losses);
  const x = (i) => 40 + ((c.width - 50) * i) / Math.max(1, total - 1);
  const y = (l) => 10 + (c.height - 40) * (1 - l / max);
  g.strokeStyle = "#1f6feb";
  g.lineWidth = 2;
  g.beginPath();
  losses.forEach((l, i) => (i === 0 ? g.moveTo(x(i), y(l)) : g.lineTo(x(i), y(l))));
  g.stroke();
  g.fillStyle = "#333";
  g.fillText(`loss ${losses[losses.length - 1].toFixed(3)} (max ${max.toFixed(2)})`, 45, c.height - 12);
}

$("train").addEventListener("click", () => {
  const steps = Number($("steps").value) || 150;
  const losses = [];
  $("accuracy").textContent = "";
  document.body.dataset.trained = "";
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }) => {
    if (data.loss !== undefined) {
      losses.push(data.loss);
      $("progress").textContent = `step ${data.step + 1}/${steps}`;
      drawLoss(losses, steps);
    } else if (data.accuracy !== undefined) {
      $("accuracy").textContent = `test accuracy: ${(data.accuracy * 100).toFixed(1)}%`;
      document.body.dataset.trained = String(data.accuracy);
      worker.terminate();
    } else if (data.error) {
      $("accuracy").textContent = `Error: ${data.error}`;
      document.body.dataset.trained = "error";
      worker.terminate();
    }
  };
  worker.postMessage({ steps });
});
