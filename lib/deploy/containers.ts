/**
 * One container at a time, by id: readiness by its own healthcheck (run by us every 0.5 s,
 * within the budget Docker would give it), the evidence when it fails (Docker's health log,
 * the last log lines), and a graceful stop. A rollout needs this because two containers of
 * one service run at once, and `compose exec <service>` cannot say which.
 */
import type { ContainerState } from "../commands/compose.ts";
import * as d from "../commands/docker.ts";
import { sleep } from "../core/async.ts";
import { ServiceUnhealthyError } from "../core/errors.ts";
import { lastLine, run } from "../core/exec.ts";
import { msg } from "../core/i18n/index.ts";
import { redactPersonal } from "../core/secret.ts";
import { MINUTE_MS, parseDurationMs, SECOND_MS } from "../core/time.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import type { ServiceModel } from "../project/stack.ts";

/**
 * Pure: how long a new container may take to pass its healthcheck: what Docker allows before
 * it calls it unhealthy (start_period, then `retries` failed checks `interval` apart), plus
 * 5 s. We probe every 0.5 s instead of every interval, so a healthy one is seen at once.
 */
export function readinessBudgetMs(svc: Pick<ServiceModel, "healthcheck">): number {
  const h = svc.healthcheck;
  if (!h) return 30 * SECOND_MS;
  // Docker reads 0 (or less) as its default, as it does an absent value.
  const interval = parseDurationMs(h.interval) || 30 * SECOND_MS;
  const start = parseDurationMs(h.startPeriod) ?? 0;
  const retries = h.retries !== undefined && h.retries > 0 ? h.retries : 3;
  return Math.min(15 * MINUTE_MS, start + retries * interval + 5 * SECOND_MS);
}

/** Pure: the grace a stop gives a container before SIGKILL: its stop_grace_period, else Docker's 10 s. */
export function stopGraceSec(svc: Pick<ServiceModel, "stopGracePeriod">): number {
  return Math.ceil((parseDurationMs(svc.stopGracePeriod) ?? 10 * SECOND_MS) / SECOND_MS);
}

/** The containers of a service, stopped ones included. */
export function containersOf(compose: ComposeClient, service: string): Promise<ContainerState[]> {
  return compose.ps({ all: true, services: [service] }).then((all) => all.filter((c) => c.service === service));
}

/**
 * Wait until the container passes its own healthcheck (or just runs, without one). Fails at
 * once when it exits; on failure the error names the check, and `evidence` gets Docker's
 * health log and the container's last log lines.
 */
export async function waitContainerReady(
  compose: ComposeClient,
  svc: ServiceModel,
  c: Pick<ContainerState, "id" | "name">,
  what: string,
  evidence: (lines: string[]) => void,
): Promise<void> {
  const probe = compose.healthcheck(svc.name);
  const budget = readinessBudgetMs(svc);
  const deadline = Date.now() + budget;
  let last = "";
  for (let i = 0; ; i++) {
    if (i % 4 === 0) {
      const state = (await run({ argv: d.dockerState(c.id) }, { allowFailure: true })).stdout.trim();
      if (!state.startsWith("running")) {
        evidence(await diagnose(c.id));
        throw new ServiceUnhealthyError(
          msg.deploy.containers.stoppedBeforeHealthy({ what, name: c.name, state: state || msg.deploy.containers.gone }),
          logsHint(c.name),
        );
      }
      if (!probe) return;
    }
    if (probe) {
      const r = await run({ argv: d.dockerExec(c.id, probe) }, { allowFailure: true, timeoutMs: 30_000 }).catch((e: Error) => ({
        status: -1,
        stdout: "",
        stderr: e.message,
      }));
      if (r.status === 0) {
        compose.noteReady(c.id);
        return;
      }
      last = lastLine(r.stderr || r.stdout) || msg.core.errors.exitStatus({ status: r.status });
    }
    if (Date.now() > deadline) {
      evidence(await diagnose(c.id));
      throw new ServiceUnhealthyError(
        msg.deploy.containers.failedHealthCheck({
          what,
          name: c.name,
          secs: Math.round(budget / 1000),
          check: probe?.join(" ") ?? msg.deploy.containers.noCheck,
          last,
        }),
        logsHint(c.name),
      );
    }
    await sleep(500);
  }
}

const logsHint = (name: string) => msg.deploy.containers.logsHint({ name });

/** Docker's health log (the last probes' output) and the last log lines, as printable lines. */
export async function diagnose(id: string, tail = 20): Promise<string[]> {
  const h = await run({ argv: d.dockerHealthLog(id) }, { allowFailure: true });
  const logs = await run({ argv: d.dockerLogs(id, tail) }, { allowFailure: true });
  return diagnosticLines(h.stdout, `${logs.stdout}${logs.stderr}`, tail);
}

/**
 * Pure: the evidence from Docker's health record (its JSON) and a log tail: the last 3 probes,
 * then the lines. Each line is masked here, where it is made: an app's logs hold its users'
 * data (e-mail addresses, rows in a database's errors) and our secrets, and these lines are
 * printed, kept in the run's log, and may be carried by an error to the ledger and the webhook.
 */
export function diagnosticLines(healthJson: string, logs: string, tail: number): string[] {
  const lines: string[] = [];
  try {
    const health = JSON.parse(healthJson || "null") as { Status?: string; Log?: Array<{ ExitCode: number; Output: string }> } | null;
    for (const p of (health?.Log ?? []).slice(-3)) lines.push(msg.deploy.containers.healthLogLine({ code: p.ExitCode, output: lastLine(p.Output) }));
  } catch {
    // no health record (no healthcheck, or the container is gone)
  }
  const text = logs.trim();
  if (text) lines.push(msg.deploy.containers.lastLogLines({ n: tail }), ...text.split("\n").map((l) => `  ${l}`));
  return lines.map(redactPersonal);
}

/** Stop gracefully (SIGTERM, then SIGKILL after the grace) and remove: never its volumes. */
export async function stopAndRemove(ids: readonly string[], graceSec: number): Promise<void> {
  if (ids.length === 0) return;
  await run({ argv: d.dockerStop(ids, graceSec) }, { timeoutMs: (graceSec + 60) * SECOND_MS });
  await run({ argv: d.dockerRemoveStopped(ids) });
}

export interface ContainerRelease {
  id: string;
  imageId: string;
  created: string;
  name: string;
}

/** Image id and creation time of containers (by id or name). */
export async function describeContainers(ids: readonly string[]): Promise<ContainerRelease[]> {
  if (ids.length === 0) return [];
  const r = await run({ argv: d.dockerDescribe(ids) }, { allowFailure: true });
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(" "))
    .filter((p) => p.length >= 4)
    .map(([id, imageId, created, name]) => ({ id: id!, imageId: imageId!, created: created!, name: name!.replace(/^\//, "") }));
}
