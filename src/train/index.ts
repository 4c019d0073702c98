/**
 * Entry point of `tenfold/train`: batching, the `fit` loop, callbacks and history plots.
 *
 * Placeholder entry point (scaffolding): the real exports land here.
 */
export {};
