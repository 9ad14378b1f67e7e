import { diag, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';

/**
 * The sampler of agent-autopsy's own tracer provider. Sampling decides what is exported, not what
 * the flight recorder sees: a span the configured sampler drops (OTEL_TRACES_SAMPLER, or a request
 * whose upstream service did not sample it) is still recorded — span processors, ours included,
 * see it — but not sampled, so exporters (BatchSpanProcessor, SimpleSpanProcessor) leave it out
 * and its trace stays unsampled downstream. Without this, such a trace's stages, tasks and LLM
 * calls, and their failures, were missing from the log and the report.
 */
export class RecordingSampler implements Sampler {
  constructor(private readonly sampler: Sampler) {}

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const result = this.sampler.shouldSample(context, traceId, spanName, spanKind, attributes, links);
    return result.decision === SamplingDecision.NOT_RECORD ? { ...result, decision: SamplingDecision.RECORD } : result;
  }

  toString(): string {
    return `RecordingSampler{${this.sampler.toString()}}`;
  }
}

/** The sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG configure, as the SDK builds it. */
export function samplerFromEnvironment(env: NodeJS.ProcessEnv = process.env): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? '').trim() || 'parentbased_always_on';
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratioFromEnvironment(env));
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratioFromEnvironment(env)) });
    default:
      diag.error(`OTEL_TRACES_SAMPLER value "${name}" invalid, defaulting to "parentbased_always_on".`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function ratioFromEnvironment(env: NodeJS.ProcessEnv): number {
  const text = (env.OTEL_TRACES_SAMPLER_ARG ?? '').trim();
  const ratio = text === '' ? Number.NaN : Number(text);
  return Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : 1;
}
