/**
 * deploy.mts: typed options from the flags (one mode per run), then one handler per mode:
 * deploy (or go back to a release), --list-releases, --status.
 */
import { UsageError } from "../core/errors.ts";
import { displayWidth, msg, padCells } from "../core/i18n/index.ts";
import { RELEASE_TAG } from "../core/names.ts";
import type { Output } from "../core/output.ts";
import { confirmOrRefuse, isInteractive } from "../core/prompts.ts";
import { operatorCommand, SCRIPTS } from "../core/vocabulary/scripts.ts";
import { applyDeploy } from "../deploy/apply.ts";
import { containersOf } from "../deploy/containers.ts";
import {
  currentRelease,
  formatReleases,
  newReleaseId,
  type ReleaseRecord,
  readLedger,
  reportInterruptedDeploy,
  rollbackTarget,
} from "../deploy/ledger.ts";
import { printSummary } from "../deploy/outcome.ts";
import { describeDeploy } from "../deploy/plan.ts";
import { type DeployRequest, prepareDeploy } from "../deploy/prepare.ts";
import { describeTlsPlan, shownTlsPlan } from "../deploy/tls.ts";
import { openProject, type Project, projectRoot } from "../project/project.ts";
import { servingTarget } from "../project/serving.ts";
import type { ParsedArgs } from "./flags.ts";
import { printResult } from "./result.ts";
import type { ScriptContext } from "./run.ts";
import { withRunLock } from "./run-lock.ts";

const SCRIPT = SCRIPTS.deploy;

export type DeployCommand =
  | { mode: "list-releases" }
  | { mode: "status" }
  | {
      mode: "deploy";
      /** undefined: CLAW_AI_TAG of .env.prod. */
      tag: string | undefined;
      skipBackup: boolean;
      skipMigrations: boolean;
      skipSsl: boolean;
      skipHealthCheck: boolean;
      restoreDbOnFailure: boolean;
      checkDns: boolean;
      dryRun: boolean;
      yes: boolean;
    }
  | {
      mode: "rollback-release";
      id: string | undefined;
      skipBackup: boolean;
      skipSsl: boolean;
      skipHealthCheck: boolean;
      dryRun: boolean;
      yes: boolean;
    };

const MODES = ["list-releases", "status", "rollback-release"] as const;
const DEPLOY_ONLY = ["tag", "skip-migrations", "skip-migrate", "restore-db-on-failure"] as const;

/** Pure: the typed command of a deploy.mts run; conflicting modes and flags are a usage error. */
export function deployCommand(args: ParsedArgs): DeployCommand {
  const f = args.flags;
  const given = (k: string) => f[k] !== undefined && f[k] !== false;
  const modes = MODES.filter(given);
  if (modes.length > 1) throw new UsageError(msg.deploy.cli.modesConflict({ a: modes[0]!, b: modes[1]! }));
  const mode = modes[0];
  const positional = args.positionals[0];
  if (positional !== undefined && mode !== "rollback-release")
    throw new UsageError(msg.deploy.cli.unexpectedArgument({ arg: JSON.stringify(positional) }), msg.deploy.cli.unexpectedArgumentHint);
  if (mode === "list-releases" || mode === "status") {
    const other = Object.keys(f).find((k) => given(k) && k !== mode && k !== "json" && k !== "verbose");
    if (other) throw new UsageError(msg.deploy.cli.takesNo({ mode, flag: other }));
    return { mode };
  }
  const common = {
    skipBackup: given("skip-backup"),
    skipSsl: given("skip-ssl"),
    skipHealthCheck: given("skip-health-check"),
    dryRun: given("dry-run"),
    yes: given("yes"),
  };
  if (mode === "rollback-release") {
    const bad = DEPLOY_ONLY.find(given);
    if (bad) throw new UsageError(msg.deploy.cli.takesNo({ mode, flag: bad }), msg.deploy.cli.rollbackTakesNoHint);
    return { mode, id: positional, ...common };
  }
  const tag = f.tag === undefined ? undefined : String(f.tag);
  if (tag !== undefined && !RELEASE_TAG.test(tag))
    throw new UsageError(msg.deploy.cli.badTag({ tag: JSON.stringify(tag) }), msg.deploy.cli.badTagHint);
  return {
    mode: "deploy",
    tag,
    ...common,
    skipMigrations: given("skip-migrations") || given("skip-migrate"),
    restoreDbOnFailure: given("restore-db-on-failure"),
    checkDns: given("check-dns"),
  };
}

