/**
 * TorchScript modules: load a file exported from PyTorch, inspect it, run it,
 * save it. Everything that computes runs on the addon's compute thread.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { checkArchive } from './archive.js';
import { parseOptions } from '../util/parse-options.js';
import { LoadOptionsSchema, SaveOptionsSchema, DeviceSchema, type LoadOptions, type SaveOptions } from './options.js';
import { codeOf, hasCode, MarsError } from '../errors.js';
import { native } from '../native/loader.js';
import type { NativeModule, NativeTensor, ParameterInfo } from '../native/surface.js';
import { HandleOwner } from './handle.js';
import { usableDevice } from './runtime.js';
import { Tensor } from './tensor.js';

export type { ParameterInfo, LayerKind, Dtype } from '../native/surface.js';

/** A TorchScript module (a network) loaded into this process; `dispose()` (or `using`) frees its weights now. */
export class Module extends HandleOwner<NativeModule> {
  /** Extra files read from the checkpoint (those named in `load`'s `extraFiles`). */
  readonly extraFiles: Readonly<Record<string, string>>;

  /** @internal Use `load()`. */
  constructor(handle: NativeModule, extraFiles: Record<string, string> = {}) {
    super(handle);
    this.extraFiles = extraFiles;
  }

  /** Runs `forward` on the inputs without recording gradients; the module must return one tensor. */
  async forward(...inputs: Tensor[]): Promise<Tensor> {
    const out = await this.forwardRaw(inputs);
    if (Array.isArray(out)) {
      throw new MarsError('ERR_UNSUPPORTED_OUTPUT', `forward returned ${out.length} tensors; use forwardMany() for modules that return a tuple or list`);
    }
    return new Tensor(out);
  }

  /** Runs `forward` and returns every output tensor (a single tensor comes back as a one-element array). */
  async forwardMany(...inputs: Tensor[]): Promise<Tensor[]> {
    const out = await this.forwardRaw(inputs);
    return (Array.isArray(out) ? out : [out]).map((t) => new Tensor(t));
  }

  private forwardRaw(inputs: Tensor[]): Promise<NativeTensor | NativeTensor[]> {
    inputs.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new MarsError('ERR_INVALID_ARGUMENT', `forward input ${i} must be a Tensor (create one with tensor())`);
    });
    return this.handle.forward(inputs.map((t) => t.handle));
  }

  /** Parameters (trainable tensors), in module order. */
  parameters(): ParameterInfo[] {
    return this.handle.parameters().filter((p) => !p.isBuffer);
  }

  /** Buffers (BatchNorm running statistics and the like), in module order. */
  buffers(): ParameterInfo[] {
    return this.handle.parameters().filter((p) => p.isBuffer);
  }

  /** Every parameter and buffer by name; the tensors share memory with the module. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(Object.entries(this.handle.stateDict()).map(([name, t]) => [name, new Tensor(t)]));
  }

  /** Where the parameters live (`cpu` when it has none). */
  get device(): string {
    return this.handle.parameters()[0]?.device ?? 'cpu';
  }

  /** True in training mode (BatchNorm uses batch statistics, dropout is active). */
  get training(): boolean {
    return this.handle.isTraining();
  }

  /** Switches to training mode (or eval mode with `false`), recursively. */
  train(on = true): this {
    this.handle.setTraining(on);
    return this;
  }

  /** Switches to evaluation mode, recursively. */
  eval(): this {
    return this.train(false);
  }

  /** A child module by attribute name (e.g. `backbone`), sharing its tensors with this one. */
  submodule(name: string): Module {
    return new Module(this.handle.submodule(name));
  }

  /** A deep copy with its own parameters. */
  async clone(): Promise<Module> {
    return new Module(await this.handle.clone(), { ...this.extraFiles });
  }

  /** Moves parameters and buffers to `device` in place. */
  async to(device: string): Promise<this> {
    await this.handle.to(usableDevice(parseOptions(DeviceSchema, device, 'device')));
    return this;
  }

  /**
   * Saves as TorchScript, loadable by Python's `torch.jit.load`. The archive
   * is built in memory (ERR_TORCHSCRIPT_SAVE if LibTorch cannot serialise the
   * module), then written atomically with checked I/O: a temporary file beside
   * `path`, renamed into place; any write failure (a full disk, a read-only
   * folder) rejects with ERR_CHECKPOINT_WRITE and leaves nothing behind.
   */
  async save(path: string, options?: SaveOptions): Promise<void> {
    const o = parseOptions(SaveOptionsSchema, options, 'save options');
    const bytes = await this.handle.serialize(o.extraFiles);
    await writeFileAtomic(path, bytes, 'ERR_CHECKPOINT_WRITE');
  }

  /** The name of the first parameter or buffer holding NaN or an infinity, or null when all are finite. */
  nonFinite(): Promise<string | null> {
    return this.handle.nonFinite();
  }
}

/** Why `stat` could not see a file, in words. */
function unreadable(e: unknown): string {
  switch (codeOf(e)) {
    case 'ENOENT': return 'no such file';
    case 'ELOOP': return 'its path is a loop of symbolic links';
    case 'EACCES': return 'permission denied';
    case 'ENOTDIR': return 'a part of its path is a file, not a folder';
    case 'ENAMETOOLONG': return 'its path is too long';
    default: return (e as Error).message;
  }
}

/**
 * Loads a TorchScript file (saved from PyTorch with `torch.jit.script(m).save(path)`
 * or `torch.jit.trace(...)`). Rejects with ERR_TORCHSCRIPT_LOAD when the file is
 * missing, empty, truncated or not TorchScript.
 */
export async function load(path: string, options?: LoadOptions): Promise<Module> {
  const o = parseOptions(LoadOptionsSchema, options, 'load options');
  if (typeof path !== 'string' || path === '') throw new MarsError('ERR_INVALID_ARGUMENT', 'load: path must be a non-empty string');
  const info = await stat(path).catch((e: unknown) => {
    throw new MarsError('ERR_TORCHSCRIPT_LOAD', `cannot load TorchScript file '${path}': ${unreadable(e)}`, { cause: e });
  });
  if (!info.isFile()) throw new MarsError('ERR_TORCHSCRIPT_LOAD', `cannot load TorchScript file '${path}': not a regular file`);
  if (info.size === 0) throw new MarsError('ERR_TORCHSCRIPT_LOAD', `cannot load TorchScript file '${path}': the file is empty`);
  await checkArchive(path);
  const loaded = await native().loadModule(path, usableDevice(o.device), o.extraFiles).catch((e: unknown) => {
    // Keep other native codes (a bad device, say) as they are; a load failure gets the fix.
    if (!hasCode(e, 'ERR_TORCHSCRIPT_LOAD')) throw e;
    const hint = `; is it a TorchScript file? Export it from PyTorch with torch.jit.script(model).save('${basename(path)}')`;
    throw new MarsError('ERR_TORCHSCRIPT_LOAD', `${(e as Error).message}${hint}`, { cause: e });
  });
  const module = new Module(loaded.module, loaded.extraFiles);
  if (o.mode !== 'as-saved') module.train(o.mode === 'train');
  return module;
}
