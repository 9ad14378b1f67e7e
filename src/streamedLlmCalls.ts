import { trace, type Context, type Span } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { reportError } from './errorHandler';
import * as sc from './semconv';
import { errorData } from './spanMapping';

/**
 * An `llmCall()` whose callback returns a stream ends when the stream does: the span an
 * instrumentation opened inside it for the request (the openai client's, @anthropic-ai/sdk's: any
 * llm span another instrumentation starts there) stays open while the app reads the stream after the callback returned, and
 * the call's own span waits for it. The call is then one llm_call pair with the stream's usage,
 * timed to the stream's end, and a stream that breaks makes it an llm_call_error — not a second
 * pair written when the nested span ends after its parent.
 *
 * The span processor counts the instrumentations' llm spans open inside each of our llm spans
 * (`nestedLlmStarted`/`nestedLlmEnded`, synchronously in onStart/onEnd, as the spans start and
 * end); the wrappers ask `endAfterNestedLlm` before they end an llm span. Symbol-keyed fields on
 * the span objects, as for the stage (spanStage.ts): nothing is kept for spans that have no
 * nested llm span, and nothing outlives them.
 */
const WAIT = Symbol('agent-autopsy.nestedLlm');
const CALL = Symbol('agent-autopsy.enclosingLlmCall');

const STATUS_ERROR = 2;

interface NestedLlmWait {
  /** The nested llm spans still open. */
  open: number;
  /** The call's callback has finished: its span ends with the last nested span. */
  ending: boolean;
}

type Carrier = { [WAIT]?: NestedLlmWait; [CALL]?: Span };

/** Called for an llm span of another instrumentation as it starts: counted in the llm span of ours it is inside. */
export function nestedLlmStarted(span: Span, parentContext: Context): void {
  const parent = trace.getSpan(parentContext) as (Span & Carrier & { attributes?: Record<string, unknown> }) | undefined;
  // A call whose span has ended (work its callback left running starts a request) does not wait.
  if (parent === undefined || parent.attributes?.[sc.ATTR_AUTOPSY_KIND] !== 'llm' || isEnded(parent)) return;
  const wait = parent[WAIT] ?? (parent[WAIT] = { open: 0, ending: false });
  wait.open++;
  (span as Span & Carrier)[CALL] = parent;
}

/**
 * Called for every span as it ends: the end of the last nested llm span a finished call waits for
 * ends the call. A nested span that failed after the call's callback had finished (a stream that
 * broke while the app read it) fails the call with its error.
 */
export function nestedLlmEnded(span: ReadableSpan): void {
  const call = (span as unknown as Carrier)[CALL];
  if (call === undefined) return;
  (span as unknown as Carrier)[CALL] = undefined;
  const wait = (call as Span & Carrier)[WAIT];
  if (wait === undefined || wait.open <= 0) return;
  wait.open--;
  if (!wait.ending) return;
  if (span.status.code === STATUS_ERROR) failCall(call, span);
  if (wait.open > 0) return;
  wait.ending = false;
  // Ended once every span processor has seen the request end (this runs in one of them): the
  // app's processors and exporters get the child before its parent, as for any call.
  readyCalls.add(call);
  if (readyCalls.size === 1) queueMicrotask(endReadyLlmCalls);
}

/** Calls whose last nested request has ended, to be ended in a microtask (or at exit, before it runs). */
const readyCalls = new Set<Span>();

/**
 * Ends the calls whose streams have ended. Also called by the run as it finishes: a process that
 * exits in the same tick as a stream ends never runs the microtask.
 */
export function endReadyLlmCalls(): void {
  for (const call of readyCalls) {
    readyCalls.delete(call);
    // At exit the run closes open spans itself (as unfinished): a span it ended is not ended again.
    if (isEnded(call)) continue;
    try {
      call.end();
    } catch (error) {
      reportError(error, 'span could not be ended');
    }
  }
}

/**
 * Called by the wrappers before they end an llm span of theirs: true when llm spans opened inside
 * it are still open (its stream is being read); the span then ends when the last of them ends.
 */
export function endAfterNestedLlm(span: Span): boolean {
  const wait = (span as Span & Carrier)[WAIT];
  if (wait === undefined || wait.open <= 0) return false;
  wait.ending = true;
  return true;
}

function failCall(call: Span, nested: ReadableSpan): void {
  try {
    if (isEnded(call)) return;
    // The nested span's error, as the processor reads it, is the call's: the app's exporters get the
    // same text on the nested span already, and the processor cleans the call's end data as it does any.
    const { error, error_type: type } = errorData(nested);
    call.setStatus({ code: STATUS_ERROR, message: String(error) });
    call.setAttribute(sc.ATTR_ERROR_TYPE, typeof type === 'string' || typeof type === 'number' || typeof type === 'boolean' ? type : sc.ERROR_TYPE_OTHER);
  } catch (error) {
    reportError(error, 'the failure of a streamed call could not be recorded');
  }
}

/** Has the SDK span ended (`ended` on sdk-trace-base's Span; a span without it is taken as open). */
function isEnded(span: Span): boolean {
  return (span as Span & { ended?: unknown }).ended === true;
}
