import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExecutionTracker, LatentReporter, init, shutdown, stage, llmCall, track } from '../src/index';
import { logPath, readAutofixLog, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

const TIMESTAMP = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/g;

/** The readable log with times replaced, so it can be compared whole. */
function normalizedReadable(dir: string): string {
  return readFileSync(logPath(dir, 'execution_tracker_readable.txt'), 'utf8')
    .replace(TIMESTAMP, 'T')
    .replace(/\(\+\d+\.\d{3}s\)/g, '(+E)')
    .replace(/'duration': [\d.e-]+/g, "'duration': D")
    .replace(/'age_seconds': [\d.e-]+/g, "'age_seconds': A");
}

describe('execution_tracker_readable.txt', () => {
  it('is one `[timestamp] (+elapsed) [LEVEL] type: {python repr}` line per event', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    track('stage_start', { stage: 'stage1', name: 'Problem Analysis' });
    track('llm_call_start', { model: 'gpt-4o', prompt_length: 1500, stage: 'stage1' });
    track('checkpoint_save', { ok: true, skipped: false, note: null, ratio: 0.25, list: [1, 'a'], nested: { k: "it's" } });
    track('task_error', { error: 'line one\nline "two"', path: 'C:\\tmp' }, 'ERROR');
    track('custom', {}, 'WARNING');
    await stage('stage2', async () => llmCall({ model: 'gpt-4o' }, async () => 1));
    await shutdown();
    expect(normalizedReadable(dir)).toBe(
      [
        "[T] (+E) [INFO] stage_start: {'stage': 'stage1', 'name': 'Problem Analysis'}",
        "[T] (+E) [INFO] llm_call_start: {'model': 'gpt-4o', 'prompt_length': 1500, 'stage': 'stage1'}",
        `[T] (+E) [INFO] checkpoint_save: {'ok': True, 'skipped': False, 'note': None, 'ratio': 0.25, 'list': [1, 'a'], 'nested': {'k': "it's"}}`,
        `[T] (+E) [ERROR] task_error: {'error': 'line one\\nline "two"', 'path': 'C:\\\\tmp'}`,
        '[T] (+E) [WARNING] custom: {}',
        "[T] (+E) [INFO] stage_start: {'stage': 'stage2'}",
        "[T] (+E) [INFO] llm_call_start: {'model': 'gpt-4o', 'stage': 'stage2'}",
        "[T] (+E) [INFO] llm_call_end: {'model': 'gpt-4o', 'stage': 'stage2', 'duration': D}",
        "[T] (+E) [INFO] stage_end: {'stage': 'stage2', 'duration': D}",
        // Spans opened by track() and never ended are recorded as unfinished at shutdown, oldest first.
        "[T] (+E) [WARNING] stage_unfinished: {'stage': 'stage1', 'name': 'Problem Analysis', 'unfinished': True, 'age_seconds': A}",
        "[T] (+E) [WARNING] llm_call_unfinished: {'model': 'gpt-4o', 'prompt_length': 1500, 'stage': 'stage1', 'unfinished': True, 'age_seconds': A}",
        '',
      ].join('\n'),
    );
  });
});

