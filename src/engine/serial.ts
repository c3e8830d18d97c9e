/**
 * Work run one at a time, in the order it was asked for: the next starts when the previous settles,
 * and a failure is its own caller's (it does not stop the queue).
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Settles when everything asked for so far has. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
