// The agent-autopsy demo: a small math-modelling agent that runs into trouble on purpose.
//
//   npm run demo                      (= node examples/demo.mjs)
//   node examples/demo.mjs --out runs/my-run --locale zh-CN
//
// The agent answers a modelling question — "how will the city's population grow over the next
// twenty years?" — in four stages, the way an LLM math-modelling pipeline does:
//
//   stage1  Problem Analysis  understand the problem, look up references (embeddings), run a
//                             generated data-processing script
//   stage2  Modelling         ask three models for candidate approaches in parallel, pick one
//   stage3  Coding            generate the solver (through a burst of 429 rate limits), run it,
//                             and self-repair its syntax errors in three layers
//   stage4  Writing           draft the paper sections in parallel (one streamed), compile the
//                             paper (first overflowing the context window), repair a broken table
//
// It uses the real `openai` SDK against a local fake server it starts itself (no key, no network),
// really executes the generated code (python3 when present, otherwise node), and is fully
// deterministic: the same failures happen in the same places on every run, so the autopsy at the
// end always tells the same story.
//
// Injected failures (and what the report should therefore say):
//   stage3  4 × llm_call_error   HTTP 429 rate_limit_exceeded while generating the solver
//                                (the agent retries with backoff; the 5th attempt succeeds)
//   stage3  3 × code_exec_error  the generated solver does not compile (v1, v2, v3)
//   stage3  3 × syntax_error     tracked by the agent for each of those compile failures
//   stage3  autofix layer1 syntax  (rule-based colon fixer)   → fails: a '(' is still unclosed
//           autofix layer2 syntax  (LLM-assisted repair)      → fails: the repair adds `if p = K`
//           autofix layer3 syntax  (regenerate from spec)     → succeeds
//   stage4  1 × llm_call_error   HTTP 400 context_length_exceeded compiling the paper with the
//                                full simulation trace (the agent retries with a summary)
//   stage4  autofix layer1 format  (pad short table rows)     → fails: a row has an extra cell
//           autofix layer2 format  (LLM rewrites the table)   → succeeds
// → 5 llm_call_error, 3 code_exec_error, 3 syntax_error; autofix 5 attempts, 2 successes,
//   3 failures (40.0%); frequent_llm_errors, stage_specific_failures (stage3) and
//   frequent_syntax_errors fire, so the suggestions are P0 api_management, P1 code_generation
//   and P2 error_recovery.

import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import OpenAI from 'openai';
import { init, shutdown, stage, task, llmCall, codeExec, autofix, track, EventTypes } from 'agent-autopsy';
import { startFakeLlmServer } from './fake-llm-server.mjs';

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { out: undefined, locale: 'en' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--out') args.out = value();
    else if (flag === '--locale') args.locale = value();
    else if (flag === '--help' || flag === '-h') args.help = true;
    else throw new Error(`unknown argument: ${argv[i]}`);
  }
  if (args.out === '' || (args.out === undefined && argv.includes('--out'))) throw new Error('--out needs a directory');
  if (!['en', 'zh-CN'].includes(args.locale)) throw new Error(`--locale must be en or zh-CN, not ${args.locale}`);
  return args;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`demo: ${err.message}\nusage: node examples/demo.mjs [--out DIR] [--locale en|zh-CN]`);
  process.exit(2);
}
if (args.help) {
  console.log('usage: node examples/demo.mjs [--out DIR] [--locale en|zh-CN]');
  console.log('  --out DIR        run directory (default runs/demo-<timestamp>)');
  console.log('  --locale LOCALE  report language: en (default) or zh-CN');
  process.exit(0);
}

// e.g. runs/demo-20250124-103000-123 (UTC, with milliseconds so parallel runs do not collide)
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '');
const runDir = path.resolve(args.out ?? path.join('runs', `demo-${stamp}`));
const workDir = path.join(runDir, 'workspace'); // generated code, checkpoints, the paper
const logDir = path.join(runDir, 'Memory', 'logs');

// ---------------------------------------------------------------------------------------------
// Where generated code runs: python3 if it works here, otherwise node (same story, JS code).
// ---------------------------------------------------------------------------------------------

const LANGUAGE = detectPython() ? 'python' : 'javascript';

