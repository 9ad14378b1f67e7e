import { InstrumentationBase, type InstrumentationConfig, type InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';

type Patchable = Pick<InstrumentationModuleDefinition, 'name' | 'patch' | 'unpatch'>;

/**
 * An instrumentation whose patches never throw into the app. OpenTelemetry's require and import
 * hooks call a module definition's `patch` inside the app's `require()` (or import) and do not
 * catch what it throws: a method or export that cannot be redefined (a frozen prototype,
 * esbuild's CommonJS getters) made `_wrap` throw, and the app's `require()` failed with it. Here
 * each `patch` and `unpatch` of the definitions a subclass gives (`moduleDefinitions()`, in place
 * of `init()`) is guarded: one that throws leaves the module as it is (what it had wrapped stays
 * wrapped) and goes to the diag logger.
 */
export abstract class SafeInstrumentationBase<Config extends InstrumentationConfig = InstrumentationConfig> extends InstrumentationBase<Config> {
  /** The modules to patch, as `init()` would return them. */
  protected abstract moduleDefinitions(): InstrumentationModuleDefinition[];

  protected override init(): InstrumentationModuleDefinition[] {
    const definitions = this.moduleDefinitions();
    for (const definition of definitions) {
      this.guard(definition);
      for (const file of definition.files) this.guard(file);
    }
    return definitions;
  }

  private guard(target: Patchable): void {
    const { patch, unpatch } = target;
    if (patch) {
      target.patch = (exports: unknown, moduleVersion?: string) => {
        try {
          return patch.call(target, exports, moduleVersion);
        } catch (error) {
          this._diag.error(`${target.name}: could not be patched, its calls are not traced`, error);
          return exports;
        }
      };
    }
    if (unpatch) {
      target.unpatch = (exports: unknown, moduleVersion?: string) => {
        try {
          unpatch.call(target, exports, moduleVersion);
        } catch (error) {
          this._diag.error(`${target.name}: could not be unpatched`, error);
        }
      };
    }
  }
}
