/**
 * The release ledger: one JSON line per event under releases/ledger.jsonl, appended and
 * fsynced (never rewritten), so a deploy killed at any point leaves every earlier line intact
 * and at worst one torn last line, which the reader skips. A release is the merge of its
 * lines by id: "started", then phase progress, then its result. Release ids are made here,
 * and a dead run's release is reported and marked "interrupted" here.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { displayWidth, msg, padCells } from "../core/i18n/index.ts";
import { appendJsonLine, parseJsonLines } from "../core/jsonl.ts";
import { RELEASE_TAG } from "../core/names.ts";
import type { Output } from "../core/output.ts";
import { redactPersonal } from "../core/secret.ts";
import { formatBackupId } from "../core/vocabulary/backup-id.ts";

export const LEDGER_FILE = "releases/ledger.jsonl";

export type ReleaseResult = "started" | "succeeded" | "failed" | "rolled-back" | "interrupted";
export type ReleaseKind = "deploy" | "rollback-release" | "auto-rollback";

export interface PhaseTiming {
  name: string;
  ms: number;
  result: "ok" | "skipped" | "failed";
  note?: string;
}

export interface ReleaseRecord {
  id: string;
  kind: ReleaseKind;
  tag: string;
  image: string;
  /** Local image id (sha256:…) and registry digests, when the image has any. */
  imageId?: string;
  repoDigests?: string[];
  startedAt: string;
  finishedAt?: string;
  result: ReleaseResult;
  /** The phase a release that has not finished is in. */
  phase?: string;
  durationMs?: number;
  /** sha256 (first 16 hex) of the compose files, nginx.conf and .env.prod as deployed. */
  configHashes?: Record<string, string>;
  migrationHead?: string | null;
  preDeployBackup?: string | null;
  /** The release that served before this one (its id). */
  previous?: string | null;
  previousTag?: string | null;
  /** The backend container that serves (nginx's target) once it succeeded. */
  backendContainer?: string;
  phases?: PhaseTiming[];
  error?: string;
}

/** One line of the file: a full record, or an update of one (id plus the fields that changed). */
export type LedgerLine = Partial<ReleaseRecord> & { id: string };

export const ledgerPath = (root: string) => join(root, LEDGER_FILE);

/**
 * Append one line, durable before it returns (dir 0700, file 0600: it names releases and backups).
 * Errors and phase notes quote what failed (a database, an app's logs): kept without the personal
 * data they may hold, since the ledger outlives the run.
 */
export function appendLedger(root: string, line: LedgerLine): void {
  const masked: LedgerLine = { ...line };
  if (line.error !== undefined) masked.error = redactPersonal(line.error);
  if (line.phases) masked.phases = line.phases.map((p) => (p.note === undefined ? p : { ...p, note: redactPersonal(p.note) }));
  appendJsonLine(ledgerPath(root), masked);
}

/** Pure: the releases of a ledger text, oldest first, lines merged by id; unreadable lines are skipped and counted. */
export function parseLedger(text: string): { releases: ReleaseRecord[]; skipped: number } {
  const byId = new Map<string, ReleaseRecord>();
  const parsed = parseJsonLines(text);
  let skipped = parsed.skipped;
  for (const line of parsed.rows as LedgerLine[]) {
    if (typeof line.id !== "string") {
      skipped++;
      continue;
    }
    const prev = byId.get(line.id);
    // A tag reaches argv (docker image rm, compose) and .env.prod: one that breaks the rule is a damaged line.
    const badTag = line.tag !== undefined && (typeof line.tag !== "string" || !RELEASE_TAG.test(line.tag));
    if (badTag || (!prev && (typeof line.tag !== "string" || typeof line.startedAt !== "string"))) {
      skipped++;
      continue;
    }
    byId.set(line.id, { ...(prev as ReleaseRecord), ...line } as ReleaseRecord);
  }
  return { releases: [...byId.values()], skipped };
}

export function readLedger(root: string): { releases: ReleaseRecord[]; skipped: number } {
  const file = ledgerPath(root);
  return existsSync(file) ? parseLedger(readFileSync(file, "utf8")) : { releases: [], skipped: 0 };
}

/** Pure: a release id: the time (as backup ids), unique in the ledger. */
export function newReleaseId(now: Date, taken: ReadonlySet<string>): string {
  const base = formatBackupId(now);
  let id = base;
  for (let i = 2; taken.has(id); i++) id = `${base}-${i}`;
  return id;
}

/** Pure: the first 16 hex of a sha256, for the ledger's config hashes. */
export const shortHash = (data: string | Buffer) => createHash("sha256").update(data).digest("hex").slice(0, 16);

/** Pure: the release that serves now: the newest one that succeeded (or was rolled back to). */
export function currentRelease(releases: readonly ReleaseRecord[]): ReleaseRecord | undefined {
  return [...releases].reverse().find((r) => r.result === "succeeded");
}

/** Pure: the newest release that never finished (a deploy that died), if it is the newest of all. */
export function unfinishedRelease(releases: readonly ReleaseRecord[]): ReleaseRecord | undefined {
  const last = releases[releases.length - 1];
  return last && (last.result === "started" || last.result === "interrupted") ? last : undefined;
}

