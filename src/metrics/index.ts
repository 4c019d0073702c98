/**
 * Entry point of `tenfold/metrics`: accuracy, precision, recall, f1, aucRoc, confusionMatrix.
 *
 * Placeholder entry point (scaffolding): the real exports land here.
 */
export {};
