/**
 * Quoting a word for sh, for the commands claw-ops prints (logs, --dry-run, advice) or writes
 * (a crontab line, certbot's renewal hook). zx quotes what it runs itself: this is never used
 * to build an argv.
 */

/** What sh reads literally in an unquoted word (the set of Python's shlex.quote). */
export const SHELL_PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One word for sh: as is when every character is in `plain`, else single-quoted (a `'` inside
 * as `'\''`); "" is `''`. `plain` narrows what is left unquoted where a writer needs it to.
 */
export function shellQuote(word: string, plain: RegExp = SHELL_PLAIN): string {
  return plain.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
