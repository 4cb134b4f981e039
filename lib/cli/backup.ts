/** What backup.mts does for each of its modes; the script only parses flags and calls these. */
import { hostname } from "node:os";
import { basename, relative } from "node:path";
import type { ScriptContext } from "./run.ts";
import type { Output } from "../core/output.ts";
import { ClawError, UsageError } from "../core/errors.ts";
import { withRunLock } from "./run-lock.ts";
import { writeMetrics } from "../infra/metrics.ts";
import { notify } from "../infra/notify.ts";
import { openProject, projectRoot, type Project } from "../project/project.ts";
import { confirmOrRefuse } from "../core/prompts.ts";
import { copyOffsite, offsiteConfig } from "../backup/offsite.ts";
import { decryptionKey, encryptionConfig } from "../backup/encryption.ts";
import { applyRestore, describePlan, NEEDS, planRestore, prune, REGISTRY, runBackup, openShown, selectComponents, undoKeyHint } from "../backup/engine.ts";
import { settleAll } from "../core/async.ts";
import { readManifest, verifyArtifacts, COMPONENTS, type ComponentName } from "../backup/manifest.ts";
import { backupEntries, formatBytes, formatEntries, listBackups, resolveBackupDir } from "../backup/store.ts";

const SCRIPT = "backup.mts";

export function listCommand({ out }: ScriptContext, root = projectRoot()): number {
  const rows = backupEntries(listBackups(root, { onInvalid: (dir, why) => out.warn(`ignored ${relative(root, dir)}: ${why}`) }));
  if (out.json) out.result(rows.map((r) => ({ ...r, dir: relative(root, r.dir), time: r.time.toISOString() })));
  else process.stdout.write(formatEntries(rows) + "\n");
  return 0;
}

export async function installCronCommand({ args, out }: ScriptContext, root = projectRoot()): Promise<number> {
  // Loaded only here: cron-parser and its date library add ~10 MB to every other run.
  const { backupCronLine, DEFAULT_BACKUP_CRON, mergeCrontab, nextRuns, readCrontab, validateCron, writeCrontab } = await import("../backup/schedule.ts");
  const expr = args.positionals[0] ?? DEFAULT_BACKUP_CRON;
  validateCron(expr);
  const line = backupCronLine(expr, root);
  const { text, changed } = mergeCrontab(await readCrontab(), line, root);
  if (changed) await writeCrontab(text);
  out.success(changed ? `installed: ${line}` : `already installed: ${line}`);
  out.info(`next runs: ${nextRuns(expr, new Date()).map((d) => d.toString()).join("; ")}`);
  out.result({ ok: true, line, changed });
  return 0;
}

export async function pruneCommand({ out }: ScriptContext, root = projectRoot()): Promise<number> {
  const project = await openProject({ root });
  const removed = await withRunLock(root, { script: SCRIPT, purpose: "prune" }, out, async () => prune(project, new Date()));
  out.success(removed.length ? `removed ${removed.join(", ")}` : "nothing to prune");
  out.result({ ok: true, removed });
  return 0;
}

export async function verifyCommand({ args, out }: ScriptContext, root = projectRoot()): Promise<number> {
  const project = await openProject({ root });
  return withRunLock(root, { script: SCRIPT, purpose: "verify" }, out, async () => {
    const dir = args.positionals[0] ? resolveBackupDir(root, args.positionals[0]) : listBackups(root)[0]?.dir;
    if (!dir) throw new UsageError("there is no backup to verify yet");
    const m = readManifest(dir);
    const comps = Object.keys(m.components) as ComponentName[];
    await out.step(`checksums of ${comps.length} component(s)`, () => verifyArtifacts(dir, m, comps));
    const removed = await project.compose.removeOneOffs(project.effectiveName);
    if (removed) out.warn(`removed ${removed} throwaway container(s) left by a run that was killed`);
    const key = decryptionKey(project.env, identityFlag(args.flags));
    const opened = await openShown(root, out, dir, m, comps, key);
    // The drill: each component restored into throwaway containers or a scratch directory,
    // never the live data, and compared with the manifest.
    const proven = await settleAll(comps.map((c) => out.step(`restore drill: ${c}`, async () => {
      const ctx = { project, dir: opened.dir, out };
      await REGISTRY[c].verify(ctx, opened.manifest.components[c]!);
      return [c, await REGISTRY[c].drill(ctx, opened.manifest.components[c]!)] as const;
    }))).finally(() => opened.close());
    for (const [c, line] of proven) out.info(`${c.padEnd(8)} ${line}`);
    out.success(`backup ${m.id} verified: every component restored in a drill and matched its manifest`);
    out.result({ ok: true, id: m.id, components: comps, drill: Object.fromEntries(proven) });
    return 0;
  });
}