/** What a deploy that died left: told at the start of the next run (ledger marked interrupted). */
export function reportInterruptedDeploy(root: string, out: Output): ReleaseRecord | undefined {
  const dead = unfinishedRelease(readLedger(root).releases);
  if (dead?.result !== "started") return undefined;
  out.warn(msg.deploy.run.interrupted({ id: dead.id, tag: dead.tag, phase: dead.phase ?? "preflight", previous: dead.previousTag }));
  out.warn(msg.deploy.run.interruptedNext({ canGoBack: !!dead.previousTag }));
  appendLedger(root, { id: dead.id, result: "interrupted", finishedAt: new Date().toISOString() });
  return dead;
}

/**
 * Pure: what `--rollback-release [<id>]` goes back to: the named release, or the newest
 * succeeded one before the current whose tag differs. Only a release that once succeeded.
 */
export type RollbackTarget = { ok: true; release: ReleaseRecord } | { ok: false; error: string; hint: string };

export function rollbackTarget(releases: readonly ReleaseRecord[], id?: string): RollbackTarget {
  const ok = releases.filter((r) => r.result === "succeeded");
  if (id !== undefined) {
    const r = releases.find((x) => x.id === id);
    if (!r) return { ok: false, error: msg.deploy.ledger.noSuchRelease({ id }), hint: msg.deploy.ledger.noSuchReleaseHint };
    if (r.result !== "succeeded")
      return { ok: false, error: msg.deploy.ledger.neverServed({ id, result: r.result }), hint: msg.deploy.ledger.neverServedHint };
    return { ok: true, release: r };
  }
  const current = ok[ok.length - 1];
  // A deploy that died mid-way: going back means to the release that served before it.
  const last = releases[releases.length - 1];
  if (current && last && (last.result === "started" || last.result === "interrupted")) return { ok: true, release: current };
  if (!current) return { ok: false, error: msg.deploy.ledger.nothingSucceeded, hint: msg.deploy.ledger.nothingSucceededHint };
  const before = [...ok.slice(0, -1)].reverse().find((r) => r.tag !== current.tag || r.image !== current.image);
  if (!before)
    return {
      ok: false,
      error: msg.deploy.ledger.onlyOne({ id: current.id, tag: current.tag }),
      hint: msg.deploy.ledger.onlyOneHint,
    };
  return { ok: true, release: before };
}

/**
 * Pure: the image tags to keep: those of the newest `keep` succeeded releases (distinct tags)
 * plus any tag given in `alsoKeep` (what runs now, what is being deployed).
 */
export function tagsToKeep(releases: readonly ReleaseRecord[], keep: number, alsoKeep: readonly string[] = []): Set<string> {
  const out = new Set(alsoKeep);
  const distinct: string[] = [];
  for (const r of [...releases].reverse()) {
    if (r.result !== "succeeded" || distinct.includes(r.tag)) continue;
    distinct.push(r.tag);
    if (distinct.length >= keep) break;
  }
  for (const t of distinct) out.add(t);
  return out;
}

/**
 * Pure: which local tags of the app image may be removed: tags the ledger knows (a deploy put
 * them here), not among those kept, whose image no container uses. Anything else, including
 * tags claw-ops never deployed, stays.
 */
export function imagesToPrune(
  releases: readonly ReleaseRecord[],
  image: string,
  local: ReadonlyArray<{ ref: string; id: string }>,
  inUse: ReadonlySet<string>,
  keep: ReadonlySet<string>,
): string[] {
  const known = new Set(releases.filter((r) => r.image === image).map((r) => r.tag));
  const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);
  const used = new Set([...inUse].map(short));
  return local
    .filter(({ ref }) => ref.startsWith(`${image}:`))
    .filter(({ ref, id }) => {
      const tag = ref.slice(image.length + 1);
      return known.has(tag) && !keep.has(tag) && !used.has(short(id));
    })
    .map(({ ref }) => ref);
}

/** Pure: the --list-releases table, newest first; `*` marks the release that serves. */
export function formatReleases(releases: readonly ReleaseRecord[]): string {
  const t = msg.deploy.ledger;
  if (releases.length === 0) return t.empty;
  const current = currentRelease(releases)?.id;
  const rows = [...releases]
    .reverse()
    .map((r) => [
      r.id === current ? "*" : " ",
      r.id,
      r.kind === "deploy" ? "" : r.kind,
      r.tag,
      r.phase && r.result !== "succeeded" ? t.resultInPhase({ result: r.result, phase: r.phase }) : r.result,
      r.durationMs === undefined ? "" : t.seconds({ secs: (r.durationMs / 1000).toFixed(1) }),
      r.preDeployBackup ?? "",
      r.migrationHead ?? "",
    ]);
  const head = ["", t.head.release, t.head.kind, t.head.tag, t.head.result, t.head.time, t.head.backup, t.head.migration];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => displayWidth(r[i]!))));
  return all
    .map((r) =>
      r
        .map((c, i) => padCells(c, widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
