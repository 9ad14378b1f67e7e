import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import { warnAboutSetting } from './settingWarnings';

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

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/**
 * The sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG configure, as the SDK builds it. A
 * sampler it does not have (jaeger_remote, xray …) or a ratio that is no number from 0 to 1 is
 * named once on stderr, as the other settings are (the SDK tells only its diag logger), and the
 * SDK's default is used.
 */
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
      warnAboutSetting(`OTEL_TRACES_SAMPLER should be one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(name.slice(0, 40))}; parentbased_always_on is used (every trace is exported)`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function ratioFromEnvironment(env: NodeJS.ProcessEnv): number {
  const text = (env.OTEL_TRACES_SAMPLER_ARG ?? '').trim();
  // Unset, the ratio is 1, as the specification says.
  if (text === '') return 1;
  const ratio = Number(text);
  if (Number.isFinite(ratio) && ratio >= 0 && ratio <= 1) return ratio;
  warnAboutSetting(`OTEL_TRACES_SAMPLER_ARG should be a ratio from 0 to 1, got ${JSON.stringify(text.slice(0, 40))}; 1 is used (every trace is exported)`);
  return 1;
}
