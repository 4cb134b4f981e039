/**
 * Runs the compose builders of lib/commands/compose.ts, filling the gaps of Compose v1
 * (no `--wait`, no JSON `ps`, no `cp`) with docker-level fallbacks.
 */

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ComposeFlavor, ComposeProject, ContainerState, ExecOptions, UpOptions } from "../commands/compose.ts";
import * as b from "../commands/compose.ts";
import * as d from "../commands/docker.ts";
import { sleep } from "../core/async.ts";
import { type ServiceControl, type WhileStoppedOptions, whileStopped } from "../core/cleanup.ts";
import { ClawError, PreconditionError, ServiceUnhealthyError } from "../core/errors.ts";
import { canRun, type RunOptions, type RunResult, run } from "../core/exec.ts";
import { msg } from "../core/i18n/index.ts";
import { SERVICE_READY_TIMEOUT_MS } from "../core/time.ts";

export async function requireDocker(): Promise<void> {
  if (!(await canRun({ argv: d.dockerInfo() }))) {
    throw new PreconditionError(msg.project.infra.compose.dockerUnreachable, msg.project.infra.compose.dockerUnreachableHint);
  }
}

/** Docker's data root, where the volumes live; undefined when the daemon is not on this host or does not say. */
export async function dockerRootDir(): Promise<string | undefined> {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith("unix://")) return undefined;
  const r = await run({ argv: d.dockerRootDirInfo() }, { allowFailure: true, timeoutMs: 20_000 });
  const dir = r.stdout.trim();
  return r.status === 0 && dir.startsWith("/") ? dir : undefined;
}

export async function detectComposeFlavor(): Promise<ComposeFlavor> {
  if (await canRun({ argv: d.composeV2Version() })) return "v2";
  if (await canRun({ argv: d.composeV1Version() })) return "v1";
  throw new PreconditionError(msg.project.infra.compose.composeMissing, msg.project.infra.compose.composeMissingHint);
}

/** How long a passed probe stands for a container's readiness (a restore's start, then its stack check). */
const PROVEN_READY_FOR_MS = 60_000;

/** A quarter of a container's default weight (1024). */
export const BACKGROUND_CPU_SHARES = 256;

export class ComposeClient implements ServiceControl {
  /**
   * @param healthchecks each service's compose healthcheck test, when known (the stack model):
   *   lets `up --wait` of named services probe readiness itself (see waitReady).
   */
  constructor(
    readonly project: ComposeProject,
    private readonly healthchecks: Readonly<Record<string, readonly string[] | string | undefined>> = {},
    /** Variables Compose interpolates with, over .env.prod's (a deploy's CLAW_AI_TAG). */
    readonly env: Readonly<Record<string, string>> = {},
    /**
     * The project's effective name (Compose's label on its containers): lets exec, cp, stop
     * and start address containers by id with one short docker call instead of a Compose
     * process each (0.4-1 s of loading the project before the command even starts).
     */
    readonly name: string | undefined = project.projectName,
  ) {}

  /** The containers stop() stopped, per service: startReady starts exactly those again. */
  private readonly stoppedIds = new Map<string, string[]>();

  /** The same client with these variables set for Compose (they win over the env file's). */
  withEnv(env: Readonly<Record<string, string>>): ComposeClient {
    const c = new ComposeClient(this.project, this.healthchecks, { ...this.env, ...env }, this.name);
    // The same containers: what one proved ready the other knows.
    c.proven = this.proven;
    return c;
  }

  /** Every container of the project (one-offs excluded), lowest container number first; undefined when the name is unknown. */
  async containers(): Promise<d.ProjectContainer[] | undefined> {
    if (!this.name) return undefined;
    const out = await this.run(d.dockerProjectContainers(this.name));
    const all = d.parseProjectContainers(out.stdout).sort((a, b) => a.number - b.number);
    // None at all under this name: it may not be the name Compose uses; every caller then goes
    // through Compose itself rather than conclude that nothing runs (a stop that stops nothing).
    return all.length ? all : undefined;
  }

