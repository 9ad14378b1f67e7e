import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import { SafeInstrumentationBase } from './SafeInstrumentationBase';

/**
 * An LLM client's instrumentation whose calls the request record leaves to it (llmRequests.ts
 * `clientTracesCalls`, which tells the client's requests by a header: Bedrock's user-agent, whose
 * version is the SDK build's, not always the package's; the Google SDKs' `x-goog-api-client`): it
 * counts the copies of the SDK it patched (CommonJS, ES module), and says it traces the SDK's calls
 * while one is patched and it is enabled.
 */
export abstract class ClientInstrumentationBase<Config extends InstrumentationConfig = InstrumentationConfig> extends SafeInstrumentationBase<Config> {
  private patchedCopies = 0;

  /** The SDK's calls are traced here: a copy of it was patched. Its requests are then left out of the request record. */
  tracesCalls(): boolean {
    return this.patchedCopies > 0 && this.isEnabled();
  }

  /** A copy of the SDK was patched (call it once its methods are wrapped). */
  protected notePatched(): void {
    this.patchedCopies++;
  }

  /** A copy of the SDK was unpatched. */
  protected noteUnpatched(): void {
    this.patchedCopies = Math.max(0, this.patchedCopies - 1);
  }
}
