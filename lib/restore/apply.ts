/**
 * Applying a restore plan, as named phases: remove one-offs a killed run left and put back
 * what a restore that died left half swapped, while every artifact is decrypted and checked →
 * a RestoreRun (restore-run.ts) drives the rest, each state recorded: each component's own
 * check → snapshot what will be overwritten, while the parts of the restore that touch no
 * live data are prepared beside it (Postgres: the dump restored into a database of its own)
 * → with the dependents stopped, the data components restored at the same time, then the
 * configuration → dependents started again whatever happened (errors joined).
 */
import type { OpenedBackup } from "../backup/encryption.ts";
import { recoverDeadSwaps } from "../backup/recover.ts";
import { msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import type { Project } from "../project/project.ts";
import type { RestorePlan } from "./plan.ts";
import { type ApplyOptions, initialResults, type RestoreOutcome } from "./restore-outcome.ts";
import { type RestorePorts, realPorts } from "./restore-ports.ts";
import { RestoreRun } from "./restore-run.ts";

export async function applyRestore(
  project: Project,
  out: Output,
  plan: RestorePlan,
  o: ApplyOptions = {},
  ports: RestorePorts = realPorts(project, out),
): Promise<RestoreOutcome> {
  const results = initialResults(plan.components);
  if (plan.components.length === 0) return { snapshot: undefined, results };
  const opened = await openRepaired(project, out, plan, ports);
  try {
    return await new RestoreRun(project, out, plan, opened, results, o, ports).drive();
  } finally {
    opened.close();
  }
}

/**
 * Decrypted (and each plaintext checked) before the snapshot: nothing is touched until
 * every artifact is known good. Meanwhile one-offs a killed run left are removed (they may
 * hold a volume this restore replaces), then what a restore that died left half-swapped is
 * put back together, before anything decides from the kept data or starts a service on it.
 */
async function openRepaired(project: Project, out: Output, plan: RestorePlan, ports: RestorePorts): Promise<OpenedBackup> {
  const [removed, opening] = await Promise.allSettled([
    ports.services.removeOneOffs().then(async (n) => {
      await recoverDeadSwaps(project, out, { registry: ports.registry, records: ports.records });
      return n;
    }),
    ports.snapshots.open(plan),
  ]);
  if (opening.status === "rejected") throw opening.reason;
  const opened = opening.value;
  if (removed.status === "rejected") {
    opened.close();
    throw removed.reason;
  }
  if (removed.value) out.warn(msg.restore.apply.removedOneOffs({ count: removed.value }));
  return opened;
}