  /**
   * Whether these containers run the service's definition as it is now (image reference and
   * id, environment: see runsDefinition): a rollout leaves them alone. Undefined if unknown.
   */
  async upToDate(service: string, ids: readonly string[]): Promise<boolean | undefined> {
    if (this.project.flavor !== "v2" || ids.length === 0) return undefined;
    const cfg = await this.resolvedConfig();
    if (cfg === undefined) return undefined;
    const svc = (JSON.parse(cfg) as { services?: Record<string, { image?: string; environment?: Record<string, string | null> }> }).services?.[
      service
    ];
    if (!svc?.image) return undefined;
    const img = await this.run(d.dockerImageInspect(svc.image), { allowFailure: true });
    const imageId = img.status === 0 ? img.stdout.trim().split(" ")[0] : undefined;
    if (!imageId) return false;
    const inspected = JSON.parse((await this.run(d.dockerInspect(ids))).stdout) as Array<{
      Image: string;
      Config: { Image: string; Env?: string[] };
    }>;
    return inspected.every((c) =>
      b.runsDefinition(
        { image: svc.image!, imageId, environment: svc.environment ?? {} },
        { image: c.Config.Image, imageId: c.Image, env: c.Config.Env ?? [] },
      ),
    );
  }

  /** A service's healthcheck as an argv to exec, when it has one. */
  healthcheck(service: string): string[] | undefined {
    return b.healthcheckArgv(this.healthchecks[service]);
  }

  private run(argv: readonly string[], ro: RunOptions = {}, env?: Record<string, string>): Promise<RunResult> {
    const all = { ...this.env, ...env };
    return run({ argv, ...(Object.keys(all).length ? { env: all } : {}) }, ro);
  }

