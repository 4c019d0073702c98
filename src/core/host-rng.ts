/**
 * A small seeded host-side generator (mulberry32) for things that are not tensor randomness:
 * shuffle buffers of streamed datasets and the random directions of gradient checks. Tensor
 * randomness always comes from `random` (JAX's threefry).
 */

/** Uniform floats in [0, 1) from a 32-bit seed (mulberry32). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
