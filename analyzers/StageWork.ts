import type { TruthEvent } from '../src/types';
import type { SpanEvent } from './SpanPairing';
import { failedAttemptsOf } from './RetryTally';

/**
 * What a stage's time went to, as far as the events say: its LLM calls (how long, which model,
 * how many the client had to retry) and its code runs. slow_stage quotes it, so a slow stage says
 * what it waited on. A stage id run again after every run of it ended starts over, as its row in
 * the report's timeline does. Memory: one small record per distinct stage.
 */
export interface WorkOfStage {
  /** Runs of the stage open now. */
  open: number;
  llmCalls: number;
  /** Their durations added up (calls run in parallel add up to more than the stage took). */
  llmSeconds: number;
  longestLlmSeconds: number;
  longestLlmModel: string;
  /** The model of every call, '' when they named none, undefined once two calls named different ones. */
  model: string | undefined;
  /** Calls their client had retried before their outcome, and the attempts that failed. */
  retried: number;
  failedAttempts: number;
  codeRuns: number;
  codeSeconds: number;
  /** When its latest LLM call ended (the event's timestamp), '' before the first. */
  lastLlmEnd: string;
}

function emptyWork(): WorkOfStage {
  return { open: 0, llmCalls: 0, llmSeconds: 0, longestLlmSeconds: 0, longestLlmModel: '', model: '', retried: 0, failedAttempts: 0, codeRuns: 0, codeSeconds: 0, lastLlmEnd: '' };
}

export class StageWork {
  private readonly stages = new Map<string, WorkOfStage>();

  /** A span event (not `_unfinished`) of stage `stage`. */
  observe(event: TruthEvent, span: SpanEvent, stage: string): void {
    const kind = span.kind;
    if (kind === 'stage') {
      let work = this.stages.get(stage);
      if (span.phase === 'start') {
        if (!work || work.open === 0) {
          work = emptyWork();
          this.stages.set(stage, work);
        }
        work.open++;
      } else if (work && work.open > 0) work.open--;
      return;
    }
    if (span.phase === 'start' || (kind !== 'llm' && kind !== 'code_exec')) return;
    const data = event.data ?? {};
    let work = this.stages.get(stage);
    if (!work) {
      work = emptyWork();
      this.stages.set(stage, work);
    }
    const duration = typeof data.duration === 'number' && Number.isFinite(data.duration) && data.duration > 0 ? data.duration : 0;
    if (kind === 'code_exec') {
      work.codeRuns++;
      work.codeSeconds += duration;
      return;
    }
    const model = data.model === undefined || data.model === null ? '' : String(data.model);
    work.llmCalls++;
    work.llmSeconds += duration;
    work.lastLlmEnd = event.timestamp;
    if (work.llmCalls === 1) work.model = model;
    else if (work.model !== model) work.model = undefined;
    if (duration >= work.longestLlmSeconds) {
      work.longestLlmSeconds = duration;
      work.longestLlmModel = model;
    }
    const attempts = failedAttemptsOf(data);
    if (attempts > 0) {
      work.retried++;
      work.failedAttempts += attempts;
    }
  }

  of(stage: string): WorkOfStage | undefined {
    return this.stages.get(stage);
  }

  get retained(): number {
    return this.stages.size;
  }
}
