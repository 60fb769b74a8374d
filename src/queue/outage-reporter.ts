/**
 * Counts a connection's failures while it is down and reports the 1st, 2nd, 4th, 8th... with
 * the count: a few lines per outage, about one per backoff step, not one per reconnect attempt.
 */
export class OutageReporter {
  private failures = 0;

  constructor(
    private readonly onFailure: (err: Error, failures: number) => void,
    private readonly onRecovered?: (failures: number) => void,
  ) {}

  failed(err: Error): void {
    this.failures += 1;
    if ((this.failures & (this.failures - 1)) === 0) this.onFailure(err, this.failures);
  }

  recovered(): void {
    if (this.failures > 0) this.onRecovered?.(this.failures);
    this.failures = 0;
  }
}
