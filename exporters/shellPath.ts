/**
 * A path as one word of a command line a POSIX shell reads back as the same path, for the commands
 * the reports print (`agent-autopsy report <input> --format json`): as it is when nothing in it is
 * special, else single-quoted. A relative path starting with `-` gets `./` (it would read as an
 * option); a word starting with `=` is quoted (zsh reads `=name` as the path of a command).
 */
export function shellPath(path: string): string {
  const word = path.startsWith('-') ? `./${path}` : path;
  return /^[\w@%+:,./-][\w@%+=:,./-]*$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