export async function restoreCommand({ args, out }: ScriptContext, root = projectRoot()): Promise<number> {
  const project = await openProject({ root });
  const dir = resolveBackupDir(root, String(args.flags.restore));
  return withRunLock(root, { script: SCRIPT, purpose: `restore from ${basename(dir)}` }, out, async () => {
    const m = readManifest(dir);
    const key = decryptionKey(project.env, identityFlag(args.flags));
    const plan = await out.step("checking the backup", () => planRestore(project, dir, Object.keys(m.components) as ComponentName[], "pre-restore", key));
    for (const l of describePlan(plan)) out.info(l);
    if (args.flags["dry-run"]) return 0;
    await confirmOrRefuse(`Restore ${plan.components.join(", ")} from ${m.id}? Current data will be replaced.`, { yes: Boolean(args.flags.yes), what: "restore" });
    const outcome = await applyRestore(project, out, plan);
    return report(project, out, "restore", m.id, outcome);
  });
}

/** --identity <file>, when given. */
export function identityFlag(flags: Record<string, unknown>): string | undefined {
  return flags.identity === undefined ? undefined : String(flags.identity);
}

export async function report(project: Project, out: Output, event: "restore" | "rollback", id: string, outcome: Awaited<ReturnType<typeof applyRestore>>): Promise<number> {
  for (const [c, r] of Object.entries(outcome.results)) out.info(`${c.padEnd(8)} ${r}`);
  const failed = Object.entries(outcome.results).find(([, r]) => r === "failed")?.[0];
  await notify(project.env.get("WEBHOOK_URL"), {
    event, status: outcome.error ? "failure" : "success", host: hostname(), backup: id,
    ...(failed ? { failedComponent: failed } : {}), ...(outcome.error ? { reason: outcome.error.message } : {}), components: outcome.results,
  }, (m) => out.warn(m));
  out.result({ ok: !outcome.error, backup: id, results: outcome.results, snapshot: outcome.snapshot, peakRssKB: process.resourceUsage().maxRSS, ...(outcome.error ? { error: outcome.error.message } : {}) });
  if (outcome.error) {
    if (outcome.snapshot) out.info(`the state before this ${event} is in ${relative(project.root, outcome.snapshot)}; undo with rollback.mts --backup ${relative(project.root, outcome.snapshot)} -y${undoKeyHint(project, readManifest(outcome.snapshot))}`);
    throw outcome.error instanceof ClawError ? outcome.error : new ClawError(outcome.error.message);
  }
  out.success(`${event} from ${id} done`);
  return 0;
}

