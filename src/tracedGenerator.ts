import { context, type Context } from '@opentelemetry/api';
import type { StreamChunks } from './StreamChunks';

/** How a generator's work ended: run to its end (or stopped by `return()`), or failed. */
export type GeneratorOutcome = { failed: false; value: unknown } | { failed: true; error: unknown };

type AnyGenerator = Generator<unknown, unknown, unknown> | AsyncGenerator<unknown, unknown, unknown>;

/** Native generator objects, told by their tag: `function*` and `async function*` results. */
export function generatorKind(value: object): 'sync' | 'async' | undefined {
  const tag = (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return tag === 'AsyncGenerator' ? 'async' : tag === 'Generator' ? 'sync' : undefined;
}

/**
 * The generator a wrapper returns for `stage('s', async function* () { … })`: its body runs when
 * it is read, so each step (`next`, `return`, `throw`) runs in the span's context — what the body
 * records belongs to the span's stage and trace, whoever reads it — and the span ends when the
 * generator does: done, stopped early (`break` in `for await` calls `return()`), or failed.
 * `settle` is called once, with how it ended. After that the steps go to the generator as they are.
 * A generator nobody reads to its end leaves its span open (unfinished at exit). `chunks`, for an
 * llm span's generator (the app's own stream of an answer), notes each value it yields.
 */
export function tracedGenerator(generator: AnyGenerator, kind: 'sync' | 'async', active: Context, settle: (outcome: GeneratorOutcome) => void, chunks?: StreamChunks): AnyGenerator {
  let settled = false;
  const finish = (outcome: GeneratorOutcome) => {
    if (settled) return;
    settled = true;
    settle(outcome);
  };
  const step = (method: 'next' | 'return' | 'throw', arg: unknown): unknown => {
    const call = () => (generator[method] as (value: unknown) => unknown).call(generator, arg);
    if (settled) return call();
    let result: unknown;
    try {
      result = context.with(active, call);
    } catch (error) {
      finish({ failed: true, error });
      throw error;
    }
    if (kind === 'sync') {
      const { done, value } = result as IteratorResult<unknown>;
      if (done) finish({ failed: false, value });
      else if (chunks !== undefined) yielded(chunks);
      return result;
    }
    return (result as Promise<IteratorResult<unknown>>).then(
      (next) => {
        if (next.done) finish({ failed: false, value: next.value });
        else if (chunks !== undefined) yielded(chunks);
        return next;
      },
      (error: unknown) => {
        finish({ failed: true, error });
        throw error;
      },
    );
  };
  const traced = {
    next: (value?: unknown) => step('next', value),
    return: (value?: unknown) => step('return', value),
    throw: (error?: unknown) => step('throw', error),
    [kind === 'async' ? Symbol.asyncIterator : Symbol.iterator]() {
      return traced;
    },
    [Symbol.toStringTag]: kind === 'async' ? 'AsyncGenerator' : 'Generator',
  };
  return traced as unknown as AnyGenerator;
}

/** A value the generator yielded is a chunk of the answer; the first one times it. */
function yielded(chunks: StreamChunks): void {
  chunks.chunk();
  if (chunks.firstMs === 0) chunks.answered();
}
