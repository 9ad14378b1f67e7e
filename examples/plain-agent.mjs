// A plain agent: it knows nothing of agent-autopsy. It plans with an LLM, asks for code, runs the
// code with python3, repairs it once, embeds its notes and writes a summary — through the
// official `openai` SDK, against the local fake LLM server (or OPENAI_BASE_URL).
//
// Run it as it is:      node examples/plain-agent.mjs
// Or, with zero code:   AGENT_AUTOPSY_DIR=runs/plain AGENT_AUTOPSY_CHILD_PROCESSES=true \
//                         node --import agent-autopsy/register examples/plain-agent.mjs
// and read runs/plain/Memory/logs/autopsy.md.

import { execFile } from 'node:child_process';
import OpenAI from 'openai';
import { startFakeLlmServer } from './fake-llm-server.mjs';

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
const model = process.env.PLAIN_AGENT_MODEL ?? 'gpt-4o-mini';

function log(line) {
  process.stdout.write(`plain-agent: ${line}\n`);
}

async function withRetry(call, attempts = 3) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (error?.status !== 429 || attempt >= attempts) throw error;
      const waitMs = Number(error.headers?.get?.('retry-after-ms') ?? 1000);
      log(`rate limited, retrying in ${waitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

function runPython(code) {
  return new Promise((resolve) => {
    execFile('python3', ['-c', code], { timeout: 10_000 }, (error, stdout, stderr) => {
      resolve({ ok: !error, stdout: String(stdout).trim(), stderr: String(stderr).trim() });
    });
  });
}

function codeBlock(text) {
  const match = /```(?:python)?\n([\s\S]*?)```/.exec(text);
  return match ? match[1] : text;
}

async function main() {
  const plan = await withRetry(() =>
    client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'You plan data analysis tasks.' },
        { role: 'user', content: 'Plan how to average the measurements 1, 2, 3 and 4.' },
      ],
    }),
  );
  log(`plan: ${plan.choices[0].message.content}`);

  // The code arrives as a stream.
  const stream = await client.chat.completions.create({
    model,
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Write python code that averages a list.' }],
  });
  let reply = '';
  for await (const chunk of stream) reply += chunk.choices[0]?.delta?.content ?? '';
  const code = codeBlock(reply);

  // The first attempt has a typo; the agent repairs it and runs it again.
  const broken = code.replace('return sum(values)', 'return sum(values');
  const first = await runPython(broken);
  log(`first run ${first.ok ? 'worked' : 'failed'}`);
  const second = await runPython(code);
  log(`second run ${second.ok ? `printed ${second.stdout}` : 'failed'}`);

  const notes = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['average of 1..4', second.stdout] });
  log(`embedded ${notes.data.length} notes`);

  const summary = await client.responses.create({ model, input: `Summarize: the average is ${second.stdout}.` });
  log(`summary: ${summary.output_text}`);
}

try {
  await main();
} finally {
  await own?.close();
}
