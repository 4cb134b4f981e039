/**
 * Body of a script whose operation is not built yet: it parses flags, checks .env.prod,
 * the compose file and Docker for real, then refuses honestly (exit 1) instead of
 * pretending to work.
 */

import { ClawError } from "../core/errors.ts";
import { localized, msg } from "../core/i18n/index.ts";
import { openProject, projectRoot } from "../project/project.ts";
import { runScript, type ScriptSpec } from "./run.ts";

export async function runPendingScript(spec: ScriptSpec): Promise<number> {
  const root = projectRoot();
  return runScript(
    spec,
    async ({ out }) => {
      const project = await out.step(
        localized((c) => c.restore.cli.pending.checking),
        () => openProject({ root }),
      );
      out.info(msg.restore.cli.pending.project({ root: project.root, count: project.stack.services.length }));
      throw new ClawError(msg.restore.cli.pending.notImplemented({ name: spec.name }), {
        hint: msg.restore.cli.pending.notImplementedHint,
      });
    },
    { logs: true },
  );
}
