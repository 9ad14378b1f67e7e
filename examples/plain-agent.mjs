// A plain agent: it knows nothing of agent-autopsy. It plans with an LLM, asks for code, runs the
// code with python3, repairs it once, embeds its notes and writes a summary — through the
// official `openai` SDK, against the local fake LLM server (or OPENAI_BASE_URL).
//
// Run it as it is:      node examples/plain-agent.mjs
// Or, with zero code:   AGENT_AUTOPSY_DIR=runs/plain AGENT_AUTOPSY_CHILD_PROCESSES=true \
//                         node --import agent-autopsy/register examples/plain-agent.mjs
// and read runs/plain/Memory/logs/autopsy.md.

import OpenAI from 'openai';
import { startFakeLlmServer } from './fake-llm-server.mjs';
import steps from './plain-agent-steps.cjs';

const own = process.env.OPENAI_BASE_URL
  ? undefined
  : await startFakeLlmServer({
      // The provider is busy once: the agent waits as told and tries again.
      script: [{ kind: 'rate_limit', retryAfterMs: 20, match: { endpoint: 'chat.completions' } }],
    });
const client = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL ?? own.baseURL,
  apiKey: process.env.OPENAI_API_KEY ?? 'sk-fake-plain-agent-key',
  maxRetries: 0,
});

try {
  await steps.runPlainAgent(client, process.env.PLAIN_AGENT_MODEL ?? 'gpt-4o-mini');
} finally {
  await own?.close();
}
