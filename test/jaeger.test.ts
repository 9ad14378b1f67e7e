import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, runNode, writeScript } from './helpers/childProcess';
import { tempRunDir } from './helpers/tempDirs';

/**
 * docker-compose.yml is checked here (there is no Docker engine in CI), and, when JAEGER_URL
 * points at a running Jaeger (e.g. `docker compose up -d jaeger`, JAEGER_URL=http://localhost:16686),
 * a run's trace is looked up through Jaeger's HTTP query API.
 */

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile_inline?: string };
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: string[] | Record<string, unknown>;
  command?: string[] | string;
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };

  it('starts Jaeger all-in-one with OTLP enabled, the UI on 16686 and OTLP on 4317/4318', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['demo', 'jaeger']);
    const jaeger = compose.services.jaeger;
    expect(jaeger.image).toMatch(/^jaegertracing\/all-in-one(:[\w.-]+)?$/);
    expect(jaeger.environment).toEqual({ COLLECTOR_OTLP_ENABLED: 'true' });
    expect(jaeger.ports).toEqual(['16686:16686', '4317:4317', '4318:4318']);
  });

  it('runs the demo (npm run demo) against Jaeger over OTLP/HTTP, built from this repository', () => {
    const demo = compose.services.demo;
    expect(demo.environment).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' });
    expect(demo.depends_on).toEqual(['jaeger']);
    const command = Array.isArray(demo.command) ? demo.command.join(' ') : String(demo.command);
    expect(command).toMatch(/&& npm run demo$/);
    expect(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts.demo).toBe('node examples/demo.mjs');

    expect(demo.build?.context).toBe('.');
    const dockerfile = demo.build?.dockerfile_inline ?? '';
    expect(dockerfile).toMatch(/^FROM node:20/);
    // Everything the image copies exists, and the build runs the same bundler as npm run build.
    const copied = [...dockerfile.matchAll(/^COPY (.+) \S+$/gm)].flatMap((match) => match[1].split(' '));
    expect(copied).toEqual(['package.json', 'package-lock.json', 'tsconfig.json', 'tsup.config.ts', 'src', 'exporters', 'analyzers', 'examples']);
    for (const path of copied) expect(existsSync(join(REPO_ROOT, path)), path).toBe(true);
    expect(dockerfile).toContain('RUN npx tsup');
  });
});

const JAEGER_URL = process.env.JAEGER_URL?.replace(/\/+$/, '');

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; spanID: string }>;
  tags: Array<{ key: string; value: unknown }>;
  logs: Array<{ fields: Array<{ key: string; value: unknown }> }>;
  processID: string;
}

describe.skipIf(!JAEGER_URL)('a real Jaeger (JAEGER_URL)', () => {
  it('shows the run as one trace: stage → task → llm/code_exec, errors marked, service.name set', async () => {
    const jaeger = new URL(JAEGER_URL!);
    const otlp = process.env.JAEGER_OTLP_ENDPOINT ?? `${jaeger.protocol}//${jaeger.hostname}:4318`;
    const service = `autopsy-test-${process.pid}-${Date.now()}`;
    const script = writeScript(`import { init, stage, task, llmCall, codeExec } from 'agent-autopsy';
init();
await stage('stage1', async () => {
  await task('data_processing', async () => {
    await llmCall({ model: 'gpt-4o', provider: 'openai' }, async (call) => { call.setUsage({ inputTokens: 12, outputTokens: 7 }); });
    await codeExec({ language: 'python' }, async (exec) => { exec.setResult({ exitCode: 1, stderr: 'SyntaxError' }); exec.fail('exit code 1'); });
  });
});
`);
    const runDir = tempRunDir('autopsy-jaeger-');
    const result = await runNode(script, { env: { AGENT_AUTOPSY_DIR: runDir, OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_SERVICE_NAME: service } });
    expect(result.code).toBe(0);

    // Jaeger indexes asynchronously: ask until the trace is complete (bounded).
    let spans: JaegerSpan[] = [];
    let processes: Record<string, { serviceName: string }> = {};
    for (let attempt = 0; attempt < 60 && spans.length < 4; attempt++) {
      const response = await fetch(`${JAEGER_URL}/api/traces?service=${encodeURIComponent(service)}&limit=5`);
      if (response.ok) {
        const body = (await response.json()) as { data?: Array<{ spans: JaegerSpan[]; processes: typeof processes }> };
        spans = body.data?.[0]?.spans ?? [];
        processes = body.data?.[0]?.processes ?? {};
      }
      if (spans.length < 4) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const byName = new Map(spans.map((span) => [span.operationName, span]));
    expect([...byName.keys()].sort()).toEqual(['chat gpt-4o', 'code_exec python', 'stage stage1', 'task data_processing']);
    const parent = (name: string) => byName.get(name)!.references.find((ref) => ref.refType === 'CHILD_OF')?.spanID;
    expect(parent('task data_processing')).toBe(byName.get('stage stage1')!.spanID);
    expect(parent('chat gpt-4o')).toBe(byName.get('task data_processing')!.spanID);
    expect(parent('code_exec python')).toBe(byName.get('task data_processing')!.spanID);
    const tags = (name: string) => Object.fromEntries(byName.get(name)!.tags.map((tag) => [tag.key, tag.value]));
    expect(tags('stage stage1')).toMatchObject({ 'autopsy.kind': 'stage', 'autopsy.event.type': 'stage_start', 'autopsy.event.end_type': 'stage_end' });
    // Jaeger shows an OTLP span's kind as the span.kind tag: an LLM call is a CLIENT span.
    expect(tags('chat gpt-4o')).toMatchObject({ 'autopsy.kind': 'llm', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 12, 'span.kind': 'client' });
    expect(tags('code_exec python')).toMatchObject({ error: true, 'autopsy.event.end_type': 'code_exec_error' });
    const logs = byName.get('chat gpt-4o')!.logs.map((log) => log.fields.find((field) => field.key === 'event')?.value);
    expect(logs).toEqual(['llm_call_start', 'llm_call_end']);
    expect(new Set(spans.map((span) => processes[span.processID]?.serviceName))).toEqual(new Set([service]));
  });
});
