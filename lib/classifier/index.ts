/**
 * The trained artefact: a Classifier (backbone + head as one TorchScript
 * module, with its class names, input shape and evaluation transforms) that
 * predicts, saves and loads; `classify` and `evaluate`, which apply it to
 * files or datasets with its recorded transforms; and the checkpoint encoding
 * that carries those facts, and what resuming needs, inside the TorchScript file.
 */
export { Classifier, type Prediction } from './classifier.js';
export { decodeTensors, encodeTensors, loadCheckpoint, saveCheckpoint, type CheckpointMeta, type LoadedCheckpoint, type RunPosition, type TrainingRecord, type TrainingState } from './checkpoint.js';
export { CheckpointMetaSchema, parseCheckpointMeta } from './meta.js';
export { ApplyOptionsSchema, classify, evaluate, expandImagePaths, type ApplyOptions, type Classified, type Evaluation } from './apply.js';
