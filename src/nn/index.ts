/**
 * Entry point of `tenfold/nn`: activations, losses, layers, initializers.
 *
 * Placeholder entry point (scaffolding): the real exports land here.
 */
export {};
