/**
 * What a long operation (fineTune, search, computeBound) makes and must free
 * on success, error and abort alike: everything added is disposed by
 * `dispose()` (called in `finally`), except what the operation hands to its
 * caller (`keep`). Native handles are freed at once instead of waiting for
 * the garbage collector, which sees only their small JS objects.
 */
export class Owned {
  private readonly items = new Set<Disposable>();

  /** Owns `item` (undefined passes through), and returns it. */
  add<T extends Disposable | undefined>(item: T): T {
    if (item) this.items.add(item);
    return item;
  }

  /** Every item of `items` owned, for a record of tensors. */
  addAll<T extends Disposable>(items: Record<string, T>): Record<string, T> {
    for (const item of Object.values(items)) this.items.add(item);
    return items;
  }

  /** Frees `item` now (it is no longer needed, replaced, say). */
  free(item: Disposable | undefined): void {
    if (!item || !this.items.delete(item)) return;
    item[Symbol.dispose]();
  }

  /** Hands `item` to the caller: `dispose()` leaves it alone. */
  keep<T extends Disposable>(item: T): T {
    this.items.delete(item);
    return item;
  }

  /** Frees everything still owned, newest first. */
  dispose(): void {
    for (const item of [...this.items].reverse()) item[Symbol.dispose]();
    this.items.clear();
  }
}
