/**
 * The CPU backend (default). Until the fused code generator lands it realizes graphs with the
 * reference interpreter over host typed arrays.
 */
import { registerBackend } from "../../core/backend.js";
import { referenceBackend } from "../reference/index.js";

registerBackend("cpu", () => ({ ...referenceBackend(), name: "cpu" }));
