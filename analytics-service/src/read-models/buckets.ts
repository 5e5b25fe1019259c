export const BUCKETS = { minute: 60, hour: 3_600, day: 86_400 } as const;
export type Bucket = keyof typeof BUCKETS;

export interface TimeRange {
  from: Date;
  to: Date;
  bucket: Bucket;
}

/** SQL of the bucket start of a timestamptz column (time-zone independent: epoch arithmetic). */
export const bucketSql = (column: string, bucket: Bucket) =>
  `to_timestamp(floor(extract(epoch from ${column}) / ${BUCKETS[bucket]}) * ${BUCKETS[bucket]})`;
