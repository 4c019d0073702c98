/**
 * Protection of every call that hands work to a helper thread (the gemm threads of
 * matmul-simd.ts / matmul-table.ts and the SIMD kernel helpers of simd-threads.ts): a helper
 * catches whatever its kernel throws and reports it in its shared control array (cell `err`); the
 * caller waits for each helper with a timeout, watching that it still makes progress, so a helper
 * that throws or stops surfaces as an Error in the caller within about a second instead of a hang
 * in `Atomics.wait`. Also the internal test hook that injects such a failure.
 */

/** Milliseconds a helper may go without progress before the caller gives up on it. */
export const HELPER_TIMEOUT_MS = 1000;

/** What an injected failure does in the helper: throw in its kernel, or stop forever. */
export type HelperFailure = "throw" | "hang";

/** Kind of helper thread: the gemm threads or the SIMD elementwise/reduce kernel helpers. */
export type HelperKind = "gemm" | "simd";

const pending: Record<HelperKind, HelperFailure | null> = { gemm: null, simd: null };

/**
 * Internal test hook: the next call that shares work with a `kind` helper makes one helper fail
 * (`"throw"`: its kernel throws, the helper stays usable; `"hang"`: it stops answering and is
 * dropped from the pool). The call then throws an Error naming the helper; later calls work.
 * Returns nothing; `injectedPending(kind)` tells whether the failure is still waiting for a call.
 *
 * @example
 * injectHelperFailure("gemm", "throw");
 */
export function injectHelperFailure(kind: HelperKind, failure: HelperFailure = "throw"): void {
  pending[kind] = failure;
}

/** Whether an injected failure of `kind` still waits for a threaded call (tests). */
export function injectedPending(kind: HelperKind): boolean {
  return pending[kind] !== null;
}

/**
 * Arms the helper with control array `c` with a pending injected failure (cell `fail`: 1 throw,
 * 2 hang) if there is one; returns whether it did (the caller then must not cancel its work).
 */
export function armHelper(kind: HelperKind, c: Int32Array, fail: number): boolean {
  const f = pending[kind];
  if (f === null) return false;
  pending[kind] = null;
  c[fail] = f === "throw" ? 1 : 2;
  return true;
}

/**
 * The helper-side source that runs an injected failure: put at the start of the helper's work,
 * inside its try block (`c` is its control array).
 */
export function failureSrc(fail: number): string {
  return `if (c[${fail}]) { const f = c[${fail}]; c[${fail}] = 0; if (f === 2) { const z = new Int32Array(new SharedArrayBuffer(4)); for (;;) Atomics.wait(z, 0, 0); } throw new Error("injected helper failure"); }`;
}

/** Thrown when a helper thread failed during a call (its work is lost; the call's result is not computed). */
export class HelperThreadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HelperThreadError";
  }
}

/**
 * Waits until the helper with control array `c` is done with the posted work (`c[0]` back to 0;
 * work it has not taken yet is cancelled unless `armed`), with a timeout: if `progress()` (e.g. the
 * shared claim counter plus the helper's own counter) does not change for HELPER_TIMEOUT_MS, the
 * helper is given up (`"dead"`). Returns "ok", "failed" (the helper caught an error from its kernel
 * and reported it in `c[err]`, which is cleared) or "dead".
 */
export function awaitHelper(c: Int32Array, err: number, armed: boolean, progress: () => number): "ok" | "failed" | "dead" {
  if (!armed && Atomics.compareExchange(c, 0, 1, 0) === 1) return "ok";
  let seen = progress();
  let since = Date.now();
  while (Atomics.load(c, 0) !== 0) {
    Atomics.wait(c, 0, Atomics.load(c, 0), 50);
    if (Atomics.load(c, 0) === 0) break;
    const p = progress();
    const now = Date.now();
    if (p !== seen) [seen, since] = [p, now];
    else if (now - since >= HELPER_TIMEOUT_MS) return "dead";
  }
  if (Atomics.load(c, err) !== 0) {
    Atomics.store(c, err, 0);
    return "failed";
  }
  return "ok";
}

/**
 * Waits for every helper of a call (so none still writes after it returns), drops dead helpers
 * from `pool`, and throws a HelperThreadError naming `who` when any failed.
 */
export function awaitHelpers<H extends { readonly ctl: Int32Array }>(
  who: string,
  pool: H[],
  used: readonly H[],
  err: number,
  armed: ReadonlySet<H>,
  progress: (h: H) => number,
): void {
  let failed = 0;
  let dead = 0;
  for (const h of used) {
    const r = awaitHelper(h.ctl, err, armed.has(h), () => progress(h));
    if (r === "failed") failed++;
    else if (r === "dead") {
      dead++;
      const i = pool.indexOf(h);
      if (i >= 0) pool.splice(i, 1);
    }
  }
  if (failed + dead > 0) {
    const what = dead > 0 ? `${dead} helper thread(s) stopped responding for ${HELPER_TIMEOUT_MS} ms and were dropped` : `${failed} helper thread(s) threw`;
    throw new HelperThreadError(`${who}: ${what}; the call's result was not computed (later calls run without the failed work)`);
  }
}

/** Calls a gate that lost skips at most: 2^MAX_STRIKES. */
const MAX_STRIKES = 6;

/**
 * Whether work is worth sharing with the helper threads right now, learned from the last shared
 * calls of the same work (one gate per kernel or product shape). After a shared call in which the
 * caller computed its share in `own` ms (a fraction `frac` of the work) and then waited `wait` ms
 * for the helpers, the call took own + wait where the caller alone would have taken about
 * own / frac: when sharing lost (helpers descheduled by other load, as on an oversubscribed
 * machine), the next 2, 4, ... 64 calls run on the calling thread alone; a call where sharing won
 * halves the penalty. A quiet machine keeps sharing. While an injected failure of `kind` waits
 * (tests), every call shares.
 */
export class ShareGate {
  #skip = 0;
  #strikes = 0;
  constructor(readonly kind: HelperKind) {}

  /** Whether this call may share (false while backing off; counts the call). */
  share(): boolean {
    if (this.#skip === 0 || pending[this.kind] !== null) return true;
    this.#skip--;
    gateStats.skipped++;
    return false;
  }

  /** Reports a shared call: `own` ms computing `frac` of the work here, then `wait` ms for the helpers. */
  report(own: number, wait: number, frac: number): void {
    if (frac <= 0) return;
    if (own + wait > own / frac) {
      gateStats.lost++;
      this.#strikes = Math.min(this.#strikes + 1, MAX_STRIKES);
      this.#skip = 1 << this.#strikes;
    } else {
      gateStats.won++;
      this.#strikes >>= 1;
    }
  }
}

/** Shared calls that beat one thread (won), lost to it (lost), and calls run alone while backing off (diagnostics, bench). */
export const gateStats = { won: 0, lost: 0, skipped: 0 };

/** Share gates by kind and key (e.g. a product's shape), at most GATES of each kind: the oldest go first. */
const gates: Record<HelperKind, Map<string, ShareGate>> = { gemm: new Map(), simd: new Map() };
export const GATES = 256;

/** The share gate of `kind` work keyed `key` (created open). */
export function gateFor(kind: HelperKind, key: string): ShareGate {
  const m = gates[kind];
  let g = m.get(key);
  if (!g) {
    if (m.size >= GATES) m.delete(m.keys().next().value!);
    m.set(key, (g = new ShareGate(kind)));
  }
  return g;
}
