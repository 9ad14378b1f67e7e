import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempRunDir } from './helpers/tempDirs';
// @ts-expect-error: the bench is plain JavaScript, without type declarations
import { pairedRounds } from '../bench/common.mjs';

// The bench's paired rounds (bench/README.md item 25): long-lived children measured round by
// round. A child that hangs must fail the run with its name and be killed, never hang the bench.
const SCRIPT = join(__dirname, 'fixtures', 'bench', 'paired-child.mjs');

let pidDir: string;
beforeEach(() => {
  pidDir = tempRunDir('paired-');
  process.env.PAIRED_PID_DIR = pidDir;
});
afterEach(() => {
  delete process.env.PAIRED_PID_DIR;
});

function alive(variant: string): boolean {
  // No pid file: the child was killed before it got that far (a start slower than its ready wait).
  if (!existsSync(join(pidDir, variant))) return false;
  const pid = Number(readFileSync(join(pidDir, variant), 'utf8'));
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function settled(variant: string): Promise<boolean> {
  // SIGKILL is delivered at once, but the process table may lag a moment behind it.
  for (let i = 0; i < 50 && alive(variant); i++) await new Promise((done) => setTimeout(done, 20));
  return !alive(variant);
}

describe('bench pairedRounds', () => {
  it('measures every variant once per round, and the children exit when told to stop', async () => {
    const rounds: number[] = [];
    const results = await pairedRounds({ script: SCRIPT, variants: ['ok', 'ok2'], rounds: 3, warmup: 10, count: 100, onProgress: (round: number) => rounds.push(round) });
    expect(Object.keys(results)).toEqual(['ok', 'ok2']);
    for (const variant of ['ok', 'ok2']) {
      expect(results[variant]).toHaveLength(3);
      for (const segment of results[variant]) {
        // A segment this small may take less CPU time than the clock shows: 0 is a reading too.
        expect(Number.isFinite(segment.cpuUsPerOp) && segment.cpuUsPerOp >= 0).toBe(true);
        expect(segment.wallUsPerOp).toBeGreaterThan(0);
      }
      expect(await settled(variant)).toBe(true);
    }
    expect(rounds).toEqual([0, 1, 2]);
  });

  // The hanging child comes first, so it is the one named even when the other child is slow too
  // (a Node start can take over a second on a loaded machine); only the start that is tested for a
  // hang has a short wait.
  it.each([
    ['hang-start', 'sent nothing for 1 s before it was ready', 1000],
    ['hang-segment', 'sent nothing for 1 s during a segment of 10 operations', 30_000],
    ['hang-stop', 'did not exit within 1 s of being told to stop', 30_000],
  ])('a child that hangs (%s) fails the run, named, and every child is killed', async (variant, message, readyTimeoutMs) => {
    await expect(pairedRounds({ script: SCRIPT, variants: [variant, 'ok'], rounds: 2, warmup: 10, count: 100, replyTimeoutMs: 1000, readyTimeoutMs })).rejects.toThrow(`child ${variant} ${message}`);
    expect(await settled(variant)).toBe(true);
    expect(await settled('ok')).toBe(true);
  });
});
