/**
 * Entry point of `tenfold/train`: `batches`, the `fit` loop with validation and history,
 * callbacks (`earlyStopping`, `progressBar`), and `plotHistory` (an SVG of the curves).
 */
export { batches, numSamples, batchCount } from "./batches.js";
export type { BatchOptions } from "./batches.js";
export { fit, fitAsync } from "./fit.js";
export type { FitOptions, FitResult, LossContext, LossAux, LossOutput } from "./fit.js";
export { earlyStopping, progressBar } from "./callbacks.js";
export type { Callback, EarlyStoppingOptions, EpochEnd, History, ProgressStream, TrainInfo } from "./callbacks.js";
export { plotHistory } from "./plot.js";
export type { PlotOptions } from "./plot.js";
