/**
 * `migrate.mts --seed`: apply seeds/*.sql in name order, each once. A seed is recorded with its
 * sha256 in the same transaction that runs it (both or neither); one that changed since it ran
 * is reported, never run again silently. Each file streams into psql in the postgres service.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { applySeed, psql, recordSeedSql, seedsRecordedSql, seedsTableSql } from "../commands/postgres.ts";
import { ClawError } from "../core/errors.ts";
import { lastLine } from "../core/exec.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import type { Project } from "../project/project.ts";
import { serviceByRole } from "../project/stack.ts";

export const SEEDS_DIR = "seeds";

export interface SeedPlan {
  apply: Array<{ name: string; sha256: string }>;
  unchanged: string[];
  /** Ran before with other contents: reported, not run again. */
  edited: Array<{ name: string; applied: string; now: string }>;
}

/** Pure: what to do with each seed file, given what the database recorded. */
export function planSeeds(files: ReadonlyArray<{ name: string; sha256: string }>, recorded: ReadonlyMap<string, string>): SeedPlan {
  const plan: SeedPlan = { apply: [], unchanged: [], edited: [] };
  for (const f of [...files].sort((a, b) => a.name.localeCompare(b.name))) {
    const was = recorded.get(f.name);
    if (was === undefined) plan.apply.push(f);
    else if (was === f.sha256) plan.unchanged.push(f.name);
    else plan.edited.push({ name: f.name, applied: was, now: f.sha256 });
  }
  return plan;
}

/** Pure: "name<TAB>sha256" lines as a map. */
export function parseRecorded(text: string): Map<string, string> {
  return new Map(
    text
      .split("\n")
      .map((l) => l.split("\t"))
      .filter((p): p is [string, string] => p.length === 2 && !!p[0])
      .map(([n, h]) => [n, h.trim()]),
  );
}

export async function seed(project: Project, out: Output): Promise<SeedPlan> {
  const dir = join(project.root, SEEDS_DIR);
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".sql")) : [];
  const files = names.map((name) => ({
    name,
    sha256: createHash("sha256")
      .update(readFileSync(join(dir, name)))
      .digest("hex"),
  }));
  const pg = serviceByRole(project.stack, "postgres").name;
  const { user, db } = project.config.postgres;
  await project.compose.exec(pg, psql(user, db, seedsTableSql()));
  const plan = planSeeds(files, parseRecorded((await project.compose.exec(pg, psql(user, db, seedsRecordedSql()))).stdout));
  for (const e of plan.edited) out.warn(msg.migrate.seed.edited({ name: e.name, applied: e.applied.slice(0, 12), now: e.now.slice(0, 12) }));
  for (const f of plan.apply) {
    const r = await out.step(
      localized((c) => c.migrate.seed.step({ name: f.name })),
      () =>
        project.compose.exec(
          pg,
          applySeed(user, db, recordSeedSql(f.name, f.sha256)),
          {},
          { stdinFile: join(dir, f.name), allowFailure: true, timeoutMs: 60 * 60_000 },
        ),
    );
    if (r.status !== 0) throw new ClawError(msg.migrate.seed.failed({ name: f.name, tail: lastLine(r.stderr || r.stdout) }));
  }
  if (!files.length) out.info(msg.migrate.seed.none({ dir: SEEDS_DIR }));
  else out.info(msg.migrate.seed.summary({ applied: plan.apply.length, unchanged: plan.unchanged.length, edited: plan.edited.length }));
  return plan;
}
