/**
 * Body of a script whose operation is not built yet: it parses flags, checks .env.prod,
 * the compose file and Docker for real, then refuses honestly (exit 1) instead of
 * pretending to work.
 */

import { ClawError } from "../core/errors.ts";
import { openProject, projectRoot } from "../project/project.ts";
import { runScript, type ScriptSpec } from "./run.ts";

export async function runPendingScript(spec: ScriptSpec): Promise<number> {
  const root = projectRoot();
  return runScript(
    spec,
    async ({ out }) => {
      const project = await out.step("checking .env.prod, the compose file and Docker", () => openProject({ root }));
      out.info(`project ${project.root}: ${project.stack.services.length} services in the compose model`);
      throw new ClawError(`${spec.name} is not implemented yet: only its flags and the environment checks exist`, {
        hint: "see the open claw-ops issues for its status",
      });
    },
    { logs: true },
  );
}
