// The agent-shaped workload of the memory, shutdown and report scenarios: stages of 10,000 events
// each (stage_start + 999 cycles of 10 events + 8 track() events + stage_end), so `events` is exact.
//
// One cycle: llmCall with token usage (2 events; every 50th call fails with a 429, an
// llm_call_error), task (2), codeExec with a result (2), llmCall (2), two track() events.

import { randomUUID } from 'node:crypto';
import { yieldToLoop } from './common.mjs';

export const EVENTS_PER_STAGE = 10_000;
const CYCLES_PER_STAGE = 999;
const TRACKS_PER_STAGE = 8;
const CYCLES_PER_CHUNK = 100;

export class RateLimitError extends Error {
  constructor(message = '429 Rate limit reached for gpt-4o-mini (requests per min)') {
    super(message);
    this.name = 'RateLimitError';
    this.status = 429;
  }
}

function cycle(lib, index) {
  try {
    lib.llmCall({ model: 'gpt-4o', provider: 'openai' }, (call) => {
      if (index % 50 === 49) throw new RateLimitError();
      call.setUsage({ inputTokens: 812, outputTokens: 164 });
      return 'answer';
    });
  } catch {
    /* the failure is what gets recorded */
  }
  lib.task('parse_answer', () => index);
  lib.codeExec({ language: 'python' }, (exec) => {
    exec.setResult({ exitCode: 0, command: 'python solve.py' });
    return 0;
  });
  lib.llmCall({ model: 'gpt-4o-mini', provider: 'openai' }, (call) => {
    call.setUsage({ inputTokens: 120, outputTokens: 40 });
    return 'ok';
  });
  lib.track('checkpoint_save', { checkpoint: `c${index % 7}`, size_kb: 12 });
  lib.track('progress', { done: index, total: CYCLES_PER_STAGE });
}

/**
 * The same cycle as a long-running service writes it: every value that is not a key of the report
 * is new each time — a task named per request (`task-<uuid>`), error messages carrying a request id
 * and a time, a command and checkpoint per request, a request id in track() data.
 */
function uniqueCycle(lib, index) {
  const id = randomUUID();
  try {
    lib.llmCall({ model: 'gpt-4o', provider: 'openai' }, (call) => {
      if (index % 50 === 49) throw new RateLimitError(`429 Rate limit reached for gpt-4o (request ${id} at ${new Date().toISOString()})`);
      call.setUsage({ inputTokens: 812, outputTokens: 164 });
      return 'answer';
    });
  } catch {
    /* the failure is what gets recorded */
  }
  lib.task(`task-${id}`, () => index);
  lib.codeExec({ language: 'python' }, (exec) => {
    exec.setResult({ exitCode: 0, command: `python solve_${id}.py` });
    return 0;
  });
  lib.llmCall({ model: 'gpt-4o-mini', provider: 'openai' }, (call) => {
    call.setUsage({ inputTokens: 120, outputTokens: 40 });
    return 'ok';
  });
  lib.track('checkpoint_save', { checkpoint: `c-${id}`, size_kb: 12 });
  lib.track('progress', { request_id: id, done: index });
}

/**
 * Records `stages × 10,000` events through the public API. `onChunk(eventsSoFar)` runs every
 * 1,000 events (after yielding to the event loop, so timers and flushes run as in an agent).
 */
export async function runWorkload(lib, stages, onChunk, unique = false) {
  const one = unique ? uniqueCycle : cycle;
  let events = 0;
  for (let s = 0; s < stages; s++) {
    await lib.stage(`stage${s % 5}`, { name: `Stage ${s}` }, async () => {
      events += 1;
      for (let c = 0; c < CYCLES_PER_STAGE; c += CYCLES_PER_CHUNK) {
        const end = Math.min(CYCLES_PER_STAGE, c + CYCLES_PER_CHUNK);
        for (let i = c; i < end; i++) one(lib, i);
        events += (end - c) * 10;
        await yieldToLoop();
        onChunk?.(events);
      }
      for (let t = 0; t < TRACKS_PER_STAGE; t++) lib.track('heartbeat', { beat: t });
      events += TRACKS_PER_STAGE;
    });
    events += 1;
  }
  return events;
}

/**
 * A failure storm: one stage in which every LLM call fails with a 429 (llm_call_start +
 * llm_call_error), `total` events in all, so about half are critical failures the report lists.
 */
export async function runFailureStorm(lib, total, onChunk) {
  let events = 0;
  await lib.stage('storm', { name: 'Failure storm' }, async () => {
    events += 1;
    while (events < total - 1) {
      for (let i = 0; i < 500 && events + 2 <= total - 1; i++, events += 2) {
        try {
          lib.llmCall({ model: 'gpt-4o', provider: 'openai' }, () => {
            throw new RateLimitError();
          });
        } catch {
          /* recorded as llm_call_error */
        }
      }
      await yieldToLoop();
      onChunk?.(events);
      if (events + 2 > total - 1) break;
    }
  });
  return events + 1;
}
