import { TOKEN_DETAIL_KEYS, type FailurePattern, type LlmUsage, type ModelUsage, type StageTimeline, type TokenDetails, type UnfinishedSpan } from '../analyzers/reportTypes';
import type { ReportLabels } from './reportLabels';

/**
 * Which rows of the report's keyed sections the pages for people show. The JSON report keeps every
 * key; a service that names a stage, an error type or a model per request has tens of thousands,
 * and a page listing them all is neither readable nor quick to write at exit. The pages show the
 * first rows and fold the rest into one line that says how many there are and what they add up to.
 */

/**
 * At most `max` stages, in timeline order: failed and unfinished stages first (they are why the
 * page is read), then the others from the start. `more` is how many are left out.
 */
export function shownStages(stages: readonly StageTimeline[], max: number): { shown: StageTimeline[]; more: number } {
  if (stages.length <= max) return { shown: [...stages], more: 0 };
  const keep = new Set<StageTimeline>();
  for (const stage of stages) if (keep.size < max && stage.outcome !== 'ok') keep.add(stage);
  for (const stage of stages) if (keep.size < max) keep.add(stage);
  return { shown: stages.filter((stage) => keep.has(stage)), more: stages.length - max };
}

/** The entries as given while they fit; else the `max` largest (first first on a tie), and the number and sum of the rest. */
export function topCounts(entries: Array<[string, number]>, max: number): { shown: Array<[string, number]>; more: number; moreTotal: number } {
  if (entries.length <= max) return { shown: entries, more: 0, moreTotal: 0 };
  const sorted = [...entries].sort((a, b) => b[1] - a[1]);
  const rest = sorted.slice(max);
  return { shown: sorted.slice(0, max), more: rest.length, moreTotal: rest.reduce((sum, [, n]) => sum + n, 0) };
}

/** The shares of the token counts the run's calls stated (a column each on the pages); none when no call did. */
export function statedTokenDetails(usage: LlmUsage): Array<keyof TokenDetails> {
  return TOKEN_DETAIL_KEYS.filter((key) => typeof usage[key] === 'number');
}

/** Models in report order while they fit; else the `max` with the most calls, and the rest summed. */
export function topModels(byModel: Record<string, ModelUsage>, max: number): { shown: Array<[string, ModelUsage]>; more: number; moreTotal: ModelUsage } {
  const entries = Object.entries(byModel);
  const moreTotal: ModelUsage = { calls: 0, errors: 0, input_tokens: 0, output_tokens: 0 };
  if (entries.length <= max) return { shown: entries, more: 0, moreTotal };
  const sorted = entries.sort((a, b) => b[1].calls - a[1].calls);
  for (const [, usage] of sorted.slice(max)) {
    moreTotal.calls += usage.calls;
    moreTotal.errors += usage.errors;
    moreTotal.input_tokens += usage.input_tokens;
    moreTotal.output_tokens += usage.output_tokens;
    for (const key of TOKEN_DETAIL_KEYS) if (typeof usage[key] === 'number') moreTotal[key] = (moreTotal[key] ?? 0) + usage[key];
    if (usage.calls_without_tokens) moreTotal.calls_without_tokens = (moreTotal.calls_without_tokens ?? 0) + usage.calls_without_tokens;
  }
  return { shown: sorted.slice(0, max), more: entries.length - max, moreTotal };
}

/**
 * At most `max` failure patterns, in report order: the seed's run-wide patterns (frequent LLM or
 * syntax errors) always, stage_specific_failures (one per stage with more than two failures) in
 * the rest. `more` is how many are left out.
 */
export function shownPatterns(patterns: readonly FailurePattern[], max: number): { shown: FailurePattern[]; more: number } {
  if (patterns.length <= max) return { shown: [...patterns], more: 0 };
  let room = max - patterns.filter((pattern) => pattern.pattern !== 'stage_specific_failures').length;
  const shown = patterns.filter((pattern) => pattern.pattern !== 'stage_specific_failures' || room-- > 0);
  return { shown, more: patterns.length - shown.length };
}

/** The total tokens as the summary shows them, saying how many calls they leave out (llm_usage.calls_without_tokens). */
export function totalTokensText(usage: LlmUsage, total: string, labels: Pick<ReportLabels, 'callsNotCounted'>): string {
  return usage.calls_without_tokens ? `${total} (${labels.callsNotCounted(usage.calls_without_tokens, usage.calls)})` : total;
}

/** Longest error text an Unfinished spans row shows (the log and the JSON keep it whole). */
const UNFINISHED_ERROR_CHARS = 300;

/** The failure of a span the app had failed before the process ended: `ValidationError: message`. */
export function unfinishedError(span: UnfinishedSpan): string {
  const message = span.error ?? '';
  const text = span.error_type && !message.startsWith(span.error_type) ? `${span.error_type}: ${message}` : message;
  return text.length > UNFINISHED_ERROR_CHARS ? `${text.slice(0, UNFINISHED_ERROR_CHARS)}…` : text;
}

/** What an Unfinished spans row says of a streamed call's stream (empty for a call not streamed). */
export function unfinishedStream(span: UnfinishedSpan, labels: Pick<ReportLabels, 'streamState'>): string {
  if (span.stream !== true) return '';
  const seconds = (value: number | undefined) => (value === undefined ? undefined : String(Math.round(value * 100) / 100));
  return labels.streamState(seconds(span.time_to_first_chunk), span.time_to_first_chunk === undefined ? undefined : seconds(span.seconds_since_last_chunk));
}

/**
 * `calls` (the text of `counted` calls) as the summary shows them, with the LLM calls still
 * running at the end (unfinished, not in llm_usage) after them; with none at all, what a 0 does
 * not prove (a client nothing instruments made its calls unseen).
 */
export function llmCallsText(calls: string, counted: number, unfinished: readonly UnfinishedSpan[] | undefined, labels: Pick<ReportLabels, 'llmCallsRunning' | 'llmCallsNone'>): string {
  let running = 0;
  for (const span of unfinished ?? []) if (span.kind === 'llm') running++;
  if (running > 0) return `${calls} (${labels.llmCallsRunning(running)})`;
  return counted === 0 ? `${calls} (${labels.llmCallsNone})` : calls;
}
