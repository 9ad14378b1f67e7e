/**
 * Percentiles in constant memory: durations fall into logarithmic buckets 2% wide, so p50/p95
 * are within 2% of the exact value however many calls a run makes, and never outside the smallest
 * and largest values seen (one call, or calls that all took the same time, give the exact value).
 */
export class LatencyHistogram {
  private static readonly GROWTH = Math.log(1.02);
  private static readonly MIN_SECONDS = 1e-4;
  private readonly buckets = new Map<number, number>();
  private count = 0;
  private minSeconds = Infinity;
  private maxSeconds = 0;

  add(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    const index = seconds <= LatencyHistogram.MIN_SECONDS ? 0 : 1 + Math.floor(Math.log(seconds / LatencyHistogram.MIN_SECONDS) / LatencyHistogram.GROWTH);
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1);
    this.count++;
    if (seconds > this.maxSeconds) this.maxSeconds = seconds;
    if (seconds < this.minSeconds) this.minSeconds = seconds;
  }

  get size(): number {
    return this.count;
  }

  get max(): number | null {
    return this.count ? round3(this.maxSeconds) : null;
  }

  /** The q-quantile (0..1), or null without samples. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    const indexes = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const index of indexes) {
      seen += this.buckets.get(index)!;
      if (seen >= rank) {
        // Middle of the bucket, within the smallest and largest values seen.
        const middle = index === 0 ? LatencyHistogram.MIN_SECONDS : LatencyHistogram.MIN_SECONDS * Math.exp((index - 1) * LatencyHistogram.GROWTH) * Math.sqrt(1.02);
        return round3(Math.min(Math.max(middle, this.minSeconds), this.maxSeconds));
      }
    }
    return round3(this.maxSeconds);
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