export async function deployMain({ args, out }: ScriptContext, root = projectRoot()): Promise<number> {
  const cmd = deployCommand(args);
  if (cmd.mode === "list-releases") return listReleases(out, root);
  const project = await openProject({ root });
  if (cmd.mode === "status") return status(project, out);
  const { releases } = readLedger(root);
  const req = deployRequest(cmd, project, releases);
  const releaseId = newReleaseId(new Date(), new Set(releases.map((r) => r.id)));
  if (req.dryRun) return dryRun(project, out, req, releaseId);
  return withRunLock(root, lockHolder(req), out, async (lock) => {
    reportInterruptedDeploy(root, out);
    const { plan, compose, preflightMs } = await prepareDeploy(project, out, req, releaseId);
    for (const l of describeDeploy(plan)) out.info(l);
    // On a TTY the plan is confirmed (-y skips); without one a deploy goes ahead: it replaces no data.
    if (isInteractive() && !req.yes)
      await confirmOrRefuse(msg.deploy.cli.confirm({ ref: `${plan.image}:${plan.tag}` }), { yes: false, what: msg.deploy.cli.confirmWhat });
    const outcome = await applyDeploy(project, out, plan, compose, lock, preflightMs);
    printSummary(out, outcome.phases, plan);
    out.success(msg.deploy.cli.served({ id: outcome.releaseId, tag: outcome.tag, secs: (outcome.durationMs / 1000).toFixed(1) }));
    printResult(out, outcome);
    return 0;
  });
}

/** The request of a deploy or of a rollback to a release (the release it goes back to, checked against the configured image). */
function deployRequest(
  cmd: Extract<DeployCommand, { mode: "deploy" | "rollback-release" }>,
  project: Project,
  releases: readonly ReleaseRecord[],
): DeployRequest {
  let tag: string;
  let target: ReleaseRecord | undefined;
  if (cmd.mode === "rollback-release") {
    const t = rollbackTarget(releases, cmd.id);
    if (!t.ok) throw new UsageError(t.error, t.hint);
    target = t.release;
    tag = t.release.tag;
    const image = project.config.release.image;
    if (image && t.release.image !== image)
      throw new UsageError(
        msg.deploy.cli.otherImage({ id: t.release.id, image: t.release.image, configured: image }),
        msg.deploy.cli.otherImageHint({ image: t.release.image }),
      );
  } else {
    tag = cmd.tag ?? project.config.release.tag ?? "";
  }
  return {
    kind: cmd.mode === "deploy" ? ("deploy" as const) : ("rollback-release" as const),
    tag,
    skipBackup: cmd.skipBackup,
    skipMigrations: cmd.mode === "deploy" ? cmd.skipMigrations : true,
    skipSsl: cmd.skipSsl,
    skipHealthCheck: cmd.skipHealthCheck,
    restoreDbOnFailure: cmd.mode === "deploy" ? cmd.restoreDbOnFailure : false,
    checkDns: cmd.mode === "deploy" ? cmd.checkDns : false,
    dryRun: cmd.dryRun,
    yes: cmd.yes,
    ...(target ? { target } : {}),
  };
}

