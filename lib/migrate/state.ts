/**
 * What the migration driver reports, and what it means: at head, pending, ahead of the image,
 * more than one head; and drift (a revision file changed since it was applied). Pure.
 */
import { msg } from "../core/i18n/index.ts";

export interface RevisionInfo {
  revision: string;
  down: string[];
  file: string;
  sha256: string;
  doc: string;
}

/** The driver's `info`: the image's revisions and the database's revision(s). */
export interface MigrationInfo {
  heads: string[];
  current: string[];
  revisions: RevisionInfo[];
  pending: string[];
  /** sha256 of each revision's file as it was when claw-ops applied it. */
  recorded: Record<string, string>;
}

export type MigrationState =
  | { kind: "at-head"; head: string }
  | { kind: "pending"; head: string; current: string | null; pending: string[] }
  | { kind: "ahead"; unknown: string[] }
  | { kind: "multiple-heads"; heads: string[] }
  | { kind: "no-revisions" };

export function migrationState(info: MigrationInfo): MigrationState {
  if (info.heads.length > 1) return { kind: "multiple-heads", heads: [...info.heads] };
  const head = info.heads[0];
  if (!head) return { kind: "no-revisions" };
  const known = new Set(info.revisions.map((r) => r.revision));
  const unknown = info.current.filter((c) => !known.has(c));
  if (unknown.length) return { kind: "ahead", unknown };
  if (info.pending.length === 0) return { kind: "at-head", head };
  return { kind: "pending", head, current: info.current[0] ?? null, pending: [...info.pending] };
}

export interface Drift {
  revision: string;
  file: string;
  appliedSha256: string;
  nowSha256: string;
}

/** Revisions whose file changed since claw-ops applied them (those it never recorded are not drift). */
export function drift(info: MigrationInfo): Drift[] {
  return info.revisions
    .filter((r) => info.recorded[r.revision] !== undefined && info.recorded[r.revision] !== r.sha256)
    .map((r) => ({ revision: r.revision, file: r.file, appliedSha256: info.recorded[r.revision]!, nowSha256: r.sha256 }));
}

/** One line per state, for --status and errors. */
export function describeState(s: MigrationState): string {
  switch (s.kind) {
    case "at-head":
      return msg.migrate.state.atHead({ head: s.head });
    case "pending":
      return msg.migrate.state.pending({ count: s.pending.length, current: s.current, head: s.head, pending: s.pending.join(", ") });
    case "ahead":
      return msg.migrate.state.ahead({ unknown: s.unknown.join(", ") });
    case "multiple-heads":
      return msg.migrate.state.multipleHeads({ count: s.heads.length, heads: s.heads.join(", ") });
    case "no-revisions":
      return msg.migrate.state.noRevisions;
  }
}

/**
 * Pure: the revisions a downgrade to `target` undoes, newest first (following each revision's
 * first down revision from the current one); undefined when `target` is not below the current
 * revision ("base": all of them).
 */
export function downgradePath(info: MigrationInfo, target: string): string[] | undefined {
  const byId = new Map(info.revisions.map((r) => [r.revision, r]));
  const path: string[] = [];
  let at = info.current[0];
  while (at !== undefined && at !== target) {
    const r = byId.get(at);
    if (!r) return undefined;
    path.push(at);
    at = r.down[0];
  }
  if (at === undefined && target !== "base") return undefined;
  return path;
}
