/**
 * A mergeable latency histogram with fixed logarithmic buckets (the DDSketch layout): bucket i ≥ 1
 * holds latencies in (MIN·γ^(i−1), MIN·γ^i] and reports them as MIN·2γ^i/(γ+1), which is within
 * RELATIVE_ACCURACY of every value in the bucket. Bucket 0 holds everything at or below MIN.
 *
 * Because the buckets are fixed, merging two histograms (hours into days, shards into a rollup) is
 * exact bucket-wise addition, and a percentile read from any merge is within RELATIVE_ACCURACY of
 * the exact nearest-rank percentile of the values added: the estimate is the representative of the
 * bucket that holds the value of that rank. In memory and in rollup shards (which take increments)
 * it is a sparse map, bucket index → count; rollups store it packed (encodeBuckets), so a read
 * costs little more for a dense histogram than for a sparse one.
 */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** Latencies at or below this (ms) share bucket 0 and are reported as MIN_MS. */
export const MIN_MS = 0.1;
/** Latencies above this (ms) are counted in the last bucket (invocation deadlines are at most 10 s). */
const MAX_MS = 600_000;
export const MAX_BUCKET = Math.ceil(Math.log(MAX_MS / MIN_MS) / LOG_GAMMA);

export type Buckets = Record<string, number>;

export function bucketOf(latencyMs: number): number {
  if (!(latencyMs > MIN_MS)) return 0;
  return Math.min(MAX_BUCKET, Math.max(1, Math.ceil(Math.log(latencyMs / MIN_MS) / LOG_GAMMA)));
}

/** The value a bucket reports: within RELATIVE_ACCURACY of any latency in it (MIN_MS for bucket 0). */
export function representativeOf(bucket: number): number {
  if (bucket <= 0) return MIN_MS;
  return (MIN_MS * 2 * GAMMA ** bucket) / (GAMMA + 1);
}

export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;

  static from(buckets: Buckets | undefined): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [key, count] of Object.entries(buckets ?? {})) h.addToBucket(Number(key), count);
    return h;
  }

  get count(): number {
    return this.total;
  }

  add(latencyMs: number, count = 1): this {
    return this.addToBucket(bucketOf(latencyMs), count);
  }

  merge(other: LatencyHistogram | Buckets | undefined): this {
    if (other instanceof LatencyHistogram) for (const [bucket, count] of other.counts) this.addToBucket(bucket, count);
    else for (const [key, count] of Object.entries(other ?? {})) this.addToBucket(Number(key), count);
    return this;
  }

  /**
   * The nearest-rank percentile (the value of rank ceil(p/100 · n) in sorted order), as its
   * bucket's representative; null when empty.
   */
  percentile(p: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return representativeOf(bucket);
    }
    return representativeOf(Math.max(...this.counts.keys()));
  }

  toBuckets(): Buckets {
    const out: Buckets = {};
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) out[String(bucket)] = this.counts.get(bucket)!;
    return out;
  }

  private addToBucket(bucket: number, count: number): this {
    if (!Number.isInteger(bucket) || bucket < 0 || bucket > MAX_BUCKET) throw new RangeError(`Histogram bucket ${bucket} is out of range`);
    if (count <= 0) return this;
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
    this.total += count;
    return this;
  }
}

/**
 * Packs a sparse histogram into a short string: base64url of LEB128 varints, (gap to the previous
 * bucket, count) per non-empty bucket in ascending order. A 220-bucket histogram packs into about
 * 600 characters instead of 220 map fields.
 */
export function encodeBuckets(buckets: Buckets): string {
  const bytes: number[] = [];
  const varint = (value: number) => {
    let v = value;
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
  };
  let previous = -1;
  for (const [bucket, count] of Object.entries(buckets)
    .map(([k, v]) => [Number(k), v] as const)
    .filter(([, v]) => v > 0)
    .sort((a, b) => a[0] - b[0])) {
    varint(bucket - previous - 1);
    varint(count);
    previous = bucket;
  }
  return Buffer.from(bytes).toString("base64url");
}

export function decodeBuckets(packed: string): Buckets {
  const bytes = Buffer.from(packed, "base64url");
  const out: Buckets = {};
  let i = 0;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (i >= bytes.length) throw new RangeError("Truncated histogram");
      const byte = bytes[i++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  };
  let previous = -1;
  while (i < bytes.length) {
    const bucket = previous + 1 + varint();
    out[String(bucket)] = varint();
    previous = bucket;
  }
  return out;
}
