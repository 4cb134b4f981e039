/**
 * The stack model: `docker-compose.prod.yml` (plus overrides) parsed with `yaml` into typed
 * services. Scripts find services by their `ai.claw.role` label, never by container name.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { PreconditionError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";

export const ROLE_LABEL = "ai.claw.role";

export type Role =
  | "backend"
  | "postgres"
  | "redis"
  | "etcd"
  | "minio"
  | "milvus"
  | "celery-worker"
  | "celery-beat"
  | "flower"
  | "nginx"
  | "prometheus"
  | "grafana"
  | "loki"
  | "promtail"
  | "postgres-exporter"
  | "redis-exporter"
  | "node-exporter";

export interface VolumeMount {
  type: "volume" | "bind";
  source: string;
  target: string;
  readOnly: boolean;
}

export interface Healthcheck {
  test: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  startPeriod?: string;
}

export interface ServiceModel {
  name: string;
  role?: Role;
  containerName?: string;
  image?: string;
  volumes: VolumeMount[];
  healthcheck?: Healthcheck;
  dependsOn: Record<string, { condition: string }>;
  networks: string[];
  ports: string[];
  labels: Record<string, string>;
  /** The service has a `build:` section (a deploy builds it instead of pulling). */
  build?: boolean;
  /** `stop_grace_period` as written (e.g. "30s", "5m"). */
  stopGracePeriod?: string;
}

export interface StackModel {
  /** Top-level `name:` (the default compose project name), if any. */
  name?: string;
  services: ServiceModel[];
  volumes: string[];
  networks: string[];
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);

function parseVolume(v: unknown): VolumeMount {
  if (typeof v === "string") {
    const [source = "", target = "", mode = ""] = v.split(":");
    const bind = /^[./~]/.test(source);
    return { type: bind ? "bind" : "volume", source, target, readOnly: mode.split(",").includes("ro") };
  }
  if (isObj(v)) {
    return {
      type: v.type === "bind" ? "bind" : "volume",
      source: String(v.source ?? ""),
      target: String(v.target ?? ""),
      readOnly: v.read_only === true,
    };
  }
  throw new PreconditionError(msg.project.stack.unreadableVolume({ entry: JSON.stringify(v) }));
}

function toRecord(v: unknown): Record<string, string> {
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.map((e) => {
        const s = String(e);
        const i = s.indexOf("=");
        return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
      }),
    );
  }
  return isObj(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) : {};
}

function parseService(name: string, s: Raw): ServiceModel {
  const labels = toRecord(s.labels);
  const deps = s.depends_on;
  const dependsOn: Record<string, { condition: string }> = Array.isArray(deps)
    ? Object.fromEntries(deps.map((d) => [String(d), { condition: "service_started" }]))
    : isObj(deps)
      ? Object.fromEntries(Object.entries(deps).map(([k, d]) => [k, { condition: String((d as Raw)?.condition ?? "service_started") }]))
      : {};
  const hc = isObj(s.healthcheck) ? s.healthcheck : undefined;
  const model: ServiceModel = {
    name,
    volumes: Array.isArray(s.volumes) ? s.volumes.map(parseVolume) : [],
    dependsOn,
    networks: Array.isArray(s.networks) ? s.networks.map(String) : isObj(s.networks) ? Object.keys(s.networks) : [],
    ports: Array.isArray(s.ports) ? s.ports.map((p) => (isObj(p) ? JSON.stringify(p) : String(p))) : [],
    labels,
  };
  const role = labels[ROLE_LABEL];
  if (role) model.role = role as Role;
  if (typeof s.container_name === "string") model.containerName = s.container_name;
  if (typeof s.image === "string") model.image = s.image;
  if (s.build !== undefined && s.build !== null) model.build = true;
  if (typeof s.stop_grace_period === "string") model.stopGracePeriod = s.stop_grace_period;
  if (hc && hc.disable !== true) {
    model.healthcheck = {
      test: Array.isArray(hc.test) ? hc.test.map(String) : String(hc.test ?? ""),
      ...(hc.interval ? { interval: String(hc.interval) } : {}),
      ...(hc.timeout ? { timeout: String(hc.timeout) } : {}),
      ...(hc.retries !== undefined ? { retries: Number(hc.retries) } : {}),
      ...(hc.start_period ? { startPeriod: String(hc.start_period) } : {}),
    };
  }
  return model;
}

/** Merge compose documents the way Compose does for the keys we model (later files win per key). */
export function mergeComposeDocs(docs: readonly Raw[]): Raw {
  const out: Raw = { services: {}, volumes: {}, networks: {} };
  for (const d of docs) {
    for (const key of ["services", "volumes", "networks"] as const) {
      const target = out[key] as Raw;
      const src = isObj(d[key]) ? (d[key] as Raw) : {};
      for (const [name, body] of Object.entries(src)) {
        target[name] = key === "services" && isObj(target[name]) && isObj(body) ? { ...(target[name] as Raw), ...body } : (body ?? {});
      }
    }
  }
  return out;
}

export function parseStack(texts: readonly string[]): StackModel {
  const docs = texts.map((t) => {
    const d = parse(t) as unknown;
    if (!isObj(d)) throw new PreconditionError(msg.project.stack.notMapping);
    return d;
  });
  const merged = mergeComposeDocs(docs);
  const name = [...docs]
    .reverse()
    .map((d) => d.name)
    .find((n): n is string => typeof n === "string");
  return {
    ...(name ? { name } : {}),
    services: Object.entries(merged.services as Raw).map(([n, s]) => parseService(n, isObj(s) ? s : {})),
    volumes: Object.keys(merged.volumes as Raw),
    networks: Object.keys(merged.networks as Raw),
  };
}

export function loadStack(files: readonly string[]): StackModel {
  return parseStack(
    files.map((f) => {
      try {
        return readFileSync(f, "utf8");
      } catch {
        throw new PreconditionError(msg.project.stack.fileNotFound({ file: f }));
      }
    }),
  );
}

export function serviceByRole(stack: StackModel, role: Role): ServiceModel {
  const s = stack.services.find((x) => x.role === role);
  if (!s) throw new PreconditionError(msg.project.stack.noRole({ label: ROLE_LABEL, role }));
  return s;
}

export function findByRole(stack: StackModel, role: Role): ServiceModel | undefined {
  return stack.services.find((x) => x.role === role);
}

/** Variables a compose file interpolates (`${X}`, `${X:-d}`, `$X`; `$$` is a literal `$`). */
export function composeVariables(text: string): Set<string> {
  const vars = new Set<string>();
  const re = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  for (const m of text.matchAll(re)) {
    const name = m[1] ?? m[2];
    if (name) vars.add(name);
  }
  return vars;
}

/** Compose-style interpolation for the few values we read ourselves (e.g. the backend image). */
export function interpolate(text: string, env: (name: string) => string | undefined): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a, def, b) => {
    if (all === "$$") return "$";
    const v = env(a ?? b);
    return v === undefined || v === "" ? (def ?? "") : v;
  });
}
