/**
 * `migrate.mts --rollback <revision>`: the database downgraded to a revision of the image, as
 * phases: state (refuse two heads, a database ahead) → the path down (refuse a revision that
 * is not below) → confirm → pre-migrate backup → downgrade. The caller holds the lock.
 */
import { pruneSnapshotsAfterSuccess } from "../backup/store.ts";
import { UsageError } from "../core/errors.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { confirmOrRefuse } from "../core/prompts.ts";
import type { Project } from "../project/project.ts";
import { engineFor, failure, migrationStatus, preMigrateBackup, refuseState } from "./apply.ts";
import { downgradePath } from "./state.ts";

export interface DowngradeOutcome {
  ok: true;
  phase: "done";
  /** The revisions undone, newest first (none: the database was at `revision` already). */
  downgraded: string[];
  current: string | null;
  backup: string | null;
}

export async function downgradeTo(
  project: Project,
  out: Output,
  o: { revision: string; yes: boolean; skipBackup: boolean },
): Promise<DowngradeOutcome> {
  const engine = engineFor(project);
  const s = await migrationStatus(project, engine);
  refuseState(s.state);
  if (!s.info.revisions.some((r) => r.revision === o.revision) && o.revision !== "base")
    throw new UsageError(msg.migrate.cli.notInImage({ revision: o.revision }), msg.migrate.cli.seeRevisionsHint);
  const undo = downgradePath(s.info, o.revision);
  if (!undo)
    throw new UsageError(msg.migrate.cli.notBelow({ revision: o.revision, current: s.info.current.join(", ") }), msg.migrate.cli.seeRevisionsHint);
  if (undo.length === 0) {
    out.info(msg.migrate.cli.alreadyAt({ revision: o.revision }));
    return { ok: true, phase: "done", downgraded: [], current: o.revision, backup: null };
  }
  await confirmOrRefuse(msg.migrate.cli.downgradeQuestion({ from: s.info.current.join(", "), to: o.revision, undo: undo.join(", ") }), {
    yes: o.yes,
    what: msg.migrate.cli.downgradeWhat,
  });
  let backup: string | null = null;
  if (!o.skipBackup) {
    backup = await preMigrateBackup(project, out);
    pruneSnapshotsAfterSuccess(
      project.root,
      () => project.config.snapshotRetention(),
      ["pre-migrate"],
      (m) => out.warn(m),
    );
  }
  const r = await out.step(
    localized((c) => c.migrate.cli.downgradeStep({ revision: o.revision })),
    async () => {
      const d = await engine.downgrade(o.revision);
      if (!d.ok) throw failure(d, backup);
      return d;
    },
  );
  out.success(msg.migrate.cli.downgraded({ applied: r.applied.join(", "), current: r.current.join(", ") }));
  return { ok: true, phase: "done", downgraded: r.applied, current: r.current[0] ?? null, backup };
}
