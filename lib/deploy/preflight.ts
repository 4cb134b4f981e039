/**
 * Preflight: everything a deploy can check before it changes anything. Docker, Compose and
 * .env.prod are checked by openProject already; here: the compose model as Compose itself
 * reads it, free disk, the published ports, the hooks, and which images are missing.
 * Read-only; nothing here calls an outside service.
 */
import { accessSync, constants, existsSync, statfsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import * as b from "../commands/compose.ts";
import * as d from "../commands/docker.ts";
import { PreconditionError } from "../core/errors.ts";
import { lastLine, run } from "../core/exec.ts";
import { msg } from "../core/i18n/index.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import { composeVariable, type Project } from "../project/project.ts";
import { interpolate } from "../project/stack.ts";

export const HOOKS = ["pre-deploy", "post-deploy"] as const;
export type HookName = (typeof HOOKS)[number];

export interface PublishedPort {
  service: string;
  host: string | undefined;
  port: number;
  protocol: "tcp" | "udp";
}

/**
 * Pure: the host ports a service publishes, from its compose `ports` entries (already
 * interpolated): "127.0.0.1:5432:5432", "80:80", "8080:80/tcp", or the long syntax (JSON).
 * Entries without a fixed host port (ephemeral) are left out.
 */
export function publishedPorts(service: string, entries: readonly string[]): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const e of entries) {
    if (e.startsWith("{")) {
      const o = JSON.parse(e) as { published?: string | number; host_ip?: string; protocol?: string };
      const port = Number(o.published);
      if (Number.isInteger(port) && port > 0) out.push({ service, host: o.host_ip, port, protocol: o.protocol === "udp" ? "udp" : "tcp" });
      continue;
    }
    const [spec, proto] = e.split("/");
    const parts = spec!.split(":");
    if (parts.length < 2) continue;
    const hostPort = parts[parts.length - 2]!;
    const host =
      parts.length >= 3
        ? parts
            .slice(0, -2)
            .join(":")
            .replace(/^\[|\]$/g, "")
        : undefined;
    const port = Number(hostPort);
    if (Number.isInteger(port) && port > 0) out.push({ service, host: host || undefined, port, protocol: proto === "udp" ? "udp" : "tcp" });
  }
  return out;
}

export function stackPorts(project: Project): PublishedPort[] {
  const i = (x: string) => interpolate(x, (k) => composeVariable(project, k));
  return project.stack.services.flatMap((s) => publishedPorts(s.name, s.ports.map(i)));
}

/** Whether nothing listens on host:port (we can bind it ourselves for a moment). */
function canBind(host: string | undefined, port: number): Promise<"free" | "busy" | "denied"> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "EACCES" ? "denied" : "busy"));
    srv.listen({ host: host ?? "0.0.0.0", port, exclusive: true }, () => srv.close(() => resolve("free")));
  });
}

/** Refuse when a port the stack publishes is held by anything but this stack's own containers. */
export async function checkPorts(project: Project): Promise<PublishedPort[]> {
  const ports = stackPorts(project).filter((p) => p.protocol === "tcp");
  for (const p of ports) {
    const holders = (await run({ argv: d.dockerPublishers(p.port) })).stdout
      .split("\n")
      .map((l) => l.trim().split(" "))
      .filter(([n]) => n);
    const foreign = holders.find(([, proj]) => proj !== project.effectiveName);
    if (foreign) {
      throw new PreconditionError(
        msg.deploy.preflight.portPublished({ port: p.port, service: p.service, container: foreign[0]!, project: foreign[1] }),
        msg.deploy.preflight.portPublishedHint,
      );
    }
    if (holders.length) continue;
    const state = await canBind(p.host, p.port);
    if (state === "busy") {
      throw new PreconditionError(
        msg.deploy.preflight.portBusy({ address: `${p.host ? `${p.host}:` : ""}${p.port}`, service: p.service }),
        msg.deploy.preflight.portBusyHint({ port: p.port }),
      );
    }
  }
  return ports;
}

/** Compose's own reading of the files: refuses what `docker compose up` would refuse. */
export async function checkComposeConfig(compose: ComposeClient): Promise<void> {
  const r = await run({ argv: b.config(compose.project, { quiet: true }), env: { ...compose.env } }, { allowFailure: true, timeoutMs: 60_000 });
  if (r.status !== 0) {
    throw new PreconditionError(
      msg.deploy.preflight.composeInvalid({ reason: lastLine(r.stderr || r.stdout) }),
      msg.deploy.preflight.composeInvalidHint,
    );
  }
}

/** Refuse when the project's or Docker's disk has less than `minMb` free. */
export async function checkDisk(project: Project, minMb: number): Promise<Array<{ path: string; freeMb: number }>> {
  const dockerRoot = (await run({ argv: d.dockerRootDir() }, { allowFailure: true })).stdout.trim();
  const paths = [project.root, ...(dockerRoot && existsSync(dockerRoot) ? [dockerRoot] : [])];
  const out = paths.map((path) => {
    const s = statfsSync(path);
    return { path, freeMb: Math.floor((s.bavail * s.bsize) / 1048576) };
  });
  const low = out.find((x) => x.freeMb < minMb);
  if (low) {
    throw new PreconditionError(msg.deploy.preflight.lowDisk({ path: low.path, free: low.freeMb, min: minMb }), msg.deploy.preflight.lowDiskHint);
  }
  return out;
}

/** The hooks present; one that exists but cannot run is refused (it would fail mid-deploy). */
export function checkHooks(root: string): HookName[] {
  const present: HookName[] = [];
  for (const h of HOOKS) {
    const file = join(root, "hooks", h);
    if (!existsSync(file)) continue;
    try {
      accessSync(file, constants.X_OK);
    } catch {
      throw new PreconditionError(msg.deploy.preflight.hookNotExecutable({ hook: h }), msg.deploy.preflight.hookNotExecutableHint({ hook: h }));
    }
    present.push(h);
  }
  return present;
}

/** The images of the stack that are not on this machine (they must be pulled or built). */
export async function missingImages(refs: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const ref of new Set(refs)) {
    const r = await run({ argv: d.dockerImageInspect(ref) }, { allowFailure: true });
    if (r.status !== 0) missing.push(ref);
  }
  return missing;
}

/**
 * Each missing image must exist in its registry (`docker manifest inspect`, no pull): a typo
 * in --tag is refused here, before the backup, not in the images phase.
 */
export async function checkPullable(refs: readonly string[]): Promise<void> {
  for (const ref of refs) {
    const r = await run({ argv: d.dockerManifestInspect(ref) }, { allowFailure: true, timeoutMs: 120_000 });
    if (r.status === 0) continue;
    const why = lastLine(r.stderr || r.stdout) || msg.core.errors.exitStatus({ status: r.status });
    throw new PreconditionError(
      msg.deploy.preflight.notPullable({ ref, why }),
      /manifest unknown|no such manifest|not found/i.test(why) ? msg.deploy.preflight.checkTagHint : msg.deploy.preflight.checkRegistryHint,
    );
  }
}
