/**
 * `--verify`: the restore drill of one backup, as named phases: checksums → remove throwaway
 * containers a killed run left → decrypt → every component restored into throwaway containers
 * or a scratch directory (never the live data) and compared with the manifest.
 */
import { settleAll } from "../core/async.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import type { Secret } from "../core/secret.ts";
import type { Project } from "../project/project.ts";
import { openBackupShown } from "./encryption.ts";
import { type ComponentName, readManifest, verifyArtifacts } from "./manifest.ts";
import { REGISTRY } from "./registry.ts";

export interface DrillResult {
  id: string;
  components: ComponentName[];
  /** One line per component saying what was proven. */
  proven: Record<string, string>;
}

export async function drillBackup(project: Project, out: Output, dir: string, key: Secret | undefined): Promise<DrillResult> {
  const m = readManifest(dir);
  const comps = Object.keys(m.components) as ComponentName[];
  await out.step(
    localized((t) => t.backup.drill.checksums({ n: comps.length })),
    () => verifyArtifacts(dir, m, comps),
  );
  const removed = await project.compose.removeOneOffs(project.effectiveName);
  if (removed) out.warn(msg.backup.drill.removedThrowaway({ n: removed }));
  const opened = await openBackupShown(out, project.root, dir, m, comps, key);
  const proven = await settleAll(
    comps.map((c) =>
      out.step(
        localized((t) => t.backup.drill.restoreDrill({ component: c })),
        async () => {
          const ctx = { project, dir: opened.dir, out };
          await REGISTRY[c].verify(ctx, opened.manifest.components[c]!);
          return [c, await REGISTRY[c].drill(ctx, opened.manifest.components[c]!)] as const;
        },
      ),
    ),
  ).finally(() => opened.close());
  return { id: m.id, components: comps, proven: Object.fromEntries(proven) };
}