/** --dry-run: preflight and the plan, printed; nothing changes and no lock is taken. */
async function dryRun(project: Project, out: Output, req: DeployRequest, releaseId: string): Promise<number> {
  const { plan } = await prepareDeploy(project, out, req, releaseId);
  for (const l of describeDeploy(plan)) out.info(l);
  if (plan.tls) out.info(describeTlsPlan(shownTlsPlan(plan.tls)));
  out.info(msg.deploy.cli.dryRunDone);
  printResult(out, { ok: true, dryRun: true, plan });
  return 0;
}

/** Pure: the lock's owner: "deploy of …" / "release rollback to …", never read as a data restore by the other scripts. */
function lockHolder(req: DeployRequest) {
  return {
    script: SCRIPT,
    purpose: req.kind === "deploy" ? `deploy of release ${req.tag}` : `release rollback to ${req.target?.id ?? req.tag}`,
    finish: operatorCommand(SCRIPT, req.kind === "deploy" ? ["--tag", req.tag] : ["--rollback-release", ...(req.target?.id ? [req.target.id] : [])]),
  };
}

function listReleases(out: Output, root: string): number {
  const { releases, skipped } = readLedger(root);
  if (skipped) out.warn(msg.deploy.cli.skippedLines({ n: skipped }));
  if (out.json) {
    const current = currentRelease(releases)?.id;
    printResult(
      out,
      [...releases].reverse().map((r) => ({ ...r, serving: r.id === current })),
    );
    return 0;
  }
  process.stdout.write(`${formatReleases(releases)}\n`);
  return 0;
}

async function status(project: Project, out: Output): Promise<number> {
  const { releases } = readLedger(project.root);
  const current = currentRelease(releases);
  const last = releases[releases.length - 1];
  const states = await project.compose.ps({ all: true });
  const backend = project.stack.services.find((s) => s.role === "backend");
  const serving = servingTarget(project.root)?.host;
  const backends = backend ? await containersOf(project.compose, backend.name) : [];
  const services = project.stack.services.map((s) => {
    const cs = states.filter((c) => c.service === s.name);
    return {
      service: s.name,
      containers: cs.map((c) => ({ name: c.name, state: c.state, health: c.health })),
      // "starting": Docker has not run its first check yet (start_period); not a failure.
      ok: cs.length > 0 && cs.every((c) => c.state === "running" && c.health !== "unhealthy"),
    };
  });
  const ok = services.every((s) => s.ok);
  const result = {
    ok,
    release: current ? { id: current.id, tag: current.tag, image: current.image, deployedAt: current.finishedAt ?? current.startedAt } : null,
    envTag: project.config.release.tag ?? null,
    servingBackend: serving ?? null,
    backendContainers: backends.map((c) => c.name),
    lastDeploy: last
      ? { id: last.id, kind: last.kind, tag: last.tag, result: last.result, phase: last.phase ?? null, error: last.error ?? null }
      : null,
    services,
  };
  if (out.json) {
    printResult(out, result);
    return ok ? 0 : 1;
  }
  const t = msg.deploy.cli;
  const mark = Math.max(displayWidth(t.serviceOk), displayWidth(t.serviceDown));
  const lines = [
    current ? t.release({ id: current.id, ref: `${current.image}:${current.tag}`, at: current.finishedAt ?? current.startedAt }) : t.releaseNone,
    t.envTag({ tag: result.envTag }),
    t.nginxServes({ target: serving, backends: backends.length > 1 ? backends.map((c) => c.name).join(", ") : "" }),
    last
      ? t.lastDeploy({
          id: last.id,
          kind: last.kind,
          tag: last.tag,
          result: last.result,
          phase: last.result !== "succeeded" && last.phase ? last.phase : undefined,
          error: last.error,
        })
      : t.lastDeployNone,
    "",
    ...services.map(
      (s) =>
        `${padCells(s.ok ? t.serviceOk : t.serviceDown, mark)} ${padCells(s.service, 20)} ${s.containers.map((c) => `${c.name} ${c.state}${c.health !== "none" ? `/${c.health}` : ""}`).join(", ") || t.noContainer}`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return ok ? 0 : 1;
}
