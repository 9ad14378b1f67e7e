// The steps of the plain agent (plan, code in a stream, python3 runs, a repair, embeddings, a
// summary), shared by plain-agent.mjs and plain-agent.cjs. Each of those loads the `openai` SDK its
// own way — `import` or `require` — which is what the zero-code instrumentation has to cover.
'use strict';

const { execFile } = require('node:child_process');

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

async function runPlainAgent(client, model) {
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

module.exports = { runPlainAgent };
