/**
 * Runs tasks one at a time per key, in arrival order, and tasks of different
 * keys in parallel. Inside one process this turns writers of a hot stream
 * into a queue instead of a crowd of optimistic appends that keep losing to
 * each other (a livelock in the making); across processes, the optimistic
 * concurrency of the event store still decides.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    // The next task waits for this one to settle, whether it failed or not.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