  async ps(o: { all?: boolean; services?: readonly string[] } = {}): Promise<ContainerState[]> {
    const out = await this.run(b.ps(this.project, o));
    if (this.project.flavor === "v2") return b.parsePsJson(out.stdout);
    const ids = out.stdout
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) return [];
    return b.parseInspect((await this.run(d.dockerInspect(ids))).stdout);
  }

  async up(o: UpOptions = {}, timeoutMs = SERVICE_READY_TIMEOUT_MS): Promise<void> {
    const probes = o.wait && o.noDeps && o.services?.length ? o.services.map((s) => [s, b.healthcheckArgv(this.healthchecks[s])] as const) : [];
    if (probes.length && probes.every(([, argv]) => argv)) {
      // Services a backup or restore stopped, started again in the caller's order: one `up`
      // each (in one call Compose would wait for each depends_on health condition, i.e. for
      // Docker's first check), then probed for readiness ourselves.
      for (const s of o.services!) {
        await this.run(b.up(this.project, { ...o, services: [s], wait: false }), {
          timeoutMs,
          hint: msg.project.infra.compose.logsHint({ services: s }),
        });
      }
      await this.waitReady(probes as ReadonlyArray<readonly [string, string[]]>, timeoutMs);
      return;
    }
    await this.run(b.up(this.project, o), { timeoutMs, hint: msg.project.infra.compose.logsHintAny });
    if (o.wait && this.project.flavor === "v1") await this.waitHealthy(o.services, timeoutMs);
  }

  /**
   * Run each service's own healthcheck command in it every 0.5 s until it passes: the same
   * test Docker runs, but Docker 20.10 (no start_interval) runs it first one whole interval
   * after start, which would add 5-15 s to every pause of a service for a backup.
   */
  async waitReady(probes: ReadonlyArray<readonly [string, readonly string[]]>, timeoutMs = SERVICE_READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(probes.map(([service, argv]) => this.probeUntilReady(service, argv, deadline, timeoutMs)));
  }

  /**
   * One service's probing for waitReady. A new attempt every 0.5 s once the last one ended; one
   * that has run for 2 s may be waiting on a service that is not up yet (`celery inspect ping
   * --timeout 10`) and must not hold back the one that will see it up, so then another starts
   * beside it (at most 3 at once). Not more: each attempt is a process in the container
   * (celery's costs a second of CPU), and a 2-core host starting four services has none to spare.
   */
  private probeUntilReady(service: string, argv: readonly string[], deadline: number, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let inFlight = 0;
      let lastStart = 0;
      let done = false;
      // The attempts still running once one passed are killed: the run must not wait for them.
      const abort = new AbortController();
      const idOf = this.runningIdOnce(service);
      const attempt = async () => {
        inFlight++;
        lastStart = Date.now();
        // By container id (`docker exec`): `compose exec` picks container #1, which a deploy
        // may have replaced by #2 (Compose v1 and early v2 then refuse); faster, too.
        const id = await idOf();
        const r =
          id && !done
            ? await this.run(d.dockerExec(id, argv), { allowFailure: true, timeoutMs: 30_000, signal: abort.signal }).catch(() => undefined)
            : undefined;
        inFlight--;
        if (r?.status === 0 && !done) {
          this.proven.set(id!, Date.now());
          done = true;
          abort.abort();
          resolve();
        }
      };
      const tick = () => {
        if (done) return;
        if (Date.now() > deadline) {
          done = true;
          abort.abort();
          const m = msg.project.infra.compose;
          reject(new ServiceUnhealthyError(m.notHealthyIn({ service, secs: Math.round(timeoutMs / 1000) }), m.inspectHint({ service }), service));
          return;
        }
        if (inFlight === 0 || (inFlight < 3 && Date.now() - lastStart >= 2000)) void attempt();
        setTimeout(tick, 500);
      };
      tick();
    });
  }

  /** A service's container id, resolved once it runs (a `docker ps` on every probe was half of the probing's calls). */
  private runningIdOnce(service: string): () => Promise<string | undefined> {
    let running: string | undefined;
    return async () => {
      if (running) return running;
      const c = (await this.containers().catch(() => undefined))?.find((x) => x.service === service && x.state === "running");
      if (c) {
        running = c.id;
        return running;
      }
      return this.containerId(service).catch(() => undefined);
    };
  }

  /** `compose config --format json`: the resolved definition of every active service (undefined when it cannot be read). */
  async resolvedConfig(): Promise<string | undefined> {
    const r = await this.run(b.configJson(this.project), { allowFailure: true });
    return r.status === 0 ? r.stdout : undefined;
  }

  /**
   * Every active service up, then every container proven ready: by our own probe (its
   * healthcheck run every 0.5 s; running, for one without) unless Docker's last check of it
   * passed or this client's probe did within the last minute. With `recreate` (the definitions
   * changed) the whole project goes through `up -d`; otherwise only services without a running
   * container do, with --no-deps: `up` of the whole project waits for each depends_on health
   * condition, i.e. for Docker's first check one whole health interval after a start.
   */
  async upReady(o: { recreate?: boolean } = {}, timeoutMs = SERVICE_READY_TIMEOUT_MS): Promise<void> {
    const hint = msg.project.infra.compose.logsHintAny;
    const cfg = this.name && this.project.flavor === "v2" ? await this.resolvedConfig() : undefined;
    if (!cfg) {
      await this.up({ wait: true }, timeoutMs);
      return;
    }
    const active = Object.keys((JSON.parse(cfg) as { services?: Record<string, unknown> }).services ?? {});
    const before = (await this.containers()) ?? [];
    const missing = active.filter((s) => !before.some((c) => c.service === s && c.state === "running"));
    if (o.recreate) await this.run(b.up(this.project, {}), { timeoutMs, hint });
    else if (missing.length) await this.run(b.up(this.project, { services: missing, noDeps: true }), { timeoutMs, hint });
    const all = ((await this.containers()) ?? []).filter((c) => active.includes(c.service));
    // A service is down when none of its containers runs (an exited one beside a running one is a leftover).
    const down = all
      .filter((c) => c.state !== "running" && !all.some((x) => x.service === c.service && x.state === "running"))
      .map((c) => `${c.service} (${c.state})`);
    if (down.length)
      throw new ServiceUnhealthyError(
        msg.project.infra.compose.servicesNotRunning({ services: down.join(", ") }),
        msg.project.infra.compose.inspectHint({ service: down[0]!.split(" ")[0]! }),
      );
    const known = this.knownReadyIn(all);
    const probes = active.flatMap((s) => {
      const argv = b.healthcheckArgv(this.healthchecks[s]);
      return argv && !known.has(s) ? [[s, argv] as const] : [];
    });
    await this.waitReady(probes, timeoutMs);
  }

  /**
   * The services whose readiness is already known, so a check of the whole stack need not probe
   * them: Docker's own last check of the running container passed, or this client proved it
   * moments ago (a restore's startReady, a deploy's new container). `celery inspect ping`
   * alone costs a second or more of CPU each time.
   */
  async knownReady(): Promise<Set<string>> {
    return this.knownReadyIn((await this.containers()) ?? []);
  }
  private knownReadyIn(all: readonly d.ProjectContainer[]): Set<string> {
    const running = all.filter((c) => c.state === "running");
    return new Set(running.filter((c) => c.health === "healthy" || this.provenSinceStart(c)).map((c) => c.service));
  }

  /**
   * Our probe passed within the last minute and the container has run since (a restart by its
   * restart policy keeps the id: Docker's uptime then is shorter than the proof's age), and
   * Docker has not found it unhealthy since.
   */
  private provenSinceStart(c: d.ProjectContainer): boolean {
    const at = this.proven.get(c.id);
    if (at === undefined || Date.now() - at >= PROVEN_READY_FOR_MS || c.health === "unhealthy" || c.upSeconds === undefined) return false;
    return c.upSeconds + 1 >= (Date.now() - at) / 1000;
  }

  /** A container a caller's own probe saw pass its healthcheck (see knownReady). */
  noteReady(id: string): void {
    this.proven.set(id, Date.now());
  }

  /**
   * Containers waitReady saw pass their healthcheck, with when: see upReady. Forgotten when
   * this client stops or starts anything (startReady proves what it starts again).
   */
  private proven = new Map<string, number>();

  /** Poll until every (selected) container runs and is healthy where it has a healthcheck. */
  async waitHealthy(services?: readonly string[], timeoutMs = SERVICE_READY_TIMEOUT_MS): Promise<ContainerState[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await this.ps({ all: true, ...(services?.length ? { services } : {}) });
      const pending = states.filter((s) => s.state !== "running" || (s.health !== "healthy" && s.health !== "none"));
      const dead = states.filter((s) => s.state === "exited" || s.state === "dead" || s.health === "unhealthy");
      if (states.length > 0 && pending.length === 0) return states;
      if (dead.length > 0 || Date.now() > deadline) {
        const names = (dead.length ? dead : pending).map((s) => `${s.service} (${s.health !== "none" ? s.health : s.state})`);
        throw new ServiceUnhealthyError(
          msg.project.infra.compose.servicesNotHealthy({ services: names.join(", ") }),
          msg.project.infra.compose.inspectHint({ service: (dead[0] ?? pending[0])?.service ?? "" }),
        );
      }
      await sleep(1000);
    }
  }

  async exec(
    service: string,
    command: readonly string[],
    eo: ExecOptions = {},
    ro: RunOptions = {},
    env?: Record<string, string>,
  ): Promise<RunResult> {
    if (!this.name) return this.run(b.exec(this.project, service, command, eo), ro, env);
    const stdin = ro.stdinFile !== undefined || ro.input !== undefined;
    const id = await this.runningId(service);
    if (id === undefined) return this.run(b.exec(this.project, service, command, eo), ro, env);
    if (id === null) {
      // As `compose exec` does: a failed command, which allowFailure callers read as a status.
      if (ro.allowFailure) return { status: 1, stdout: "", stderr: msg.project.infra.compose.notRunning({ service }) };
      throw new ClawError(msg.project.infra.compose.notRunning({ service }), { hint: msg.project.infra.compose.startHint({ service }) });
    }
    return this.run(d.dockerExecWith(id, command, { ...eo, stdin }), ro, env);
  }

  /** A one-off container of a service (`run --rm -T`), e.g. to work on its volumes while it is stopped. */
  runOnce(
    service: string,
    command: readonly string[],
    o: ExecOptions & { entrypoint?: string; noDeps?: boolean; volumes?: readonly string[] } = {},
    ro: RunOptions = {},
  ): Promise<RunResult> {
    if (!ro.timeoutMs) return this.run(b.runOnce(this.project, service, command, o), ro);
    // `compose run` has no --init, and the SIGTERM of a time limit reaches a PID 1 (sh, python)
    // that ignores it while the CLI waits for the container: the limit kills the container itself.
    const runId = randomUUID();
    const kill = async () => {
      const ids = (await this.run(d.dockerIdsLabelled(b.RUN_ID_LABEL, runId), { allowFailure: true })).stdout.split("\n").filter(Boolean);
      if (ids.length) await this.run(d.dockerKill(ids), { allowFailure: true });
    };
    return this.run(b.runOnce(this.project, service, command, { ...o, runId }), { ...ro, onTimeout: kill });
  }

  /**
   * A one-off container on a service's own mounts (its image, user and environment), for
   * work on its volumes while it is stopped: `docker run` on what `docker inspect` of its
   * container says, about a second faster than `compose run` per call. A service that has
   * no container yet goes through `compose run`.
   */
  async onVolumes(
    service: string,
    command: readonly string[],
    o: { entrypoint?: string; volumes?: readonly string[]; background?: boolean } = {},
    ro: RunOptions = {},
  ): Promise<RunResult> {
    const id = this.name ? await this.containerId(service).catch(() => undefined) : undefined;
    if (!id)
      return this.runOnce(
        service,
        command,
        { ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}), ...(o.volumes ? { volumes: o.volumes } : {}), noDeps: true },
        ro,
      );
    const spec = d.parseRunSpec((await this.run(d.dockerInspect([id]))).stdout);
    // The container's environment goes to the container only, through a private env file:
    // never into the environment of the docker CLI (a process on the host, run through a shell).
    const dir = mkdtempSync(join(tmpdir(), "claw-env-"));
    try {
      const envFile = join(dir, "env");
      writeFileSync(envFile, d.envFileText(spec.env).text, { mode: 0o600 });
      const argv = d.dockerRunOnMounts(this.name!, spec.image, spec.mounts, command, {
        ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}),
        ...(spec.user ? { user: spec.user } : {}),
        envFile,
        extraVolumes: o.volumes ?? [],
        // Work beside what runs (a restore staged while the services serve) yields the CPU to them and to the critical path.
        ...(o.background ? { cpuShares: BACKGROUND_CPU_SHARES } : {}),
      });
      return await this.run(argv, ro);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Remove claw-ops' own one-off (`compose run`) containers left by a run that was killed:
   * they may still hold a volume that a restore is about to replace. An operator's own
   * `compose run` containers lack our label and are never touched.
   */
  async removeOneOffs(projectName: string): Promise<number> {
    const ids = new Set<string>();
    for (const projectLabel of [b.COMPOSE_PROJECT_LABEL, d.THROWAWAY_PROJECT_LABEL]) {
      const out = await this.run(d.dockerOneOffIds(projectLabel, projectName));
      for (const id of out.stdout
        .split("\n")
        .map((s) => s.trim())
        .filter(Boolean))
        ids.add(id);
    }
    if (ids.size) await this.run(d.dockerRemove([...ids]));
    return ids.size;
  }

  /**
   * Run a command in a throwaway container of the image `service` runs right now (same
   * version as the live data), without its volumes or any network: restore drills.
   */
  async throwaway(
    projectName: string,
    service: string,
    command: readonly string[],
    o: { entrypoint?: string; user?: string } = {},
    ro: RunOptions = {},
  ): Promise<RunResult> {
    const image = (await this.run(d.dockerImageOf(await this.containerId(service)))).stdout.trim();
    return this.run(d.dockerRunThrowaway(projectName, image, command, o), ro);
  }

  /**
   * A command on a service's data: exec in its container when it runs, else a one-off on its
   * mounts (ComposeClient.onVolumes). For reads that must not wait for a stopped service.
   */
  async onData(service: string, command: readonly string[], ro: RunOptions = {}): Promise<RunResult> {
    const id = await this.runningId(service);
    // Its running container, found once (exec would look it up again).
    if (id) return this.run(d.dockerExecWith(id, ["sh", ...command], { stdin: ro.stdinFile !== undefined || ro.input !== undefined }), ro);
    if (id === undefined) return this.exec(service, ["sh", ...command], {}, ro);
    return this.onVolumes(service, command, { entrypoint: "sh" }, ro);
  }

  /**
   * A read-only tool run on a file (stdin) with a service's image: in its running container
   * (quick), or in a throwaway container of the same image when the service is stopped, so a
   * check never depends on the service being up (a rollback that died may have left it down).
   */
  async execOrThrowaway(service: string, command: readonly string[], ro: RunOptions = {}): Promise<RunResult> {
    // Running, or not known by label (Compose's exec then decides).
    if (!this.name || (await this.runningId(service)) !== null) return this.exec(service, command, {}, ro);
    // The command's own program as the entrypoint: the image's entrypoint script stays out of it.
    return this.throwaway(this.name!, service, command.slice(1), { entrypoint: command[0]! }, ro);
  }

  async containerId(service: string): Promise<string> {
    const all = await this.containers();
    const id = all
      ? (all.find((c) => c.service === service && c.state === "running") ?? all.find((c) => c.service === service))?.id
      : (await this.run(b.psQuiet(this.project, service))).stdout.trim().split("\n")[0];
    if (!id) throw new PreconditionError(msg.project.infra.compose.noContainer({ service }), msg.project.infra.compose.startHint({ service }));
    return id;
  }

  /** The running container of a service (null: none runs; undefined: the project's containers cannot be found by label). */
  async runningId(service: string): Promise<string | null | undefined> {
    const all = await this.containers();
    if (!all) return undefined;
    return all.find((x) => x.service === service && x.state === "running")?.id ?? null;
  }

  /** Copy between a service and the host; `from`/`to` use the `service:path` form. */
  async cp(from: string, to: string): Promise<void> {
    if (this.project.flavor === "v2" && !this.name) {
      await this.run(b.cp(this.project, from, to));
      return;
    }
    const resolve = async (spec: string) => {
      const m = /^([A-Za-z0-9_.-]+):(\/.*)$/.exec(spec);
      return m ? `${await this.containerId(m[1]!)}:${m[2]}` : spec;
    };
    await this.run(d.dockerCp(await resolve(from), await resolve(to)));
  }

  /** Stop services, run the work, start them again and wait until ready, whatever happened (errors joined). */
  whileStopped<T>(services: readonly string[], work: () => Promise<T>, o: WhileStoppedOptions = {}): Promise<T> {
    return whileStopped(this, services, work, o);
  }

  /**
   * Start services a run stopped, in this order, and wait until each is ready. Their stopped
   * containers are started as they are (`docker start`: what `compose start` does, without a
   * Compose process each) and probed every 0.5 s; `recreate` (the configuration was restored)
   * or a missing container goes through `compose up`, which applies the current definition.
   */
  async startReady(services: readonly string[], o: { recreate?: boolean } = {}): Promise<void> {
    const all = o.recreate ? undefined : await this.containers();
    const probes = services.map((s) => [s, b.healthcheckArgv(this.healthchecks[s])] as const);
    // The containers this client stopped, else each service's lowest-numbered one that is not running.
    const ids = all
      ? services.map((s) => {
          const ours = this.stoppedIds.get(s)?.filter((id) => all.some((c) => c.id === id));
          return ours?.length
            ? ours
            : all
                .filter((c) => c.service === s && c.state !== "running")
                .slice(0, 1)
                .map((c) => c.id);
        })
      : [];
    if (!all || ids.some((x) => x.length === 0) || !probes.every(([, argv]) => argv)) {
      await this.up({ services, wait: true, noDeps: true });
      return;
    }
    for (const s of services) this.stoppedIds.delete(s);
    await this.run(d.dockerStart(ids.flat()), { hint: msg.project.infra.compose.logsHint({ services: services.join(" ") }) });
    await this.waitReady(probes as ReadonlyArray<readonly [string, string[]]>);
  }

  /** Stop services (each container's own stop_grace_period, as Compose does). */
  async stop(services: readonly string[], timeoutSec?: number): Promise<void> {
    this.proven.clear();
    // Compose v1 does not store stop_grace_period in the container: its own stop applies it.
    const all = this.project.flavor === "v2" ? await this.containers() : undefined;
    if (!all) {
      await this.run(b.stop(this.project, services, timeoutSec === undefined ? {} : { timeoutSec }));
      return;
    }
    const live = all.filter((c) => services.includes(c.service) && c.state !== "exited" && c.state !== "created");
    for (const s of services) {
      const mine = live.filter((c) => c.service === s).map((c) => c.id);
      if (mine.length) this.stoppedIds.set(s, mine);
    }
    const ids = live.map((c) => c.id);
    if (ids.length === 0) return;
    await this.run(d.dockerStop(ids, timeoutSec));
  }
  async start(services: readonly string[]): Promise<void> {
    this.proven.clear();
    await this.run(b.start(this.project, services));
  }
  async restart(services: readonly string[]): Promise<void> {
    this.proven.clear();
    await this.run(b.restart(this.project, services));
  }
  async down(o: { volumes?: boolean; removeOrphans?: boolean; timeoutSec?: number } = {}): Promise<void> {
    await this.run(b.down(this.project, o), { timeoutMs: 300_000 });
  }
  async logs(services: readonly string[], tail = 100): Promise<string> {
    return (await this.run(b.logs(this.project, services, { tail }), { allowFailure: true })).stdout;
  }
}
