import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTruthLogSync } from '../analyzers/readRun';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { TruthEvent } from '../src/types';

// Readers of a log build the report with `eventCounts: false` (no counts by type and level, which
// only the live tracker's get_summary uses). The report must be exactly the one the analyzer
// builds when it counts.

const RUNS = join(__dirname, 'fixtures', 'runs');
const runs = readdirSync(RUNS, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);

function eventsOf(run: string): TruthEvent[] {
  const events: TruthEvent[] = [];
  readTruthLogSync(join(RUNS, run, 'execution_tracker.json'), (event) => events.push(event));
  return events;
}

describe('RunAnalyzer without event counts', () => {
  it('covers the diagnosis corpus', () => {
    expect(runs.length).toBeGreaterThan(10);
  });

  for (const run of runs) {
    it(`${run}: the same report as with counts`, () => {
      const events = eventsOf(run);
      const counting = new RunAnalyzer();
      const reading = new RunAnalyzer({ eventCounts: false });
      for (const event of events) {
        counting.observe(event);
        reading.observe(event);
      }
      const context = { now: Date.parse('2030-01-01T00:00:00Z'), generatedAt: Date.parse('2030-01-01T00:00:00Z'), outputDir: '/run' };
      expect(reading.buildReport(context)).toEqual(counting.buildReport(context));
      expect(reading.totalEvents).toBe(events.length);
      expect(counting.eventCounts().total_events).toBe(events.length);
      expect(Object.values(counting.eventCounts().events_by_type).reduce((sum, n) => sum + n, 0)).toBe(events.length);
    });
  }
});
