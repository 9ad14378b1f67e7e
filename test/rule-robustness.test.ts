import { describe, expect, it } from 'vitest';
import { validateRule } from '../analyzers/customRules';
import type { DiagnosisRule } from '../analyzers/diagnosisTypes';
import { runNode, writeScript } from './helpers/childProcess';
import { tempRunDir } from './helpers/tempDirs';

describe('a rule predicate that returns a promise', () => {
  it('is refused at registration when it is an async function, naming the rule', () => {
    const rule = { id: 'empty_answer', title: 't', suggestion: 's', match: async () => true } as unknown as DiagnosisRule;
    expect(() => validateRule(rule)).toThrow(
      'agent-autopsy: diagnosis rule "empty_answer": match must answer at once with true or false; an async function returns a promise, which never counts',
    );
  });

  it('never counts, and its rejection does not end the host process', async () => {
    const script = writeScript(`
      import { init, shutdown, stage, track } from 'agent-autopsy';
      init({ outputDir: process.env.RUN_DIR, reportFormats: [], rules: [
        { id: 'lookup_failed', title: 't', suggestion: 's', match: (event) => Promise.reject(new Error('rule bug on ' + event.type)) },
      ] });
      await stage('s1', async () => { track('tool_error', { error: 'no route' }, 'ERROR'); });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const report = await shutdown();
      console.log(JSON.stringify({ exit: report.exit.reason, diagnoses: report.diagnoses.map((d) => d.id) }));
    `);
    const result = await runNode(script, { env: { RUN_DIR: tempRunDir() } });
    expect({ code: result.code, stderr: result.stderr, stdout: JSON.parse(result.stdout) }).toEqual({
      code: 0,
      stderr: '',
      stdout: { exit: 'shutdown', diagnoses: [] },
    });
  });
});
