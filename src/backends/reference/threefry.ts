/**
 * Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"),
 * the block cipher behind JAX's PRNG. Words are uint32 values stored in int32.
 */
const ROT = [13, 15, 26, 6, 17, 29, 16, 24];

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/** Encrypts (x0, x1) under key (k0, k1); returns both output words as uint32. */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks0 = k0 >>> 0;
  const ks1 = k1 >>> 0;
  const ks2 = (ks0 ^ ks1 ^ 0x1bd11bda) >>> 0;
  const ks = [ks0, ks1, ks2];
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
