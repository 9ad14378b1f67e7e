import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, InstrumentationNodeModuleFile } from '@opentelemetry/instrumentation';
import { afterEach, describe, expect, it } from 'vitest';
import { GoogleGenAIInstrumentation } from '../src/instrumentation/GoogleGenAIInstrumentation';
import { SafeInstrumentationBase } from '../src/instrumentation/SafeInstrumentationBase';

/**
 * OpenTelemetry's require and import hooks call a patch inside the app's `require()` and do not
 * catch what it throws: the flag's instrumentations guard theirs, so a module they cannot patch
 * loads as it is, and the error goes to the diag logger.
 */

/** The diag logger's error lines while `fn` runs: an instrumentation's logger names it first. */
function diagErrors(fn: () => void): string[] {
  const errors: string[] = [];
  const logger: DiagLogger = { error: (...args) => void errors.push(args.filter((arg) => typeof arg === 'string').join(': ')), warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} };
  diag.setLogger(logger, DiagLogLevel.ERROR);
  try {
    fn();
  } finally {
    diag.disable();
  }
  return errors;
}

class Throwing extends SafeInstrumentationBase {
  constructor() {
    super('test-throwing', '1.0.0', { enabled: false });
  }

  protected moduleDefinitions() {
    const fail = () => {
      throw new TypeError('Cannot redefine property: create');
    };
    return [new InstrumentationNodeModuleDefinition('some-sdk', ['*'], fail, fail, [new InstrumentationNodeModuleFile('some-sdk/lib/client.js', ['*'], fail, fail)])];
  }
}

describe('SafeInstrumentationBase', () => {
  afterEach(() => diag.disable());

  it('a patch or unpatch that throws hands the module back as it is, and says so to the diag logger', () => {
    const [definition] = new Throwing().getModuleDefinitions();
    const exports = { create() {} };
    let results: unknown[] = [];
    const errors = diagErrors(() => {
      results = [definition.patch!(exports, '1.0.0'), definition.files[0].patch(exports, '1.0.0'), definition.unpatch!(exports, '1.0.0'), definition.files[0].unpatch(exports, '1.0.0')];
    });
    expect(results).toEqual([exports, exports, undefined, undefined]);
    expect(errors).toEqual([
      'test-throwing: some-sdk: could not be patched, its calls are not traced',
      'test-throwing: some-sdk/lib/client.js: could not be patched, its calls are not traced',
      'test-throwing: some-sdk: could not be unpatched',
      'test-throwing: some-sdk/lib/client.js: could not be unpatched',
    ]);
  });

  it("the Google Gen AI SDK's instrumentation, given a module whose Models methods cannot be redefined, leaves it working", () => {
    const instrumentation = new GoogleGenAIInstrumentation({ enabled: false });
    instrumentation.enable();
    try {
      class Models {
        generateContentInternal() {
          return 'answer';
        }
      }
      Object.freeze(Models.prototype);
      const module = { Models };
      let patched: unknown;
      const errors = diagErrors(() => {
        patched = instrumentation.getModuleDefinitions()[0].patch!(module, '2.32.0');
      });
      expect(patched).toBe(module);
      expect(new Models().generateContentInternal()).toBe('answer');
      expect(errors).toEqual(['agent-autopsy/google-genai: @google/genai: could not be patched, its calls are not traced']);
    } finally {
      instrumentation.disable();
    }
  });
});
