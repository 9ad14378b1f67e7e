/**
 * examples/fake-llm-server.mjs for a test that runs it in its own process (the zero-code suites
 * start it inside their child apps). The module is plain JavaScript without types: loaded through
 * a specifier TypeScript does not resolve, with the part of its API the tests use.
 */

export interface FakeLlmServer {
  /** Base URL of its OpenAI routes (`…/v1`). */
  baseURL: string;
  /** Replaces the scripted rules (see the module's comment); one is taken per matching request. */
  script(rules: unknown[]): FakeLlmServer;
  close(): Promise<void>;
}

const MODULE = '../../examples/fake-llm-server.mjs';

export async function startFakeLlmServer(options: Record<string, unknown> = {}): Promise<FakeLlmServer> {
  const module = (await import(/* @vite-ignore */ MODULE)) as { startFakeLlmServer: (options: Record<string, unknown>) => Promise<FakeLlmServer> };
  return module.startFakeLlmServer(options);
}

/**
 * The chunks of a streamed chat completion from the fake server, parsed from its server-sent
 * events as an app that reads the API itself does (no SDK in between); the request fails as the
 * server's rule says (a reset connection rejects the read).
 */
export async function* chatCompletionChunks(server: FakeLlmServer, model: string, content: string): AsyncGenerator<Record<string, unknown>> {
  const response = await fetch(`${server.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-0123456789abcdefghij' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], stream: true }),
  });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const bytes of response.body) {
    buffered += decoder.decode(bytes as Uint8Array, { stream: true });
    let end = buffered.indexOf('\n\n');
    while (end !== -1) {
      const data = buffered
        .slice(0, end)
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf('\n\n');
      if (data === '[DONE]') return;
      if (data) yield JSON.parse(data) as Record<string, unknown>;
    }
  }
}
