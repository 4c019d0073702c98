/**
 * Moving data between backends. `devicePut(x, "webgpu")` uploads a tensor's data to the GPU now
 * (later WebGPU work reuses the copy); `devicePut(x, "cpu")` gives a host-only tensor when the data
 * is on the host. GPU memory cannot be read synchronously, so moving GPU-only data to the CPU is
 * `await devicePutAsync(x, "cpu")`.
 */
import { backendInstance, getBackend, setBackend } from "./backend.js";
import type { Node, Storage } from "./node.js";
import { bufferNode } from "./node.js";
import { Tensor } from "./tensor.js";

function realized(x: Tensor): Node<"buffer"> {
  return x.realize();
}

/**
 * Puts a tensor's data on a backend and returns a tensor backed by it (values unchanged).
 * Moving to `"webgpu"` needs the WebGPU backend created once (`await setBackend("webgpu")` or
 * `await devicePutAsync`); moving GPU-only data to `"cpu"` needs `await devicePutAsync(x, "cpu")`.
 * @example
 * ```ts
 * import { devicePut, tensor } from "tenfold";
 * const y = devicePut(tensor([1, 2]), "cpu");
 * console.log(y.dataSync()); // Float32Array [1, 2]
 * ```
 */
export function devicePut(x: Tensor, device: "cpu" | "webgpu" | "reference" | (string & {})): Tensor {
  const n = realized(x);
  const s = n.storage as Storage;
  if (device === "cpu" || device === "reference") {
    if (!s.host) {
      throw new Error(
        `devicePut(x, "${device}"): the data of this tensor is only on ${[...s.device.keys()].join(", ")}, which cannot be read ` +
          `synchronously. Use \`await devicePutAsync(x, "${device}")\` (or \`await x.data()\` first).`,
      );
    }
    s.shared = true; // two storages, one array
    return new Tensor(bufferNode({ host: s.host, device: new Map(), shared: true }, n.shape, n.dtype));
  }
  const b = backendInstance(device);
  if (!b.adopt) throw new Error(`devicePut: backend "${device}" cannot hold data`);
  b.adopt(s, n);
  return new Tensor(n);
}

/**
 * `devicePut` that also works where data must be read back first (GPU → CPU) or the target
 * backend is not created yet (it is created without changing the current backend).
 * @example
 * ```ts
 * import { devicePutAsync, tensor } from "tenfold";
 * const y = await devicePutAsync(tensor([3, 4]), "cpu");
 * console.log(y.dataSync()); // Float32Array [3, 4]
 * ```
 */
export async function devicePutAsync(x: Tensor, device: "cpu" | "webgpu" | "reference" | (string & {})): Promise<Tensor> {
  if (device === "cpu" || device === "reference") {
    await x.data();
    return devicePut(x, device);
  }
  const prev = getBackend();
  await setBackend(device);
  await setBackend(prev);
  return devicePut(x, device);
}
