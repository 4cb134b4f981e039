/**
 * What a deploy ends with, succeeded or failed: its outcome (the CLI's --json result), the
 * summary table (phase, seconds, result) and the webhook.
 */
import { hostname } from "node:os";
import { displayWidth, msg, padCells, padCellsStart } from "../core/i18n/index.ts";
import type { Output } from "../core/output.ts";
import { notify } from "../infra/notify.ts";
import type { Project } from "../project/project.ts";
import type { PhaseTiming, ReleaseRecord } from "./ledger.ts";
import { type DeployPlan, phasesShown } from "./plan.ts";

export interface DeployOutcome {
  ok: boolean;
  releaseId: string;
  tag: string;
  /** The release that serves when the run ends, and how it came to. */
  serving: { tag: string; releaseId?: string | undefined };
  result: ReleaseRecord["result"];
  phases: PhaseTiming[];
  rolledBack?: boolean;
  preDeployBackup?: string | null;
  migrationHead?: string | null;
  error?: string;
  next?: string;
  durationMs: number;
}

/** The webhook (WEBHOOK_URL): one event per deploy; a failure to send only warns. */
export async function announce(project: Project, out: Output, plan: DeployPlan, status: "success" | "failure", o: DeployOutcome): Promise<void> {
  await notify(
    project.config.notify.webhookUrl,
    {
      event: "deploy",
      status,
      host: hostname(),
      release: plan.releaseId,
      tag: plan.tag,
      durationMs: o.durationMs,
      ...(o.error ? { reason: o.error } : {}),
    },
    (m) => out.warn(m),
  );
}

/** The summary table every run ends with: phase, seconds, result. */
export function summaryLines(phases: readonly PhaseTiming[]): string[] {
  const t = msg.deploy.run;
  const w = Math.max(...phases.map((p) => displayWidth(p.name)), displayWidth(t.summaryPhase));
  const sw = Math.max(7, displayWidth(t.summarySeconds));
  return [
    `${padCells(t.summaryPhase, w)}  ${padCellsStart(t.summarySeconds, sw)}  ${t.summaryResult}`,
    ...phases.map(
      (p) =>
        `${padCells(p.name, w)}  ${padCellsStart((p.ms / 1000).toFixed(1), sw)}  ${p.note && p.result !== "ok" ? t.summaryNote({ result: p.result, note: p.note }) : p.result}`,
    ),
  ];
}

/** The summary on screen; with the plan, a skipped phase's reason in the operator's language (the phases' own notes are English). */
export function printSummary(out: Output, phases: readonly PhaseTiming[], plan?: DeployPlan): void {
  const shown = plan ? phasesShown(plan) : [];
  const note = (p: PhaseTiming) => (p.result === "skipped" ? (shown.find((s) => s.name === p.name)?.skip ?? p.note) : p.note);
  for (const l of summaryLines(phases.map((p) => ({ ...p, note: note(p) })))) out.info(l);
}
