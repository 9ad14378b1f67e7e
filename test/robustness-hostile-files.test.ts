import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli';
import { tempRunDir } from './helpers/tempDirs';

/**
 * `agent-autopsy report` handed a file crafted by someone else or damaged on the way: the real
 * CLI in a child process either reports what the file holds or says in one line why it cannot.
 */
describe('agent-autopsy report on hostile files', () => {
  it('a "__proto__" key in a Python tracker document stays data: its fields do not pass for the event\'s', async () => {
    const dir = tempRunDir();
    const path = join(dir, 'execution_tracker.json');
    // As Python's json.dump(indent=2) lays it out; JSON.stringify would drop the key: written as text.
    writeFileSync(
      path,
      '{\n  "start_time": "2026-01-01T00:00:00",\n  "events": [\n    {\n      "timestamp": "2026-01-01T00:00:01",\n      "elapsed_seconds": 1,\n' +
        '      "type": "task_error",\n      "level": "ERROR",\n      "data": {\n        "__proto__": {\n          "stage": "crafted"\n        },\n' +
        '        "error": "boom"\n      }\n    }\n  ],\n  "total_events": 1\n}',
    );
    const result = await runCli(['report', path]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.failure_analysis.failures_by_stage).toEqual({ unknown: 1 });
    expect(report.failure_analysis.critical_failures).toEqual([{ timestamp: '2026-01-01T00:00:01', type: 'task_error', stage: 'unknown', error: 'boom' }]);
  });
});
