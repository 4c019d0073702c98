/**
 * Entry point of `tenfold/laws`: fast-check arbitraries, `checkGrads`, `allClose`.
 *
 * Placeholder entry point (scaffolding): the real exports land here.
 */
export {};
