/** Webhook notifications: a JSON body built as data (never by string interpolation). */
import { msg } from "../core/i18n/index.ts";
import { redactedJson, redactPersonal } from "../core/secret.ts";

export interface Notification {
  event: "backup" | "restore" | "rollback" | "deploy";
  status: "success" | "failure";
  host: string;
  backup?: string;
  /** deploy: the release id and the tag deployed. */
  release?: string;
  tag?: string;
  failedComponent?: string;
  reason?: string;
  durationMs?: number;
  components?: Record<string, string>;
}

/**
 * Pure: the request the webhook receives. Secrets are masked in every string value (before JSON
 * escaping); the reason, an error's text, also loses the personal data it may quote (a database's
 * row values, an e-mail address): the webhook leaves the host.
 */
export function webhookBody(n: Notification): string {
  return redactedJson({
    source: "claw-ops",
    at: new Date().toISOString(),
    ...n,
    ...(n.reason !== undefined ? { reason: redactPersonal(n.reason) } : {}),
  });
}

/** Best effort: a failing webhook is reported, never turns a good backup into a failed run. */
export async function notify(url: string | undefined, n: Notification, warn: (m: string) => void): Promise<void> {
  if (!url) return;
  try {
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: webhookBody(n),
      signal: AbortSignal.timeout(10_000),
    });
    if (!r.ok) warn(msg.project.infra.notify.webhookStatus({ status: r.status }));
  } catch (e) {
    warn(msg.project.infra.notify.webhookUnreachable({ reason: (e as Error).message }));
  }
}
