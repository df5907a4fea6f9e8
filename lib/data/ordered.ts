/**
 * Runs `fn` over `items` with `limit` calls in flight, yielding results in
 * input order. Nothing new starts while the consumer holds back, so what is
 * buffered stays bounded by `limit`. `fn` must not reject: results that can
 * fail should say so in their value.
 */
export async function* mapOrdered<T, R>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const iterator = items[Symbol.iterator]();
  const pending: Promise<R>[] = [];
  const refill = (): void => {
    while (pending.length < limit) {
      const next = iterator.next();
      if (next.done) return;
      pending.push(fn(next.value));
    }
  };
  refill();
  for (let head = pending.shift(); head; head = pending.shift()) {
    refill();
    yield await head;
  }
}
