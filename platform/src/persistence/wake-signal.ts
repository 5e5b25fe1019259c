/**
 * One promise shared by everyone waiting for the next wake-up, replaced when
 * it fires: readers that wait between every short page while the log is
 * quiet share it instead of piling up resolvers.
 */
export class WakeSignal {
  private wake: { promise: Promise<void>; resolve: () => void } | undefined;

  /** A promise for the next `fire()` after this call. */
  next(): Promise<void> {
    if (!this.wake) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.wake = { promise, resolve };
    }
    return this.wake.promise;
  }

  fire(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.resolve();
  }
}
