/**
 * `migrate.mts --fresh`: the database dropped and created empty (then migrated by the caller).
 * Refused without -y, and on a TTY the operator also types the database's name; a postgres
 * backup into backups/pre-migrate/ is always taken first (the command to restore it is printed).
 */
import { relative } from "node:path";
import { runBackup } from "../backup/run.ts";
import { createDatabaseSql, dropDatabaseSql, psql } from "../commands/postgres.ts";
import { PreconditionError } from "../core/errors.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { typeToConfirm } from "../core/prompts.ts";
import type { Project } from "../project/project.ts";
import { serviceByRole } from "../project/stack.ts";
import { engineFor, migrationStatus, refuseState, restoreCommand, waitForPostgres } from "./apply.ts";
import { lintPending, squawkBinary } from "./lint.ts";

/**
 * --fresh: everything that could refuse afterwards (two heads, no revisions, a strict lint
 * finding in any revision) is checked before the database is dropped; then freshDatabase.
 */
export async function freshStart(project: Project, out: Output, o: { yes: boolean }): Promise<string> {
  const engine = engineFor(project);
  const s = await migrationStatus(project, engine);
  if (s.state.kind === "multiple-heads" || s.state.kind === "no-revisions") refuseState(s.state);
  const lints = await lintPending(
    project,
    engine,
    s.info.revisions.map((r) => r.revision),
    squawkBinary(),
    out,
  );
  if (project.config.migrate.lint === "strict" && lints.some((l) => l.findings.length))
    throw new PreconditionError(msg.migrate.cli.strictFresh, msg.migrate.cli.strictFreshHint);
  return freshDatabase(project, out, o);
}

export async function freshDatabase(project: Project, out: Output, o: { yes: boolean }): Promise<string> {
  const { user, db } = project.config.postgres;
  await typeToConfirm(msg.migrate.fresh.question({ db }), db, {
    yes: o.yes,
    what: msg.migrate.fresh.what({ db }),
  });
  await waitForPostgres(project);
  const r = await out.step(
    localized((c) => c.migrate.fresh.backupStep),
    () => runBackup(project, out, { components: ["postgres"], tier: "pre-migrate" }),
  );
  const backup = relative(project.root, r.dir);
  out.info(msg.migrate.fresh.restoreLine({ command: restoreCommand(backup) }));
  const pg = serviceByRole(project.stack, "postgres").name;
  await out.step(
    localized((c) => c.migrate.fresh.dropCreateStep({ db })),
    async () => {
      // WITH (FORCE): the backend's pooled connections would hold it otherwise; they reconnect.
      await project.compose.exec(pg, psql(user, "postgres", dropDatabaseSql(db)));
      await project.compose.exec(pg, psql(user, "postgres", createDatabaseSql(db, user)));
    },
  );
  return backup;
}
