// A plain CommonJS agent: it knows nothing of agent-autopsy. The same steps as plain-agent.mjs
// (plan, code in a stream, python3 runs, a repair, embeddings, a summary) through `require('openai')`.
//
// Run it as it is:      node examples/plain-agent.cjs
// Or, with zero code:   AGENT_AUTOPSY_DIR=runs/plain AGENT_AUTOPSY_CHILD_PROCESSES=true \
//                         node --require agent-autopsy/register examples/plain-agent.cjs
'use strict';

const { OpenAI } = require('openai');
const { runPlainAgent } = require('./plain-agent-steps.cjs');

(async () => {
  // The fake server is an ES module; a CommonJS agent loads it with import().
  const { startFakeLlmServer } = await import('./fake-llm-server.mjs');
  const own = process.env.OPENAI_BASE_URL
    ? undefined
    : await startFakeLlmServer({
        script: [{ kind: 'rate_limit', retryAfterMs: 20, match: { endpoint: 'chat.completions' } }],
      });
  const client = new OpenAI({
    baseURL: process.env.OPENAI_BASE_URL ?? own.baseURL,
    apiKey: process.env.OPENAI_API_KEY ?? 'sk-fake-plain-agent-key',
    maxRetries: 0,
  });
  try {
    await runPlainAgent(client, process.env.PLAIN_AGENT_MODEL ?? 'gpt-4o-mini');
  } finally {
    await own?.close();
  }
})().catch((error) => {
  process.exitCode = 1;
  console.error(error);
});
