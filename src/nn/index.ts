/**
 * Entry point of `tenfold/nn`: activations, losses, regularizers, initializers, layers and
 * combinators. Layers are plain values `{ init(key) => params, apply(params, x, options) => y }`
 * over parameter pytrees; see docs/nn.md.
 */
export * from "./activations.js";
export * from "./losses.js";
export * from "./regularizers.js";
export { glorotUniform, glorotNormal, heUniform, heNormal, zeros, ones, fans } from "./initializers.js";
export type { Initializer } from "./initializers.js";
export * from "./layer.js";
export * from "./layers/basic.js";
export * from "./layers/conv.js";
export * from "./layers/norm.js";
export * from "./layers/rnn.js";
export * from "./layers/attention.js";
export * from "./layers/extra.js";
export * from "./layers/sdpa.js";
