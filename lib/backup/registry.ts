/** The backup components, what each needs running, and which of them a run takes. */
import { UsageError } from "../core/errors.ts";
import { msg } from "../core/i18n/index.ts";
import type { Role } from "../project/stack.ts";
import type { Component } from "./components/component.ts";
import { config } from "./components/config.ts";
import { milvus } from "./components/milvus.ts";
import { postgres } from "./components/postgres.ts";
import { redis } from "./components/redis.ts";
import { uploads } from "./components/uploads.ts";
import { COMPONENTS, type ComponentName } from "./manifest.ts";

export const REGISTRY: Record<ComponentName, Component> = { postgres, redis, milvus, uploads, config };

/** Services each component needs running to be backed up. */
export const NEEDS: Record<ComponentName, Role[]> = {
  postgres: ["postgres"],
  redis: ["redis"],
  milvus: ["etcd", "minio", "milvus"],
  uploads: [],
  config: [],
};

/** Pure: the roles a set of components needs running. */
export const rolesNeeded = (components: readonly ComponentName[]): Role[] => [...new Set(components.flatMap((c) => NEEDS[c]))];

/** Pure: which components a backup run takes, from the guide's flags. */
export function selectComponents(o: { dbOnly?: boolean; noUpload?: boolean; only?: string }): ComponentName[] {
  if (o.only !== undefined) {
    const names = o.only
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = names.filter((n) => !COMPONENTS.includes(n as ComponentName));
    if (bad.length || names.length === 0) {
      throw new UsageError(msg.backup.registry.onlyTakes({ list: COMPONENTS.join(","), got: JSON.stringify(o.only) }));
    }
    return COMPONENTS.filter((c) => names.includes(c) && !(o.noUpload && c === "uploads"));
  }
  if (o.dbOnly) return ["postgres"];
  return COMPONENTS.filter((c) => !(o.noUpload && c === "uploads"));
}
