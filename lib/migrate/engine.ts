/**
 * The migration engine's hands: lib/migrate/driver.py run in a one-off container of the
 * release's backend image (`compose run --rm --no-deps -T`, the script on stdin), so it works
 * before the backend is up and against the image being deployed. Its settings travel in the
 * container's environment (`-e NAME`), its result comes back as one JSON line.
 */
import { readFileSync } from "node:fs";
import { ClawError, PreconditionError } from "../core/errors.ts";
import { lastLine } from "../core/exec.ts";
import { msg } from "../core/i18n/index.ts";
import { badNames, REVISION_ID } from "../core/names.ts";
import { MINUTE_MS } from "../core/time.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import type { MigrateSettings } from "../project/config.ts";
import type { MigrationInfo } from "./state.ts";

const DRIVER = readFileSync(new URL("./driver.py", import.meta.url), "utf8");
const RESULT = "CLAW-OPS-RESULT ";

export interface DriverFailure {
  ok: false;
  code: "lock-held" | "lock-timeout" | "revision-failed" | "error" | "usage";
  error?: string;
  sqlstate?: string | null;
  revision?: string;
  applied?: string[];
  current?: string[];
  invalidIndexes?: string[];
  attempts?: number;
  waitedS?: number;
  holder?: unknown[] | null;
}

export interface MigrateResult {
  ok: true;
  applied: string[];
  from: string | null;
  current: string[];
}

export class MigrationEngine {
  constructor(
    private readonly compose: ComposeClient,
    private readonly backend: string,
    private readonly settings: MigrateSettings,
  ) {}

  private env(): Record<string, string> {
    return {
      CLAW_MIGRATE_LOCK_TIMEOUT: this.settings.lockTimeout,
      CLAW_MIGRATE_STATEMENT_TIMEOUT: this.settings.statementTimeout,
      CLAW_MIGRATE_LOCK_WAIT_S: String(this.settings.lockWaitS),
      CLAW_MIGRATE_LOCK_RETRIES: String(this.settings.lockRetries),
    };
  }

  /** Run one driver operation; its JSON result (ok or not). A driver that could not run at all throws. */
  async call<T>(op: string, args: readonly string[] = [], timeoutMs = 10 * MINUTE_MS): Promise<T | DriverFailure> {
    const env = this.env();
    const r = await this.compose
      .withEnv(env)
      .runOnce(
        this.backend,
        ["python3", "-", op, ...args],
        { noDeps: true, envNames: Object.keys(env) },
        { input: DRIVER, allowFailure: true, timeoutMs },
      );
    const line = r.stdout
      .split("\n")
      .reverse()
      .find((l) => l.startsWith(RESULT));
    if (!line) {
      throw new ClawError(
        msg.migrate.engine.driverDidNotRun({
          backend: this.backend,
          reason: lastLine(r.stderr || r.stdout) || msg.core.errors.exitStatus({ status: r.status }),
        }),
        { hint: msg.migrate.engine.driverDidNotRunHint },
      );
    }
    return JSON.parse(line.slice(RESULT.length)) as T | DriverFailure;
  }

  async info(): Promise<MigrationInfo> {
    const r = await this.call<MigrationInfo & { ok: true }>("info");
    if (!r.ok)
      throw new PreconditionError(
        msg.migrate.engine.cannotReadState({ error: r.error }),
        /does not exist/.test(r.error ?? "") ? msg.migrate.engine.createDatabaseHint : msg.migrate.engine.isPostgresUpHint,
      );
    refuseBadRevisionIds(r);
    return r;
  }

  async sql(revisions: readonly string[]): Promise<Record<string, { sql?: string; error?: string }>> {
    if (revisions.length === 0) return {};
    const r = await this.call<{ ok: true; sql: Record<string, { sql?: string; error?: string }> }>("sql", revisions);
    if (!r.ok) throw new ClawError(msg.migrate.engine.cannotRenderSql({ error: r.error }));
    return r.sql;
  }

  upgrade(target = "head"): Promise<MigrateResult | DriverFailure> {
    return this.call<MigrateResult>("upgrade", [target], 6 * 60 * MINUTE_MS);
  }

  downgrade(target: string): Promise<MigrateResult | DriverFailure> {
    return this.call<MigrateResult>("downgrade", [target], 6 * 60 * MINUTE_MS);
  }

  async tables(names: readonly string[]): Promise<Record<string, boolean>> {
    if (names.length === 0) return {};
    const r = await this.call<{ ok: true; tables: Record<string, boolean> }>("tables", names);
    if (!r.ok) throw new ClawError(msg.migrate.engine.cannotCheckTables({ error: r.error }));
    return r.tables;
  }
}

/**
 * Revision ids come from the image (and the database's alembic_version): they become file
 * names (the lint), argv (upgrade, downgrade) and SQL. One that is not a plain id is refused
 * before any of that (a `../../x` id wrote a file outside the project as root).
 */
export function refuseBadRevisionIds(info: MigrationInfo): void {
  const ids = [
    ...info.revisions.flatMap((r) => [r.revision, ...r.down]),
    ...info.heads,
    ...info.current,
    ...info.pending,
    ...Object.keys(info.recorded),
  ];
  const bad = badNames(REVISION_ID, ids);
  if (bad.length) throw new PreconditionError(msg.migrate.engine.badRevisionId({ id: JSON.stringify(bad[0]) }), msg.migrate.engine.badRevisionIdHint);
}
