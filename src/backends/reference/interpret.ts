/**
 * The reference interpreter lives in core (core/semantics-eval.ts: the definition of every
 * primitive, also used by constant folding); the reference backend re-exports it from here.
 */
export { EVAL, evalGraph, interpret } from "../../core/semantics-eval.js";
