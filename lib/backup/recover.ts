/**
 * Before a restore, a backup or a sweep reads or starts the data: put back together what a
 * restore that died left half-swapped (its swap containers were removed with it, mid-move).
 * Postgres: the live database renamed away or refusing connections. Volumes: a move aside that
 * did not finish is moved back, a swap whose move aside was complete is finished (the service
 * stopped for it), lone staging removed. Uploads: the same. Each repair is warned about.
 */

import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { settleAll } from "../core/async.ts";
import { msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import type { Project } from "../project/project.ts";
import { findByRole } from "../project/stack.ts";
import { recoverSwap } from "./components/postgres.ts";
import { uploadsDir, uploadsRealDir } from "./components/uploads-dir.ts";
import { recoverUploads } from "./components/uploads-swap.ts";
import { recoverVolume, VOLUME_ROLES } from "./components/volume.ts";
import { backupsRoot } from "./store.ts";

/**
 * Written before a restore's first swap, removed once they all ended: while it is there, a
 * restore may have died mid-swap, and the next run looks at every volume (else it need not).
 */
const SWAPPING = ".swapping";
export function markSwapping(root: string): void {
  mkdirSync(backupsRoot(root), { recursive: true, mode: 0o700 });
  writeFileSync(join(backupsRoot(root), SWAPPING), `${process.pid}\n`, { mode: 0o600 });
}
export function swapsEnded(root: string): void {
  rmSync(join(backupsRoot(root), SWAPPING), { force: true });
}

export async function recoverDeadSwaps(project: Project, out: Output): Promise<void> {
  // Nothing can be half-swapped unless a restore was swapping when it died.
  if (!existsSync(join(backupsRoot(project.root), SWAPPING))) return;
  const compose = project.compose;
  const jobs: Array<Promise<string[]>> = [];
  for (const role of VOLUME_ROLES) {
    const svc = findByRole(project.stack, role);
    if (svc) jobs.push(recoverVolume(compose, svc));
  }
  if (findByRole(project.stack, "backend")) {
    jobs.push(
      (async () => {
        const real = uploadsRealDir(uploadsDir(project.root, project.stack));
        return real === undefined ? [] : recoverUploads(real).map((m) => `uploads: ${m}`);
      })(),
    );
  }
  const pg = findByRole(project.stack, "postgres");
  // recoverSwap warns itself; a stopped Postgres is recovered by the next run that finds it running (the mark stays).
  const pgRunning = pg !== undefined && (await compose.runningId(pg.name)) != null;
  if (pgRunning) jobs.push(recoverSwap({ project, dir: project.root, out }).then(() => []));
  for (const line of (await settleAll(jobs)).flat()) out.warn(msg.backup.recover.halfSwapped({ line }));
  if (pgRunning || !pg) swapsEnded(project.root);
}
