/**
 * The trained artefact: a Classifier (backbone + head as one TorchScript
 * module, with its class names, input shape and evaluation transforms) that
 * predicts, saves and loads; and the checkpoint encoding that carries those
 * facts, and what resuming needs, inside the TorchScript file.
 */
export { Classifier, type Prediction } from './classifier.js';
export { decodeTensors, encodeTensors, loadCheckpoint, saveCheckpoint, type CheckpointMeta, type LoadedCheckpoint, type RunPosition, type TrainingState } from './checkpoint.js';
export { CheckpointMetaSchema, parseCheckpointMeta } from './meta.js';
