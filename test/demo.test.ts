import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode } from './helpers/childProcess';
import { logPath, readAutofixLog, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// `npm run demo` end to end, in a child process: the math-modelling agent against its own fake
// OpenAI-compatible server, with the failures it injects showing up exactly in the autopsy.

describe('the demo agent', () => {
  it('runs end to end, prints where the autopsy is, and the autopsy finds the injected failures', async () => {
    const out = tempRunDir('autopsy-demo-');
    const result = await runNode(join(REPO_ROOT, 'examples', 'demo.mjs'), { args: ['--out', out], timeoutMs: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Run directory: ${out}`);
    expect(result.stdout).toContain(logPath(out, 'latent_analysis_report.json'));
    for (const file of ['execution_tracker.json', 'execution_tracker_readable.txt', 'autofix_log.json', 'latent_analysis_report.json', 'autopsy.md', 'autopsy.html']) {
      expect(existsSync(logPath(out, file)), file).toBe(true);
    }
    const report = readReport(out);
    expect(report.failure_analysis.total_failures).toBe(11);
    expect(report.failure_analysis.failures_by_type).toEqual({ llm_call_error: 5, code_exec_error: 3, syntax_error: 3 });
    expect(report.failure_analysis.failures_by_stage).toEqual({ stage3: 10, stage4: 1 });
    expect(report.failure_analysis.failure_patterns.map((p) => p.pattern)).toEqual(['frequent_llm_errors', 'stage_specific_failures', 'frequent_syntax_errors']);
    expect(report.fix_suggestions.map((s) => s.priority)).toEqual(['P0', 'P1', 'P2']);
    expect(report.summary).toEqual({
      total_failures: 11,
      total_autofix_attempts: 5,
      autofix_success_rate: '40.0%',
      most_common_failure: 'llm_call_error',
      most_problematic_stage: 'stage3',
    });
    expect(readAutofixLog(out)).toEqual({
      type: 'autofix_log',
      total_attempts: 5,
      successful_fixes: 2,
      failed_fixes: 3,
      fixes_by_type: { syntax: 3, format: 2 },
      fixes_by_layer: { layer1: 2, layer2: 2, layer3: 1 },
    });
    expect(report.llm_usage).toMatchObject({ calls: 20, errors: 5, errors_by_status: { '429': 4, '400': 1 } });
    expect(report.stages.map((stage) => [stage.stage, stage.outcome])).toEqual([
      ['stage1', 'ok'],
      ['stage2', 'ok'],
      ['stage3', 'ok'],
      ['stage4', 'ok'],
    ]);
    expect(report.exit).toMatchObject({ reason: 'shutdown' });
    expect(report.unfinished).toEqual([]);
    // Parallel calls inside one stage were attributed to it.
    const events = readTrackerDocument(out).events;
    const stage2Calls = events.filter((event) => event.type === 'llm_call_end' && event.data.stage === 'stage2');
    expect(stage2Calls.length).toBeGreaterThanOrEqual(3);
    expect(events.filter((event) => event.type.startsWith('llm_call') && event.data.stage === undefined)).toEqual([]);
  });
});
