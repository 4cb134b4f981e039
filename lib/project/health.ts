/**
 * The whole stack's health, as rollback (and later deploy) proves it: every service up and
 * healthy, and /health answering through nginx.
 */
import { curlHealth } from "../commands/http.ts";
import { localized } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { MINUTE_MS } from "../core/time.ts";
import type { Project } from "./project.ts";
import { findByRole } from "./stack.ts";

/** `recreate`: the definitions changed (a restored configuration), so every service is brought up to them. */
export async function verifyStack(project: Project, out: Output, o: { recreate?: boolean } = {}): Promise<void> {
  await out.step(
    localized((c) => c.project.health.everyServiceUp),
    () => project.compose.upReady(o, 6 * MINUTE_MS),
  );
  const nginx = findByRole(project.stack, "nginx");
  if (nginx) {
    await out.step(
      localized((c) => c.project.health.throughNginx),
      () => project.compose.exec(nginx.name, curlHealth("https://localhost/health"), {}, { timeoutMs: 2 * MINUTE_MS }),
    );
  }
}
