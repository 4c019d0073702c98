/**
 * Runs the training loop's generators: a loop yields requests (`read` a tensor's data, `wait` for
 * a value that may be a promise) and gets the answers back. `drive` answers synchronously while it
 * can (CPU and reference backends, synchronous callbacks) and switches to awaiting the moment a
 * read cannot be synchronous (WebGPU) or a callback/data source returns a promise, so one loop
 * serves every backend and `dataSync` is never waited on.
 */
import type { TypedArray } from "../core/dtype.js";
import type { Tensor } from "../core/tensor.js";

/** A request of a loop: read a tensor to the host, or wait for a (possibly promised) value. */
export type Req = { readonly read: Tensor } | { readonly wait: unknown };

/** A loop generator: yields requests, receives their answers, returns `R`. */
export type Loop<R> = Generator<Req, R, unknown>;

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { then?: unknown }).then === "function";

async function answerAsync(q: Req): Promise<unknown> {
  return "read" in q ? q.read.data() : q.wait;
}

async function finishAsync<R>(loop: Loop<R>, pending: Req): Promise<R> {
  let r = loop.next(await answerAsync(pending));
  while (!r.done) r = loop.next(await answerAsync(r.value));
  return r.value;
}

/**
 * Runs `loop`: returns `{ value }` when it finished synchronously, else a promise of the value.
 * Errors thrown by the loop propagate (synchronously while it is synchronous).
 */
export function drive<R>(loop: Loop<R>): { readonly value: R } | Promise<R> {
  let r = loop.next();
  while (!r.done) {
    const q = r.value;
    let answer: unknown;
    if ("read" in q) {
      let data: TypedArray | undefined;
      try {
        data = q.read.dataSync();
      } catch {
        // this backend cannot read synchronously (WebGPU): await this read and every later one
        // (a genuine failure of the computation is raised again by the asynchronous read)
        return finishAsync(loop, q);
      }
      answer = data;
    } else {
      if (isThenable(q.wait)) return finishAsync(loop, q);
      answer = q.wait;
    }
    r = loop.next(answer);
  }
  return { value: r.value };
}

/**
 * A promise of `R` that also exposes `R`'s fields directly when the run finished synchronously;
 * before an asynchronous run settles, reading a field throws an error that says to `await`.
 */
export function settle<R extends object>(out: { readonly value: R } | Promise<R>, fields: readonly (keyof R & string)[], who: string): Promise<R> & R {
  if (!(out instanceof Promise)) return Object.assign(Promise.resolve(out.value), out.value);
  let done: R | undefined;
  const p = out.then((v) => {
    done = v;
    return v;
  });
  for (const f of fields) {
    Object.defineProperty(p, f, {
      enumerable: true,
      get() {
        if (done === undefined)
          throw new Error(
            `${who}: the run has not finished (an async backend such as webgpu, or an async callback or dataset); use \`await ${who}(...)\` before reading .${f}`,
          );
        return done[f];
      },
    });
  }
  return p as Promise<R> & R;
}