function detectPython() {
  if (process.env.DEMO_RUNTIME === 'node') return false;
  try {
    const r = spawnSync('python3', ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8', timeout: 5000 });
    return r.status === 0 && r.stdout.trim() === '3';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// What the "LLM" answers. Each agent request carries an `x-demo-step` header; the fake server's
// handler looks it up here. Code comes in the language the agent can run.
// ---------------------------------------------------------------------------------------------

const CODE = {
  python: {
    ext: 'py',
    data: [
      '# Summarise the census data (thousands of inhabitants).',
      'census = {2000: 100.0, 2005: 138.5, 2010: 180.2, 2015: 219.4, 2020: 251.7}',
      'years = sorted(census)',
      'rates = [(census[b] / census[a]) ** (1 / (b - a)) - 1 for a, b in zip(years, years[1:])]',
      'print(f"mean annual growth rate: {sum(rates) / len(rates):.4f}")',
      'print(f"latest population: {census[years[-1]]:.1f} thousand")',
    ],
    // v1: the solver as first generated — a missing ':' and an unclosed '('.
    v1: [
      '# Logistic growth: dP/dt = r * P * (1 - P / K), explicit Euler steps of one year.',
      'def simulate(p0, rate, capacity, years)',
      '    population = [p0]',
      '    for _ in range(years):',
      '        p = population[-1]',
      '        population.append(p + rate * p * (1 - p / capacity)',
      '    return population',
      '',
      'trajectory = simulate(251.7, 0.065, 600.0, 20)',
      'print(f"population in 2030: {trajectory[10]:.1f} thousand")',
      'print(f"population in 2040: {trajectory[-1]:.1f} thousand")',
    ],
    // v3: what the LLM-assisted repair returns — brackets fixed, but `=` where `>=` was meant.
    v3: [
      '# Logistic growth: dP/dt = r * P * (1 - P / K), explicit Euler steps of one year.',
      'def simulate(p0, rate, capacity, years):',
      '    population = [p0]',
      '    for _ in range(years):',
      '        p = population[-1]',
      '        if p = capacity:',
      '            break',
      '        population.append(p + rate * p * (1 - p / capacity))',
      '    return population',
      '',
      'trajectory = simulate(251.7, 0.065, 600.0, 20)',
      'print(f"population in 2030: {trajectory[10]:.1f} thousand")',
      'print(f"population in 2040: {trajectory[-1]:.1f} thousand")',
    ],
    // v4: regenerated from the specification — correct.
    v4: [
      '# Logistic growth: dP/dt = r * P * (1 - P / K), explicit Euler steps of one year.',
      'def simulate(p0, rate, capacity, years):',
      '    population = [p0]',
      '    for _ in range(years):',
      '        p = population[-1]',
      '        population.append(p + rate * p * (1 - p / capacity))',
      '    return population',
      '',
      'trajectory = simulate(251.7, 0.065, 600.0, 20)',
      'print(f"population in 2030: {trajectory[10]:.1f} thousand")',
      'print(f"population in 2040: {trajectory[-1]:.1f} thousand")',
    ],
  },
  javascript: {
    ext: 'mjs',
    data: [
      '// Summarise the census data (thousands of inhabitants).',
      'const census = { 2000: 100.0, 2005: 138.5, 2010: 180.2, 2015: 219.4, 2020: 251.7 };',
      'const years = Object.keys(census).map(Number).sort((a, b) => a - b);',
      'const rates = years.slice(1).map((b, i) => (census[b] / census[years[i]]) ** (1 / (b - years[i])) - 1);',
      'console.log(`mean annual growth rate: ${(rates.reduce((s, r) => s + r, 0) / rates.length).toFixed(4)}`);',
      'console.log(`latest population: ${census[years.at(-1)].toFixed(1)} thousand`);',
    ],
    // v1: a `for (` header without its ')' and an unclosed '(' in the update.
    v1: [
      '// Logistic growth: dP/dt = r * P * (1 - P / K), explicit Euler steps of one year.',
      'function simulate(p0, rate, capacity, years) {',
      '  const population = [p0];',
      '  for (let t = 0; t < years; t++ {',
      '    const p = population.at(-1);',
      '    population.push(p + rate * p * (1 - p / capacity);',
      '  }',
      '  return population;',
      '}',
      '',
      'const trajectory = simulate(251.7, 0.065, 600.0, 20);',
      'console.log(`population in 2030: ${trajectory[10].toFixed(1)} thousand`);',
      'console.log(`population in 2040: ${trajectory.at(-1).toFixed(1)} thousand`);',
    ],
    // v3: brackets fixed, but the repair left a stray closing brace.
    v3: [
      '// Logistic growth: dP/dt = r * P * (1 - P / K), explicit Euler steps of one year.',
      'function simulate(p0, rate, capacity, years) {',
      '  const population = [p0];',
      '  for (let t = 0; t < years; t++) {',
      '    const p = population.at(-1);',
      '    population.push(p + rate * p * (1 - p / capacity));',
      '  }}',
      '  return population;',
      '}',
      '',
      'const trajectory = simulate(251.7, 0.065, 600.0, 20);',
      'console.log(`population in 2030: ${trajectory[10].toFixed(1)} thousand`);',
      'console.log(`population in 2040: ${trajectory.at(-1).toFixed(1)} thousand`);',
    ],
    v4: [
      '// Logistic growth: dP/dt = r * P * (1 - P / K), explicit Euler steps of one year.',
      'function simulate(p0, rate, capacity, years) {',
      '  const population = [p0];',
      '  for (let t = 0; t < years; t++) {',
      '    const p = population.at(-1);',
      '    population.push(p + rate * p * (1 - p / capacity));',
      '  }',
      '  return population;',
      '}',
      '',
      'const trajectory = simulate(251.7, 0.065, 600.0, 20);',
      'console.log(`population in 2030: ${trajectory[10].toFixed(1)} thousand`);',
      'console.log(`population in 2040: ${trajectory.at(-1).toFixed(1)} thousand`);',
    ],
  },
}[LANGUAGE];

const fence = (lines) => ['```' + LANGUAGE, ...lines, '```'].join('\n');

// A results table as the writer model first drafts it: the 2030 row has one cell too many.
const BROKEN_TABLE = [
  '| Year | Observed (k) | Model (k) |',
  '|------|--------------|-----------|',
  '| 2000 | 100.0 | 100.0 |',
  '| 2010 | 180.2 |',
  '| 2020 | 251.7 | 251.7 |',
  '| 2030 | – | 348.3 | ±12.4 |',
  '| 2040 | – | 436.5 |',
].join('\n');

const FIXED_TABLE = [
  '| Year | Observed (k) | Model (k) | 95% band (k) |',
  '|------|--------------|-----------|--------------|',
  '| 2000 | 100.0 | 100.0 | – |',
  '| 2010 | 180.2 | – | – |',
  '| 2020 | 251.7 | 251.7 | – |',
  '| 2030 | – | 348.3 | ±12.4 |',
  '| 2040 | – | 436.5 | ±21.9 |',
].join('\n');

/** step → { content, delayMs }. Delays make the parallel calls overlap and finish out of order. */
const SCRIPT = {
  analyse: {
    delayMs: 40,
    content:
      'Problem: forecast the population P(t) of a mid-sized city for 2020–2040 from five census ' +
      'points. Growth is slowing, which suggests a saturating model. Variables: P(t) in thousands, ' +
      'growth rate r, carrying capacity K. Assumptions: no migration shocks, constant K.',
  },
  data_code: { delayMs: 20, content: fence(CODE.data) },
  candidate_exponential: { delayMs: 60, content: 'Exponential growth P(t) = P0·e^(rt): simple, but ignores saturation; overshoots after 2030.' },
  candidate_logistic: { delayMs: 20, content: 'Logistic growth dP/dt = rP(1 − P/K): captures the slowing growth; fit r ≈ 0.065, K ≈ 600k.' },
  candidate_arima: { delayMs: 40, content: 'ARIMA(1,1,0) on the census series: needs more than five points to be reliable.' },
  select_model: { delayMs: 25, content: 'Selected: logistic growth (r = 0.065, K = 600 thousand), solved by explicit Euler steps.' },
  codegen: { delayMs: 30, content: fence(CODE.v1) },
  repair: { delayMs: 30, content: fence(CODE.v3) },
  regenerate: { delayMs: 30, content: fence(CODE.v4) },
  section_abstract: {
    delayMs: 30,
    content:
      'Abstract. We model the population of a mid-sized city with a logistic growth law fitted to ' +
      'five census points and forecast about 348 thousand inhabitants by 2030 and about 437 thousand ' +
      'by 2040, approaching a carrying capacity of 600 thousand.',
  },
  section_model: { delayMs: 50, content: 'Model. dP/dt = rP(1 − P/K) with r = 0.065 per year and K = 600 thousand, integrated with yearly Euler steps.' },
  section_results: { delayMs: 20, content: `Results.\n\n${BROKEN_TABLE}` },
  compile_paper: { delayMs: 40, content: '# Population growth of a mid-sized city, 2020–2040\n\n(compiled paper)' },
  fix_table: { delayMs: 25, content: FIXED_TABLE },
};

// The "provider" misbehaves deterministically: the first four solver requests hit a rate limit.
const RATE_LIMITED_CODEGEN_ATTEMPTS = 4;
let codegenRequests = 0;

function scenario(request) {
  const step = request.headers['x-demo-step'];
  const entry = SCRIPT[step];
  if (!entry) return undefined; // unknown step: the server's default reply
  if (step === 'codegen' && ++codegenRequests <= RATE_LIMITED_CODEGEN_ATTEMPTS) {
    // retry-after says 1 s as the real API would; retry-after-ms keeps the demo fast.
    return { status: 429, retryAfter: 1, retryAfterMs: 20, delayMs: 10 };
  }
  return { content: entry.content, delayMs: entry.delayMs };
}

// ---------------------------------------------------------------------------------------------
// Agent helpers
// ---------------------------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (line) => console.log(line);

let client; // the OpenAI client, created once the fake server is up

/** One chat completion as one llm span; resolves to the reply text. */
function chat(step, { model = 'gpt-4o', system = 'You are a careful mathematical-modelling assistant.', prompt, stream = false, attempt } = {}) {
  // prompt_length as in the original tracker's llm_call_start events (the content itself is not logged)
  const attrs = { model, provider: 'openai', prompt_length: system.length + prompt.length, ...(attempt ? { attempt } : {}) };
  return llmCall(step, attrs, async (call) => {
    const messages = [
      { role: 'system', content: system },
      { role: 'user', content: prompt },
    ];
    const headers = { 'x-demo-step': step };
    if (!stream) {
      const r = await client.chat.completions.create({ model, messages }, { headers });
      call.setUsage({ inputTokens: r.usage.prompt_tokens, outputTokens: r.usage.completion_tokens });
      return r.choices[0].message.content;
    }
    // Streamed: collect the deltas; the usage arrives in the last chunk.
    const s = await client.chat.completions.create(
      { model, messages, stream: true, stream_options: { include_usage: true } },
      { headers },
    );
    let text = '';
    for await (const chunk of s) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) call.setUsage({ inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens });
    }
    return text;
  });
}

/** Retry transient provider errors with exponential backoff; each failed attempt is its own failed llm span. */
async function withRetry(label, maxAttempts, attemptFn) {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await attemptFn(attempt);
      if (attempt > 1) {
        track(EventTypes.ERROR_RECOVERY, { strategy: 'exponential_backoff', operation: label, failed_attempts: attempt - 1 }, 'WARNING');
      }
      return result;
    } catch (err) {
      const transient = err instanceof OpenAI.RateLimitError || err instanceof OpenAI.InternalServerError || err instanceof OpenAI.APIConnectionError;
      if (!transient || attempt >= maxAttempts) throw err;
      const hinted = Number(err.headers?.get?.('retry-after-ms'));
      const wait = Math.min(200, Math.max(Number.isFinite(hinted) ? hinted : 0, 10 * 2 ** attempt));
      say(`    ✗ ${label} attempt ${attempt}: ${err.status} ${err.constructor.name} — retrying in ${wait} ms`);
      await sleep(wait);
    }
  }
}

