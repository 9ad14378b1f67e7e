import type { OpenSpanEntry } from './AutopsyRun';
import { isPartOfCall } from './mastraSpans';
import type { OpenSpans } from './OpenSpans';
import { isSuperseded } from './supersededSpans';

/**
 * The open llm call that an llm span under `parent` is part of, if any: its parent, or the first
 * llm span above it past spans that are only part of a call. Those are another instrumentation's
 * span of the same request, which the flag's span stands for (Sentry's gen_ai span inside the
 * app's llmCall()), and a step or chunk of the call (Mastra's `step: 0` between its generate() and
 * each request). The span processor folds such a span into the call; at exit the call is the one
 * still running.
 */
export function enclosingCall(openSpans: OpenSpans<OpenSpanEntry>, parent: OpenSpanEntry | undefined): OpenSpanEntry | undefined {
  while (openSpans.holds(parent) && parent.kind === undefined && (isSuperseded(parent.span) || isPartOfCall(parent.span))) parent = parent.parent;
  return openSpans.holds(parent) && parent.kind === 'llm' ? parent : undefined;
}
