/**
 * Entry point of `tenfold/train`: `batches` and the `Dataset` pipeline, the `fit` loop (every
 * backend, validation, history, resume), `evaluate`/`predict` in batches, callbacks
 * (`progressBar`, `earlyStopping`, `terminateOnNaN`, `reduceLROnPlateau`, `csvLogger`,
 * `modelCheckpoint`), `plotHistory` (an SVG of the curves) and the bundled MNIST sample.
 */
export { batches, numSamples, batchCount } from "./batches.js";
export type { BatchOptions } from "./batches.js";
export { Dataset } from "./dataset.js";
export type { RecordOptions } from "./dataset.js";
export { fit, fitAsync, evaluate, predict } from "./fit.js";
export type { FitOptions, FitResult, FitRun, EvaluateOptions, LossContext, LossAux, LossOutput } from "./fit.js";
export { earlyStopping, terminateOnNaN, reduceLROnPlateau, csvLogger } from "./callbacks.js";
export type {
  BatchControl,
  Callback,
  CsvLoggerOptions,
  EarlyStoppingOptions,
  EpochEnd,
  History,
  HookResult,
  ReduceLROnPlateauOptions,
  TrainInfo,
} from "./callbacks.js";
export { progressBar, formatDuration } from "./progress.js";
export type { ProgressStream } from "./progress.js";
export { modelCheckpoint } from "./checkpoint.js";
export type { ModelCheckpointOptions, SaveFn } from "./checkpoint.js";
export type { TrainCheckpoint } from "./state.js";
export { plotHistory } from "./plot.js";
export type { PlotOptions } from "./plot.js";
export { loadMnist } from "./mnist.js";
export type { MnistOptions, MnistSplit } from "./mnist.js";
