import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { shellPath } from '../exporters/shellPath';

/** The path in the commands the reports print (the CLI's Markdown, the HTML page's events section). */
it('gives a word a POSIX shell reads back as the same path', () => {
  const paths = ['/runs/2026-01-01', 'runs/a b', '-run', '--format', "it's", '=run', 'a;b|c&d', '$HOME `id`', '*', '<run dir>', 'über'];
  expect(paths.map(shellPath)).toEqual([
    '/runs/2026-01-01',
    "'runs/a b'",
    './-run',
    './--format',
    "'it'\\''s'",
    "'=run'",
    "'a;b|c&d'",
    "'$HOME `id`'",
    "'*'",
    "'<run dir>'",
    "'über'",
  ]);
  // What the shell hands the program is the path itself (./ before one starting with -).
  const echoed = execFileSync('sh', ['-c', `printf '%s\\n' ${paths.map(shellPath).join(' ')}`], { encoding: 'utf8' }).split('\n').slice(0, -1);
  expect(echoed).toEqual(paths.map((path) => (path.startsWith('-') ? `./${path}` : path)));
});
