/**
 * Scalar math behind core/semantics.ts: the functions whose exact results define a primitive
 * (round half to even, erf, C `pow` for floats, integer `pow`, integer division, saturating
 * float -> int32 casts, Threefry-2x32). Pure JS numbers, no imports: the reference interpreter,
 * constant folding and the JS kernels call these very functions.
 */

/** Round half to even (NumPy's and XLA's `round`): round(0.5) = 0, round(1.5) = 2, round(-0.4) = -0. */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5) return 2 * Math.round(x / 2);
  return r;
}

/** The error function, accurate to ~1e-15 (Numerical Recipes erfc Chebyshev fit). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  const t = 2 / (2 + z);
  const ty = 4 * t - 2;
  const cof = ERF_COF;
  let d = 0;
  let dd = 0;
  for (let j = cof.length - 1; j > 0; j--) {
    const tmp = d;
    d = ty * d - dd + cof[j]!;
    dd = tmp;
  }
  const erfc = t * Math.exp(-z * z + 0.5 * (cof[0]! + ty * d) - dd);
  return x >= 0 ? 1 - erfc : erfc - 1;
}
const ERF_COF = [
  -1.3026537197817094, 6.419697923564902e-1, 1.9476473204185836e-2, -9.561514786808631e-3, -9.46595344482036e-4, 3.66839497852761e-4, 4.2523324806907e-5,
  -2.0278578112534e-5, -1.624290004647e-6, 1.30365583558e-6, 1.5626441722e-8, -8.5238095915e-8, 6.529054439e-9, 5.059343495e-9, -9.91364156e-10,
  -2.27365122e-10, 9.6467911e-11, 2.394038e-12, -6.886027e-12, 8.94487e-13, 3.13092e-13, -1.12708e-13, 3.81e-16, 7.106e-15, -1.523e-15, -9.4e-17, 1.21e-16,
  -2.8e-17,
];

/** C/NumPy `pow` on floats: like Math.pow except pow(1, y) = 1 and pow(-1, ±Infinity) = 1. */
export function powC(a: number, b: number): number {
  if (a === 1) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return Math.pow(a, b);
}

/**
 * Integer `pow` (JAX's `jnp.power` on int32): exact product by squaring, wrapping mod 2^32; a
 * negative exponent gives 1 for base 1, ±1 for base -1 and 0 otherwise (0^-1 = 0 too).
 */
export function powI32(a: number, b: number): number {
  if (b < 0) return a === 1 ? 1 : a === -1 ? ((b & 1) === 0 ? 1 : -1) : 0;
  let r = 1;
  let base = a | 0;
  for (let e = b; e > 0; e >>>= 1) {
    if (e & 1) r = Math.imul(r, base);
    base = Math.imul(base, base);
  }
  return r;
}

/** Integer division as XLA on CPU (`lax.div`): truncates toward zero; x / 0 = -1; INT_MIN / -1 = INT_MIN. */
export function divI32(a: number, b: number): number {
  if (b === 0) return -1;
  return (a / b) | 0;
}

/** float -> int32 as XLA on CPU: truncates toward zero, saturates to [INT_MIN, INT_MAX], NaN -> 0. */
export function f2i32(x: number): number {
  if (x !== x) return 0;
  if (x >= 2147483647) return 2147483647;
  if (x <= -2147483648) return -2147483648;
  return x < 0 ? Math.ceil(x) | 0 : Math.floor(x) | 0;
}

/** max with NaN propagation; max(-0, +0) = +0 (Math.max already is, for numbers). */
export function maxN(a: number, b: number): number {
  return Math.max(a, b);
}

/** min with NaN propagation; min(-0, +0) = -0. */
export function minN(a: number, b: number): number {
  return Math.min(a, b);
}

const ROT = [13, 15, 26, 6, 17, 29, 16, 24];
const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

/** Threefry-2x32, 20 rounds (the block cipher of JAX's PRNG): both output words as uint32. */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks0 = k0 >>> 0;
  const ks1 = k1 >>> 0;
  const ks = [ks0, ks1, (ks0 ^ ks1 ^ 0x1bd11bda) >>> 0];
  let a = (x0 + ks0) >>> 0;
  let b = (x1 + ks1) >>> 0;
  for (let block = 0; block < 5; block++) {
    for (let r = 0; r < 4; r++) {
      a = (a + b) >>> 0;
      b = rotl(b, ROT[(block % 2) * 4 + r]!);
      b = (b ^ a) >>> 0;
    }
    const s = block + 1;
    a = (a + ks[s % 3]!) >>> 0;
    b = (b + ks[(s + 1) % 3]! + s) >>> 0;
  }
  return [a, b];
}
