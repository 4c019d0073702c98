/**
 * Entry point of `tenfold/optim`: Optax-style optimizers, combinators and schedules.
 *
 * Placeholder entry point (scaffolding): the real exports land here.
 */
export {};