/** The code block of a reply. */
function extractCode(reply) {
  const m = /```[\w-]*\n([\s\S]*?)```/.exec(reply);
  return (m ? m[1] : reply).replace(/\s+$/, '') + '\n';
}

/**
 * An error raised by generated code. Each runtime error class gets its own subclass with the same
 * name (SyntaxError, ZeroDivisionError, …), so the span's error type reads like the runtime's.
 */
class GeneratedCodeError extends Error {}
const errorClasses = new Map();

function generatedCodeError(errorType, message, details) {
  let ErrorClass = errorClasses.get(errorType);
  if (!ErrorClass) {
    ErrorClass = { [errorType]: class extends GeneratedCodeError {} }[errorType];
    errorClasses.set(errorType, ErrorClass);
  }
  const err = new ErrorClass(message);
  err.name = errorType;
  return Object.assign(err, { errorType, ...details });
}

function runProcess(cmd, argv, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Write generated code to the workspace and run it for real. The outcome (exit code, stderr tail,
 * command) goes on the code_exec span through `exec.setResult`; a failure throws a GeneratedCodeError.
 */
async function runGenerated(fileName, code, exec) {
  const file = path.join(workDir, fileName);
  await writeFile(file, code);
  const [cmd, argv] = LANGUAGE === 'python' ? ['python3', [file]] : [process.execPath, [file]];
  const r = await runProcess(cmd, argv);
  exec.setResult({ exitCode: r.code, stderr: r.stderr, command: `${LANGUAGE === 'python' ? 'python3' : 'node'} workspace/${fileName}` });
  if (r.code === 0) return r.stdout.trim();
  // Python prints the error class last, node right after the source excerpt: take the first such line.
  const lines = r.stderr.split('\n');
  const errorLine = lines.find((l) => /^[A-Z]\w*(Error|Exception)\b/.test(l)) ?? lines.filter(Boolean).at(-1) ?? `exit code ${r.code}`;
  const errorType = /^([A-Z]\w*(?:Error|Exception))/.exec(errorLine)?.[1] ?? 'RuntimeError';
  const line = Number(/line (\d+)/.exec(r.stderr)?.[1] ?? /:(\d+)\n/.exec(r.stderr)?.[1]) || undefined;
  throw generatedCodeError(errorType, `${errorLine.trim()} (${fileName}${line ? `, line ${line}` : ''})`, {
    file: fileName,
    line,
    exitCode: r.code,
  });
}

/**
 * Run one version of the solver as a code_exec span. A failure is recorded by the span (and, for
 * syntax errors, as a seed-style `syntax_error` event) and handed back instead of thrown, because
 * the agent deals with it.
 */
async function tryRun(stageId, baseName, code) {
  const fileName = `${baseName}.${CODE.ext}`;
  try {
    const output = await codeExec(fileName, { language: LANGUAGE, file: fileName }, (exec) => runGenerated(fileName, code, exec));
    say(`    ✓ ran ${fileName}: ${output.split('\n').at(-1)}`);
    return { ok: true, output };
  } catch (err) {
    if (!(err instanceof GeneratedCodeError)) throw err;
    say(`    ✗ ran ${fileName}: ${err.message}`);
    if (err.errorType === 'SyntaxError' || err.errorType === 'IndentationError') {
      track('syntax_error', { stage: stageId, error: err.message, file: fileName, line: err.line, language: LANGUAGE }, 'ERROR');
    }
    return { ok: false, error: err };
  }
}

/** Layer-1 syntax fixer: rule-based, no LLM. */
function ruleBasedSyntaxFix(code) {
  if (LANGUAGE === 'python') {
    // Add the ':' a compound statement header is missing.
    return code.replace(/^(\s*(?:def|class|for|while|if|elif|else|try|except|with)\b[^\n:]*?)\s*$/gm, '$1:');
  }
  // Close a `for (` header that runs into its `{`.
  return code.replace(/^(\s*for\s*\([^)\n]*?)\s*\{\s*$/gm, '$1) {');
}

/** Splits a Markdown table into rows of cells. */
function tableRows(table) {
  return table.trim().split('\n').map((row) => row.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim()));
}

/** A table is well-formed when every row has as many cells as the header. */
function tableIsValid(table) {
  const rows = tableRows(table);
  return rows.every((r) => r.length === rows[0].length);
}

/** Layer-1 format fixer: pad short rows. It cannot decide what an extra cell means. */
function padTableRows(table) {
  const rows = tableRows(table);
  const width = rows[0].length;
  return rows
    .map((r, i) => (i === 1 ? r.map(() => '---') : r.length < width ? [...r, ...Array(width - r.length).fill('–')] : r))
    .map((r) => `| ${r.join(' | ')} |`)
    .join('\n');
}

async function saveCheckpoint(stageId, state) {
  const file = path.join(workDir, 'checkpoints', `${stageId}.json`);
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`);
  track(EventTypes.CHECKPOINT_SAVE, { stage: stageId, path: path.relative(runDir, file) });
}

// ---------------------------------------------------------------------------------------------
// The pipeline
// ---------------------------------------------------------------------------------------------

const QUESTION =
  'A mid-sized city counted 100.0, 138.5, 180.2, 219.4 and 251.7 thousand inhabitants in the ' +
  'censuses of 2000, 2005, 2010, 2015 and 2020. Build a mathematical model of its population and ' +
  'forecast it for 2030 and 2040.';

async function runAgent() {
  const memory = { question: QUESTION };

  await stage('stage1', { name: 'Problem Analysis' }, async () => {
    say('▶ stage1 Problem Analysis');
    await task('problem_understanding', async () => {
      memory.analysis = await chat('analyse', { prompt: `Analyse this modelling problem:\n${QUESTION}` });
      say('    ✓ problem analysed');
    });

    await task('literature_search', async () => {
      const references = [
        'Verhulst (1838): logistic growth of populations',
        'Malthus (1798): exponential population growth',
        'Box & Jenkins (1970): ARIMA time-series forecasting',
      ];
      const r = await llmCall('embed_references', { model: 'text-embedding-3-small', provider: 'openai', operation: 'embeddings' }, async (call) => {
        const res = await client.embeddings.create(
          { model: 'text-embedding-3-small', input: [QUESTION, ...references], encoding_format: 'float' },
          { headers: { 'x-demo-step': 'embed_references' } },
        );
        call.setUsage({ inputTokens: res.usage.prompt_tokens, outputTokens: 0 });
        return res;
      });
      const [q, ...docs] = r.data.map((d) => d.embedding);
      const scores = docs.map((d) => d.reduce((s, x, i) => s + x * q[i], 0));
      memory.reference = references[scores.indexOf(Math.max(...scores))];
      say(`    ✓ ${references.length} references ranked`);
    });

    await task('data_processing', async () => {
      const reply = await chat('data_code', { prompt: `Write ${LANGUAGE} code that summarises the census data:\n${QUESTION}` });
      const run = await tryRun('stage1', 'census_summary', extractCode(reply));
      memory.dataSummary = run.ok ? run.output : 'data summary unavailable';
    });
    await saveCheckpoint('stage1', memory);
  });

  await stage('stage2', { name: 'Modelling' }, async () => {
    say('▶ stage2 Modelling');
    await task('model_candidates', async () => {
      // Three proposals at once; they finish out of order (60, 20, 40 ms).
      const candidates = await Promise.all([
        chat('candidate_exponential', { model: 'gpt-4o', prompt: `Propose an exponential model.\n${memory.analysis}` }),
        chat('candidate_logistic', { model: 'gpt-4o-mini', prompt: `Propose a logistic model.\n${memory.analysis}` }),
        chat('candidate_arima', { model: 'gpt-4o', prompt: `Propose a time-series model.\n${memory.analysis}` }),
      ]);
      memory.candidates = candidates;
      say(`    ✓ ${candidates.length} candidate models proposed in parallel`);
    });
    await task('model_selection', async () => {
      memory.model = await chat('select_model', { prompt: `Pick the best model:\n${memory.candidates.join('\n')}` });
      say(`    ✓ ${memory.model}`);
    });
    await saveCheckpoint('stage2', memory);
  });

  await stage('stage3', { name: 'Coding' }, async () => {
    say('▶ stage3 Coding');
    let code;
    await task('code_generation', async () => {
      const reply = await withRetry('generate_solver', 6, (attempt) =>
        chat('codegen', { attempt, prompt: `Write ${LANGUAGE} code that solves:\n${memory.model}` }),
      );
      code = extractCode(reply);
      say('    ✓ solver generated');
    });

    await task('code_execution', async () => {
      let run = await tryRun('stage3', 'solution_v1', code);

      // Layer 1: a rule-based fixer, cheap and local.
      if (!run.ok) {
        await autofix('rule_based_syntax_fix', { layer: 1, type: 'syntax' }, async () => {
          code = ruleBasedSyntaxFix(code);
          run = await tryRun('stage3', 'solution_v2', code);
          return run.ok;
        });
      }
      // Layer 2: ask the LLM to repair the code, showing it the error.
      if (!run.ok) {
        await autofix('llm_syntax_repair', { layer: 2, type: 'syntax' }, async () => {
          const reply = await chat('repair', { prompt: `Fix this ${LANGUAGE} code.\nError: ${run.error.message}\n${code}` });
          code = extractCode(reply);
          run = await tryRun('stage3', 'solution_v3', code);
          return run.ok;
        });
      }
      // Layer 3: regenerate the solver from the specification with a stricter prompt.
      if (!run.ok) {
        await autofix('regenerate_from_spec', { layer: 3, type: 'syntax' }, async () => {
          const reply = await chat('regenerate', {
            prompt: `Write ${LANGUAGE} code that solves the model below. It must compile; check every bracket and operator.\n${memory.model}`,
          });
          code = extractCode(reply);
          run = await tryRun('stage3', 'solution_v4', code);
          return run.ok;
        });
      }
      memory.results = run.ok ? run.output : 'no results: the solver never ran';
    });
    await saveCheckpoint('stage3', memory);
  });

  await stage('stage4', { name: 'Writing' }, async () => {
    say('▶ stage4 Writing');
    let sections;
    await task('draft_sections', async () => {
      // Three writers in parallel; the abstract is streamed.
      sections = await Promise.all([
        chat('section_abstract', { stream: true, prompt: `Write the abstract (summary) of the paper.\n${memory.model}\n${memory.results}` }),
        chat('section_model', { prompt: `Write the model section.\n${memory.model}` }),
        chat('section_results', { prompt: `Write the results section with a table.\n${memory.results}` }),
      ]);
      say(`    ✓ ${sections.length} sections drafted in parallel (abstract streamed)`);
    });

    let paper;
    await task('compile_paper', async () => {
      // The first attempt sends the whole simulation trace along: it does not fit in the window.
      const trace = Array.from({ length: 1200 }, (_, i) => `trace ${String(i).padStart(4, '0')}: year=${2020 + (i % 21)} p=${(251.7 + i * 0.1).toFixed(1)} dp=${(0.065 * (1 - i / 1200)).toFixed(5)}`).join('\n');
      const body = sections.join('\n\n');
      try {
        paper = await chat('compile_paper', { prompt: `Compile the paper.\n${body}\n\nFull simulation trace:\n${trace}` });
      } catch (err) {
        if (!(err instanceof OpenAI.BadRequestError && err.code === 'context_length_exceeded')) throw err;
        say(`    ✗ compile_paper: ${err.status} context_length_exceeded — retrying with a summarised trace`);
        track(EventTypes.ERROR_RECOVERY, { strategy: 'truncate_context', operation: 'compile_paper', error: err.message }, 'WARNING');
        const summary = trace.split('\n').filter((_, i) => i % 200 === 0).join('\n');
        paper = await chat('compile_paper', { prompt: `Compile the paper.\n${body}\n\nSimulation trace (every 200th line):\n${summary}` });
      }
      say('    ✓ paper compiled');
    });

    await task('format_tables', async () => {
      let table = /(\|.*\|\n?)+/.exec(sections[2])?.[0].trim() ?? '';
      if (!tableIsValid(table)) {
        const padded = await autofix('pad_table_rows', { layer: 1, type: 'format' }, async () => {
          const candidate = padTableRows(table);
          if (!tableIsValid(candidate)) return false; // the 2030 row has an extra cell
          table = candidate;
          return true;
        });
        say(`    ${padded ? '✓' : '✗'} layer-1 table fix ${padded ? 'worked' : 'failed (a row has an extra cell)'}`);
      }
      if (!tableIsValid(table)) {
        const rewritten = await autofix('llm_table_rewrite', { layer: 2, type: 'format' }, async () => {
          const candidate = (await chat('fix_table', { model: 'gpt-4o-mini', prompt: `Rewrite this Markdown table so that every row has the same number of cells:\n${table}` })).trim();
          if (!tableIsValid(candidate)) return false;
          table = candidate;
          return true;
        });
        say(`    ${rewritten ? '✓' : '✗'} layer-2 table rewrite ${rewritten ? 'worked' : 'failed'}`);
      }
      paper = `${paper}\n\n${sections.join('\n\n').replace(/(\|.*\|\n?)+/, `${table}\n`)}\n`;
      await writeFile(path.join(workDir, 'paper.md'), paper);
    });
    await saveCheckpoint('stage4', { ...memory, paper: 'workspace/paper.md' });
  });
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const LABELS = {
  en: {
    title: 'Autopsy summary',
    totalFailures: 'Total failures',
    mostCommon: 'Most common failure',
    mostStage: 'Most problematic stage',
    autofix: 'Autofix success rate',
    attempts: 'attempts',
    suggestions: 'Top fix suggestions',
    none: '(none)',
    diagnoses: 'Root causes',
    runDir: 'Run directory',
    reportJson: 'Report (JSON)',
    reportMd: 'Autopsy (Markdown)',
    llm: 'LLM requests',
    failed: 'failed',
  },
  'zh-CN': {
    title: '尸检摘要',
    totalFailures: '失败总数',
    mostCommon: '最常见的失败',
    mostStage: '问题最多的阶段',
    autofix: '自愈成功率',
    attempts: '次尝试',
    suggestions: '主要修复建议',
    none: '（无）',
    diagnoses: '根本原因',
    runDir: '运行目录',
    reportJson: '报告 (JSON)',
    reportMd: '尸检报告 (Markdown)',
    llm: 'LLM 请求',
    failed: '失败',
  },
}[args.locale];

function printSummary(report, fake) {
  const s = report.summary ?? {};
  const a = report.autofix_statistics ?? {};
  const llmFailed = fake.requests.filter((r) => r.status !== 200).length;
  say('');
  say(`══ ${LABELS.title} ══`);
  say(`${LABELS.totalFailures}: ${s.total_failures}`);
  say(`${LABELS.mostCommon}: ${s.most_common_failure}`);
  say(`${LABELS.mostStage}: ${s.most_problematic_stage}`);
  say(`${LABELS.autofix}: ${s.autofix_success_rate} (${a.successful_fixes ?? 0}/${s.total_autofix_attempts ?? 0} ${LABELS.attempts})`);
  say(`${LABELS.llm}: ${fake.requests.length} (${llmFailed} ${LABELS.failed})`);
  const diagnoses = Array.isArray(report.diagnoses) ? report.diagnoses.slice(0, 3) : [];
  if (diagnoses.length > 0) {
    say(`${LABELS.diagnoses}:`);
    for (const d of diagnoses) say(`  [${d.severity}] ${d.id}: ${d.title} (×${d.evidence?.count ?? '?'})`);
  }
  say(`${LABELS.suggestions}:`);
  const suggestions = report.fix_suggestions ?? [];
  if (suggestions.length === 0) say(`  ${LABELS.none}`);
  for (const f of suggestions.slice(0, 3)) {
    say(`  [${f.priority}] ${f.category}: ${f.suggestion}`);
    for (const d of f.details ?? []) say(`       - ${d}`);
  }
  // The library may have been set up before init() (e.g. `node --import agent-autopsy/register`
  // with AGENT_AUTOPSY_DIR); the report says where the files really went.
  const dir = path.resolve(report.run?.output_dir ?? runDir);
  say('');
  say(`${LABELS.runDir}: ${dir}`);
  say(`${LABELS.reportJson}: ${path.join(dir, 'Memory', 'logs', 'latent_analysis_report.json')}`);
  say(`${LABELS.reportMd}: ${path.join(dir, 'Memory', 'logs', 'autopsy.md')}`);
}

// 0700 as the library makes its own directories: the run directory is made here first.
await mkdir(path.join(workDir, 'checkpoints'), { recursive: true, mode: 0o700 });

const fake = await startFakeLlmServer({ handler: scenario, contextWindow: 8192 });
client = new OpenAI({
  baseURL: fake.baseURL,
  apiKey: 'sk-demo-not-a-real-key', // the fake accepts any key; agent-autopsy must never log it
  maxRetries: 0, // the agent retries itself, so each failed attempt is visible as its own llm span
  timeout: 10_000,
});

await init({ outputDir: runDir, serviceName: 'math-modelling-agent', locale: args.locale });
say(`agent-autopsy demo — math-modelling agent (code runs with ${LANGUAGE === 'python' ? 'python3' : 'node'})`);
say(`fake LLM server: ${fake.baseURL}`);

let crashed = false;
try {
  await runAgent();
} catch (err) {
  // Every failure the demo injects is handled above; anything else is a real bug.
  crashed = true;
  console.error('demo agent failed unexpectedly:', err);
} finally {
  await fake.close();
}

let report = await shutdown();
if (!report) {
  // Older builds may resolve to undefined: read the report the library wrote.
  report = await readFile(path.join(logDir, 'latent_analysis_report.json'), 'utf8').then(JSON.parse, () => undefined);
}
if (report) {
  printSummary(report, fake);
} else {
  console.error(`demo: no report was written to ${logDir}`);
  process.exitCode = 1;
}
if (crashed) process.exitCode = 1;