describe('execution_tracker.json', () => {
  it('is the seed document laid out one event per line, closed at shutdown', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    track('stage_start', { stage: 'stage1' });
    track('stage_end', { stage: 'stage1', duration: 1.5 });
    await shutdown();
    const text = readFileSync(logPath(dir, 'execution_tracker.json'), 'utf8');
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^\{"start_time": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", "events": \[$/);
    expect(lines[1]).toMatch(/^\{"timestamp":"[^"]+","elapsed_seconds":[\d.e-]+,"type":"stage_start","level":"INFO","data":\{"stage":"stage1"\},"trace_id":"[0-9a-f]{32}","span_id":"[0-9a-f]{16}"\},$/);
    expect(lines[2]).toMatch(/^\{"timestamp":"[^"]+","elapsed_seconds":[\d.e-]+,"type":"stage_end","level":"INFO","data":\{"stage":"stage1","duration":1.5\},"trace_id":"[0-9a-f]{32}","span_id":"[0-9a-f]{16}"\}$/);
    expect(lines.slice(3)).toEqual(['], "total_events": 2}', '']);
    const doc = readTrackerDocument(dir);
    expect(Object.keys(doc)).toEqual(['start_time', 'events', 'total_events']);
    expect(Object.keys(doc.events[0]).slice(0, 5)).toEqual(['timestamp', 'elapsed_seconds', 'type', 'level', 'data']);
    expect(doc.total_events).toBe(2);
    expect(doc.events[1].elapsed_seconds).toBeGreaterThanOrEqual(doc.events[0].elapsed_seconds);
  });

  it('an empty run is still a valid document', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    await shutdown();
    expect(readTrackerDocument(dir)).toEqual({ start_time: expect.any(String), events: [], total_events: 0 });
  });

  it('every file of DESIGN.md is written, logs 0600', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    track('task_error', { error: 'x' }, 'ERROR');
    await shutdown();
    for (const file of ['execution_tracker.json', 'execution_tracker_readable.txt', 'autofix_log.json', 'latent_analysis_report.json', 'autopsy.md', 'autopsy.html']) {
      expect(statSync(logPath(dir, file)).mode & 0o777, file).toBe(0o600);
    }
    expect(readAutofixLog(dir)).toEqual({
      type: 'autofix_log',
      total_attempts: 0,
      successful_fixes: 0,
      failed_fixes: 0,
      fixes_by_type: {},
      fixes_by_layer: { layer1: 0, layer2: 0, layer3: 0 },
    });
    const report = readReport(dir);
    expect(Object.keys(report)).toEqual(['timestamp', 'failure_analysis', 'autofix_statistics', 'fix_suggestions', 'summary', 'diagnoses', 'llm_usage', 'stages', 'unfinished', 'exit', 'run']);
    expect(Object.keys(report.failure_analysis)).toEqual(['total_failures', 'failures_by_type', 'failures_by_stage', 'critical_failures', 'failure_patterns']);
    expect(Object.keys(report.summary)).toEqual(['total_failures', 'total_autofix_attempts', 'autofix_success_rate', 'most_common_failure', 'most_problematic_stage']);
    expect(readFileSync(logPath(dir, 'latent_analysis_report.json'), 'utf8')).toBe(`${JSON.stringify(report, null, 2)}\n`);
  });
});

describe('ExecutionTracker and LatentReporter (ports of the originals)', () => {
  it('track, saveJsonLog mid-run, queries and summary', () => {
    const dir = tempRunDir();
    const tracker = new ExecutionTracker(dir);
    tracker.track('stage_start', { stage: 'stage1', name: 'Problem Analysis' });
    tracker.track('llm_call_error', { stage: 'stage1', error: 'Rate limit exceeded' }, 'ERROR');
    tracker.saveJsonLog();
    // A complete document on disk while the run goes on …
    let doc = readTrackerDocument(dir);
    expect(doc.total_events).toBe(2);
    tracker.track('task_error', { task: 'data_processing', error: 'boom' }, 'ERROR');
    tracker.track('stage_end', { stage: 'stage1', duration: 5.0 });
    tracker.saveJsonLog();
    // … and again after more events (the closing line moved, nothing duplicated).
    doc = readTrackerDocument(dir);
    expect(doc.events.map((event) => event.type)).toEqual(['stage_start', 'llm_call_error', 'task_error', 'stage_end']);
    expect(doc.total_events).toBe(4);
    expect(tracker.getEventsByType('task_error').map((event) => event.data)).toEqual([{ task: 'data_processing', error: 'boom' }]);
    expect(tracker.getErrorEvents().map((event) => event.type)).toEqual(['llm_call_error', 'task_error']);
    expect(tracker.getEventsByLevel('INFO')).toHaveLength(2);
    const summary = tracker.getSummary();
    expect(summary).toEqual({
      total_events: 4,
      total_duration: expect.any(Number),
      events_by_type: { stage_start: 1, llm_call_error: 1, task_error: 1, stage_end: 1 },
      events_by_level: { INFO: 2, ERROR: 2 },
    });
    // LatentReporter on the live run reports without ending it.
    const report = new LatentReporter(dir).generateReport();
    expect(report.summary.total_failures).toBe(2);
    expect(report.exit.reason).toBe('running');
    expect(readReport(dir).summary.most_common_failure).toBe('llm_call_error');
    tracker.track('checkpoint_save', { stage: 'stage1' });
    tracker.close();
    expect(readTrackerDocument(dir).total_events).toBe(5);
  });

  it('LatentReporter on a finished run reads it back from disk', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    for (let i = 0; i < 4; i++) track('llm_call_error', { stage: 'stage3', error: `429 #${i}` }, 'ERROR');
    const live = (await shutdown())!;
    const offline = new LatentReporter(dir).generateReport();
    expect(offline.failure_analysis).toEqual(live.failure_analysis);
    expect(offline.summary).toEqual(live.summary);
    expect(offline.fix_suggestions).toEqual(live.fix_suggestions);
    expect(offline.exit.reason).toBe('shutdown');
  });
});
