/**
 * Images of a release: pulled (retried on transient registry errors only) or built before
 * anything is stopped; described for the ledger; and the app's old tags pruned, keeping the
 * last releases so going back needs no pull. Never `image prune`, never volumes.
 */
import pRetry, { AbortError } from "p-retry";
import * as b from "../commands/compose.ts";
import * as d from "../commands/docker.ts";
import { ClawError } from "../core/errors.ts";
import { run } from "../core/exec.ts";
import { msg } from "../core/i18n/index.ts";
import { MINUTE_MS } from "../core/time.ts";
import type { ComposeClient } from "../infra/compose-client.ts";
import { imagesToPrune, type ReleaseRecord, tagsToKeep } from "./ledger.ts";

/** Pure: whether a failed pull is worth another try (network, timeouts, registry 5xx/429), not a missing tag or a refused login. */
export function transientPullError(text: string): boolean {
  if (/manifest unknown|not found|does not exist|unauthorized|denied|invalid reference|no such host/i.test(text)) return false;
  // A status code stands alone: not the digits of x509 or of a registry's :5000.
  return /timeout|timed out|deadline exceeded|connection (reset|refused)|TLS handshake|EOF|temporary failure|(?<![\w:.])(50[0-4]|429)(?![\w.])|too many requests|toomanyrequests|net\/http/i.test(
    text,
  );
}

export async function pullImage(ref: string, o: { retries?: number; onRetry?: (m: string) => void } = {}): Promise<void> {
  await pRetry(
    async () => {
      const r = await run({ argv: d.dockerPull(ref) }, { allowFailure: true, timeoutMs: 30 * MINUTE_MS });
      if (r.status === 0) return;
      const why = (r.stderr || r.stdout).trim().split("\n").pop() ?? msg.core.errors.exitStatus({ status: r.status });
      const err = new ClawError(msg.deploy.images.cannotPull({ ref, why }), { hint: msg.deploy.images.cannotPullHint });
      if (!transientPullError(why)) throw new AbortError(err);
      throw err;
    },
    {
      retries: o.retries ?? 4,
      minTimeout: 2000,
      factor: 2,
      onFailedAttempt: (e) => o.onRetry?.(msg.deploy.images.pullRetry({ ref, attempt: e.attemptNumber, left: e.retriesLeft, message: e.message })),
    },
  ).catch((e: unknown) => {
    throw e instanceof AbortError ? ((e as unknown as { originalError?: Error }).originalError ?? e) : e;
  });
}

/** `compose build` of the services that have a build section. */
export async function buildServices(compose: ComposeClient, services: readonly string[]): Promise<void> {
  if (services.length === 0) return;
  await run({ argv: b.build(compose.project, services), env: { ...compose.env } }, { timeoutMs: 60 * MINUTE_MS });
}

/** Image id and registry digests of a local image (for the ledger). */
export async function describeImage(ref: string): Promise<{ imageId?: string; repoDigests?: string[] }> {
  const r = await run({ argv: d.dockerImageInspect(ref) }, { allowFailure: true });
  if (r.status !== 0) return {};
  const [id, digests] = r.stdout.trim().split(" ");
  return { ...(id ? { imageId: id } : {}), ...(digests ? { repoDigests: digests.split(",").filter(Boolean) } : {}) };
}

/**
 * Remove local tags of the app image that the ledger knows, older than the last `keep`
 * releases, that no container uses. Returns what was removed; failures are warnings.
 */
export async function pruneReleaseImages(
  releases: readonly ReleaseRecord[],
  image: string,
  keep: number,
  alsoKeep: readonly string[],
  warn: (m: string) => void,
): Promise<string[]> {
  const local = (await run({ argv: d.dockerImageTags(image) })).stdout
    .split("\n")
    .map((l) => l.trim().split(" "))
    .filter(([ref, id]) => ref && id)
    .map(([ref, id]) => ({ ref: ref!, id: id! }));
  const lines = (text: string) =>
    text
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
  const ids = lines((await run({ argv: d.dockerAllContainerIds() })).stdout);
  const used = new Set(ids.length ? lines((await run({ argv: d.dockerImageIdsOf(ids) }, { allowFailure: true })).stdout) : []);
  const victims = imagesToPrune(releases, image, local, used, tagsToKeep(releases, keep, alsoKeep));
  const removed: string[] = [];
  for (const ref of victims) {
    const r = await run({ argv: d.dockerImageRemove(ref) }, { allowFailure: true });
    if (r.status === 0) removed.push(ref);
    else warn(msg.deploy.images.cannotRemove({ ref, reason: (r.stderr || r.stdout).trim().split("\n").pop() ?? "" }));
  }
  return removed;
}
