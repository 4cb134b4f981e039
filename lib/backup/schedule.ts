/**
 * `backup.mts --install-cron [<expr>]`: the backup's own crontab line (what it runs, from where,
 * logging where), how it is found again in a crontab, and the proof that it runs under cron.
 * The crontab mechanics (validation, next runs, PATH pinning, reading and writing the crontab)
 * are infra/crontab.ts, shared with certbot's renewal line.
 */
import { underCronEnvironment } from "../commands/crontab.ts";
import { PreconditionError, UsageError } from "../core/errors.ts";
import { lastLine, run } from "../core/exec.ts";
import { msg } from "../core/i18n/index.ts";
import { shellQuote } from "../core/shell.ts";
import { operatorCommand, SCRIPTS } from "../core/vocabulary/scripts.ts";
import { CRON_PATH, crontabSafe, replaceCrontabLines, validateCron } from "../infra/crontab.ts";

export const DEFAULT_BACKUP_CRON = "0 2 * * *";

/**
 * The crontab line that runs the backup from `projectDir`, logging to logs/backup.log. With
 * `pathValue`, the line pins PATH: cron's own is /usr/bin:/bin with no profile, where npx or
 * docker installed elsewhere (nvm, /usr/local/bin, snap) are not found and the backup never runs.
 */
export function backupCronLine(expr: string, projectDir: string, pathValue?: string, repoDir = projectDir): string {
  validateCron(expr);
  const log = repoDir === projectDir ? "logs/backup.log" : crontabSafe(shQuote(`${projectDir}/logs/backup.log`));
  return `${expr.trim().split(/\s+/).join(" ")} ${backupCronCommand(projectDir, pathValue, [], repoDir)} >> ${log} 2>&1`;
}

/**
 * The command part of the line, `%` escaped for crontab: `cd <dir> && [PATH=…] npx zx
 * scripts/backup.mts [args]`; when the project is not the claw-ops checkout itself
 * (CLAW_OPS_PROJECT_DIR), the line runs from the checkout (npx finds zx and tsx there) and
 * names the project: `cd <checkout> && CLAW_OPS_PROJECT_DIR=<dir> …`.
 */
export function backupCronCommand(projectDir: string, pathValue?: string, args: readonly string[] = [], repoDir = projectDir): string {
  const path = pathValue === undefined ? "" : `PATH=${crontabSafe(shQuote(pathValue))} `;
  const where = repoDir === projectDir ? `${cdPrefix(projectDir)} ` : `${cdPrefix(repoDir)} ${projectMarker(projectDir)}`;
  return `${where}${path}${operatorCommand(SCRIPTS.backup, args)}`;
}

const projectMarker = (projectDir: string) => `CLAW_OPS_PROJECT_DIR=${crontabSafe(shQuote(checkLine(projectDir)))} `;

/**
 * Puts `line` into the crontab text `existing`, replacing every line that runs
 * scripts/backup.mts for this projectDir (the first keeps its place; without one, the line is
 * appended). Every other line, comments included, is kept byte for byte. Pure.
 */
export function mergeCrontab(existing: string, line: string, projectDir: string, repoDir = projectDir): { text: string; changed: boolean } {
  const ours = repoDir === projectDir ? `${cdPrefix(projectDir)} ` : projectMarker(projectDir);
  return replaceCrontabLines(existing, line, (l) => runsOurBackup(l, ours));
}

/**
 * Run a crontab command under cron's environment (env -i, PATH=/usr/bin:/bin); refuse with the
 * reason when it fails, so a line that would never run is not installed.
 */
export async function proveCronCommand(command: string): Promise<void> {
  const home = process.env.HOME ?? "/root";
  const user = process.env.LOGNAME ?? process.env.USER ?? "root";
  const r = await run({ argv: underCronEnvironment(command, home, user) }, { allowFailure: true, timeoutMs: 120_000 });
  if (r.status !== 0) {
    throw new PreconditionError(
      msg.backup.schedule.notUnderCron({ path: CRON_PATH, reason: lastLine(r.stderr || r.stdout) }),
      msg.backup.schedule.notUnderCronHint,
    );
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Fewer characters left unquoted than sh allows (no @ % + = ,): a line installed before is found
 * again by its exact `cd <dir> &&`, so the quoting of a directory must not change.
 */
const CRON_PLAIN = /^[A-Za-z0-9_./:-]+$/;
const shQuote = (s: string) => shellQuote(s, CRON_PLAIN);

/** `cd <dir> &&`, the dir single-quoted for sh if needed and `%` escaped for crontab. */
function cdPrefix(projectDir: string): string {
  return `cd ${crontabSafe(shQuote(checkLine(projectDir)))} &&`;
}

function checkLine(dir: string): string {
  if (/[\r\n]/.test(dir)) {
    throw new UsageError(msg.backup.schedule.dirOnLine({ dir: JSON.stringify(dir) }), msg.backup.schedule.dirOnLineHint);
  }
  return dir;
}

function runsOurBackup(line: string, ours: string): boolean {
  if (/^\s*#/.test(line)) return false; // a comment, maybe a line the operator disabled: keep it
  const at = line.indexOf(ours);
  if (at < 0 || (at > 0 && !/\s/.test(line[at - 1]!))) return false;
  return line.includes(` scripts/${SCRIPTS.backup}`, at);
}
