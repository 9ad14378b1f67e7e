import type { TruthEvent } from '../src/types';
import type { MessageCatalog } from './messages';
import type { AutofixStatistics, Diagnosis, ExitInfo, StageTimeline, UnfinishedSpan } from './reportTypes';

/** What a diagnosis sees besides the event stream, when the report is assembled. */
export interface DiagnosisContext {
  exit: ExitInfo;
  unfinished: UnfinishedSpan[];
  stages: StageTimeline[];
  autofix: AutofixStatistics;
  messages: MessageCatalog;
  locale: string;
  /** Report time, epoch ms. */
  now: number;
}

/**
 * A user-defined diagnosis: which events are evidence of it and what to do about it.
 * Register with `init({ rules })` or `new RunAnalyzer({ rules })`.
 */
export interface DiagnosisRule {
  /** Stable id shown in reports (e.g. `db_pool_exhausted`). */
  id: string;
  severity?: Diagnosis['severity'];
  title: string;
  suggestion: string;
  /** Counts an event as evidence: a predicate, or a RegExp tested on `type` and `data.error`. */
  match: ((event: TruthEvent) => boolean) | RegExp;
  /** Evidence needed before the diagnosis is reported (default 1). */
  minCount?: number;
  /** 0..1 (default 0.6). */
  confidence?: number;
}

/** Streaming root-cause analysis: sees each event once, answers when the report is built. */
export interface DiagnosisEngine {
  observe(event: TruthEvent): void;
  diagnose(context: DiagnosisContext): Diagnosis[];
}
