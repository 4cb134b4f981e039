/**
 * `migrate.mts --init`: the database (POSTGRES_DB) and the extensions MIGRATE_EXTENSIONS names,
 * created when missing; nothing that exists is touched. Run through psql in the postgres
 * service, as its superuser (the image's POSTGRES_USER).
 */
import { createDatabaseSql, createExtensionSql, databaseExistsSql, psql } from "../commands/postgres.ts";
import { msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import type { Project } from "../project/project.ts";
import { serviceByRole } from "../project/stack.ts";
import { waitForPostgres } from "./apply.ts";

export async function initDatabase(
  project: Project,
  out: Output,
  extensions: readonly string[],
): Promise<{ created: boolean; extensions: string[] }> {
  await waitForPostgres(project);
  const pg = serviceByRole(project.stack, "postgres").name;
  const { user, db } = project.config.postgres;
  const exists = (await project.compose.exec(pg, psql(user, "postgres", databaseExistsSql(db)))).stdout.trim() === "1";
  if (!exists) await project.compose.exec(pg, psql(user, "postgres", createDatabaseSql(db, user)));
  out.info(exists ? msg.migrate.init.databaseExists({ db }) : msg.migrate.init.databaseCreated({ db }));
  for (const ext of extensions) await project.compose.exec(pg, psql(user, db, createExtensionSql(ext)));
  if (extensions.length) out.info(msg.migrate.init.extensionsPresent({ extensions: extensions.join(", ") }));
  return { created: !exists, extensions: [...extensions] };
}