export async function backupCommand({ args, out }: ScriptContext, root = projectRoot()): Promise<number> {
  const components = selectComponents({
    dbOnly: Boolean(args.flags["db-only"]), noUpload: Boolean(args.flags["no-upload"]),
    ...(args.flags.only !== undefined ? { only: String(args.flags.only) } : {}),
  });
  const project = await openProject({ root });
  const offsite = offsiteConfig(project.env); // a misconfiguration is refused before any work
  if (args.flags["dry-run"]) {
    out.info(`would back up: ${components.join(", ")} into backups/daily/<now>/ (then promote, prune)`);
    out.info(`needs running: ${[...new Set(components.flatMap((c) => NEEDS[c]))].join(", ") || "nothing"}`);
    if (components.includes("milvus")) out.info("milvus-standalone and minio are stopped briefly for a consistent copy");
    const enc = await encryptionConfig(project.env);
    out.info(enc ? `encrypted with age to ${enc.recipients.length} recipient(s)${enc.key ? " (the key in .env.prod can decrypt)" : " (decrypting needs the key: --identity <file>)"}` : "not encrypted (BACKUP_AGE_RECIPIENTS / BACKUP_ENCRYPTION_KEY unset)");
    return 0;
  }
  const started = Date.now();
  const r = await withRunLock(root, { script: SCRIPT, purpose: "backup" }, out, async (lock) => {
    if (lock.recoveredFrom) {
      // It may have died while it had services stopped for a consistent copy.
      await project.compose.removeOneOffs(project.effectiveName);
      const roles = [...new Set(components.flatMap((c) => NEEDS[c]))];
      const names = roles.map((r) => project.stack.services.find((s) => s.role === r)?.name).filter((n): n is string => !!n);
      if (names.length) await out.step(`making sure ${names.join(", ")} run again`, () => project.compose.up({ services: names, wait: true, noDeps: true }));
    }
    try {
      return await runBackup(project, out, { components, tier: "daily" });
    } catch (e) {
      // Only a run that really tried counts as a failed backup (not a refusal like a held lock).
      const failed = COMPONENTS.find((c) => (e as Error).message.startsWith(`${c}:`));
      writeMetrics(root, { success: false, finishedAt: new Date(), durationMs: Date.now() - started, components: {} });
      await notify(project.env.get("WEBHOOK_URL"), { event: "backup", status: "failure", host: hostname(), reason: (e as Error).message, ...(failed ? { failedComponent: failed } : {}) }, (m) => out.warn(m));
      throw e;
    }
  });
  const comps = Object.values(r.manifest.components);
  writeMetrics(root, { success: true, finishedAt: new Date(), durationMs: r.durationMs,
    components: Object.fromEntries(comps.map((c) => [c.name, { durationMs: c.durationMs, bytes: c.artifacts.reduce((s, a) => s + a.bytes, 0) }])) });
  const bytes = comps.reduce((s, c) => s + c.artifacts.reduce((t, a) => t + a.bytes, 0), 0);
  out.success(`backup ${r.id}: ${comps.map((c) => c.name).join(", ")}, ${formatBytes(bytes)} in ${(r.durationMs / 1000).toFixed(1)} s → ${relative(root, r.dir)}`);
  if (r.promoted.length) out.info(`promoted to ${r.promoted.join(", ")} (hard links)`);
  if (r.pruned.length) out.info(`pruned ${r.pruned.join(", ")}`);
  if (offsite) {
    try {
      const where = await out.step(`offsite copy to ${offsite.bucket}`, () => copyOffsite(offsite, r.dir, "daily", r.id, (m) => out.warn(m)));
      out.info(`offsite: s3://${offsite.bucket}/${where}/`);
    } catch (e) {
      await notify(project.env.get("WEBHOOK_URL"), { event: "backup", status: "failure", host: hostname(), backup: r.id, failedComponent: "offsite", reason: (e as Error).message }, (m) => out.warn(m));
      throw e;
    }
  }
  await notify(project.env.get("WEBHOOK_URL"), { event: "backup", status: "success", host: hostname(), backup: r.id, durationMs: r.durationMs }, (m) => out.warn(m));
  // Peak memory of this process, for the benchmark: data is streamed, so it stays flat.
  const peakRssKB = process.resourceUsage().maxRSS;
  out.debug(`peak RSS ${Math.round(peakRssKB / 1024)} MiB`);
  out.result({ ok: true, id: r.id, dir: relative(root, r.dir), bytes, durationMs: r.durationMs, peakRssKB, promoted: r.promoted, pruned: r.pruned, components: r.manifest.components });
  return 0;
}

