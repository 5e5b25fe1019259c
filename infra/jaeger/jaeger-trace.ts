/**
 * Traces as Jaeger's OTLP-based query API returns them (`/api/v3/traces/{id}`):
 * each span with its service, parent and links. Used by the observability
 * stack test and by `bench:saga --observability`, which checks that the
 * traces of the orders it placed arrived whole.
 */
/** A span as Jaeger's OTLP-based query API (`/api/v3/traces/{id}`) returns it. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  links?: { traceId: string; spanId: string }[];
  attributes?: { key: string; value: { stringValue?: string; intValue?: string; boolValue?: boolean } }[];
}
export interface OtlpTrace {
  resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}
export type TraceSpan = { spanID: string; parentId?: string; operationName: string; service: string; startTime: bigint; links: string[]; tags: Map<string, unknown> };

const valueOf = (v: { stringValue?: string; intValue?: string; boolValue?: boolean }): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue);

/** A trace from Jaeger's query API, with each span's service, parent and links. */
export class Trace {
  readonly spans: TraceSpan[];
  constructor(raw: OtlpTrace) {
    this.spans = raw.resourceSpans.flatMap((rs) => {
      const service = String(valueOf(rs.resource.attributes!.find((a) => a.key === 'service.name')!.value));
      return rs.scopeSpans.flatMap((ss) =>
        ss.spans.map((s) => ({
          spanID: s.spanId,
          ...(s.parentSpanId ? { parentId: s.parentSpanId } : {}),
          operationName: s.name,
          service,
          startTime: BigInt(s.startTimeUnixNano),
          links: (s.links ?? []).map((l) => l.spanId),
          tags: new Map((s.attributes ?? []).map((a) => [a.key, valueOf(a.value)])),
        })),
      );
    });
  }
  /** Whether every span's parent is in the trace (a span lost on the way breaks the tree below it). */
  get whole(): boolean {
    const ids = new Set(this.spans.map((s) => s.spanID));
    return this.spans.every((s) => s.parentId === undefined || ids.has(s.parentId));
  }
  get services(): Set<string> {
    return new Set(this.spans.map((s) => s.service));
  }
  byId(id: string | undefined) {
    return this.spans.find((s) => s.spanID === id);
  }
  /** The chain from the root to `span`. */
  ancestry(span: TraceSpan): TraceSpan[] {
    const chain = [span];
    for (let p = this.byId(span.parentId); p; p = this.byId(p.parentId)) chain.unshift(p);
    return chain;
  }
  tag(span: TraceSpan, key: string): unknown {
    return span.tags.get(key);
  }
  named(pattern: RegExp, service?: string) {
    return this.spans.filter((s) => pattern.test(s.operationName) && (service === undefined || s.service === service));
  }
}

/** The trace `traceId` from the Jaeger at `queryUrl`, or undefined when Jaeger has none (yet). */
export async function fetchTrace(queryUrl: string, traceId: string): Promise<Trace | undefined> {
  const res = await fetch(`${queryUrl}/api/v3/traces/${traceId}`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`Jaeger answered ${res.status} for trace ${traceId}: ${(await res.text()).slice(0, 200)}`);
  return new Trace(((await res.json()) as { result: OtlpTrace }).result);
}
