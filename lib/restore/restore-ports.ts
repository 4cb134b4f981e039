/**
 * What a restore run talks to, as four small ports: the components (the registry), the
 * services (compose), the snapshot store (the backup opened, the pre-restore snapshot, the
 * undo record) and its own record. realPorts builds them for a project; the unit tests drive
 * the run through fakes of them (tests/unit/restore/fakes.ts).
 */
import { join } from "node:path";
import type { Component } from "../backup/components/component.ts";
import { type OpenedBackup, openBackupShown } from "../backup/encryption.ts";
import { type ComponentName, type Manifest, readManifest } from "../backup/manifest.ts";
import { REGISTRY } from "../backup/registry.ts";
import { fileRunRecords, type RunRecordStore } from "../backup/restore-record.ts";
import { beginBackup, markMoved, type PendingBackup } from "../backup/run.ts";
import type { ContainerState } from "../commands/compose.ts";
import type { ServiceControl } from "../core/cleanup.ts";
import type { Output } from "../core/output.ts";
import type { SnapshotTier } from "../core/vocabulary/tiers.ts";
import type { Project } from "../project/project.ts";
import { startLeftStopped } from "../project/release.ts";
import { reconcileServing } from "../project/serving.ts";
import type { Role } from "../project/stack.ts";
import type { RestorePlan } from "./plan.ts";
import { readUndo, type UndoRecord, writeUndo } from "./undo.ts";

export type Registry = Readonly<Record<ComponentName, Component>>;

export interface RestoreServices extends ServiceControl {
  /** Remove the one-off containers a killed run left; how many. */
  removeOneOffs(): Promise<number>;
  /** Start the services of these roles that a run that died left stopped; which. */
  startLeftStopped(roles: readonly Role[], warn: (m: string) => void): Promise<string[]>;
  ps(): Promise<readonly ContainerState[]>;
  /** The services' resolved definitions (undefined: not readable). */
  resolvedConfig(): Promise<string | undefined>;
  startReady(services: readonly string[], o?: { recreate?: boolean }): Promise<void>;
  /** Point nginx at the live backend again if a dead deploy left it naming another; a warning, or undefined. */
  reconcileServing(): Promise<string | undefined>;
}

/** A restore that died between committing its snapshot and its swaps: that snapshot. */
export interface Unfinished {
  dir: string;
  manifest: Manifest;
}

export interface SnapshotStore {
  /** The backup's artifacts, decrypted and checked when it is encrypted. */
  open(plan: RestorePlan): Promise<OpenedBackup>;
  /** The pre-restore snapshot of the components copied (not kept in place), not written yet. */
  begin(components: ComponentName[], tier: SnapshotTier): Promise<PendingBackup>;
  markMoved(dir: string, components: readonly ComponentName[]): void;
  unfinished(restoring: string): Unfinished | undefined;
  writeUndo(snapshotDir: string, event: UndoRecord["event"], backup: string, at: Date): void;
}

export interface RestorePorts {
  registry: Registry;
  services: RestoreServices;
  snapshots: SnapshotStore;
  records: RunRecordStore;
}

export function realPorts(project: Project, out: Output): RestorePorts {
  const compose = project.compose;
  return {
    registry: REGISTRY,
    services: {
      removeOneOffs: () => compose.removeOneOffs(project.effectiveName),
      startLeftStopped: (roles, warn) => startLeftStopped(project, roles, warn),
      ps: () => compose.ps(),
      resolvedConfig: () => compose.resolvedConfig(),
      stop: (s) => compose.stop(s),
      startReady: (s, o) => compose.startReady(s, o),
      reconcileServing: () => reconcileServing(project),
    },
    snapshots: {
      open: (plan) => openBackupShown(out, project.root, plan.dir, plan.manifest, plan.components, plan.key),
      begin: (components, tier) => beginBackup(project, out, { components, tier, prune: false }),
      markMoved,
      unfinished: (restoring) => unfinishedSnapshot(project.root, restoring),
      writeUndo: (dir, event, backup, at) => writeUndo(project.root, dir, event, backup, at),
    },
    records: fileRunRecords(project.root),
  };
}

/**
 * The snapshot of a restore that died between committing it and its swaps: the undo
 * record's (no restore has finished since), kept in place, not one record marked moved (a
 * run that ends marks what it moved). This run then finishes that restore: what it replaces
 * of a component never moved is that snapshot's state, and the undo record stays on it.
 */
export function unfinishedSnapshot(root: string, restoring: string): Unfinished | undefined {
  let dir: string;
  let manifest: Manifest;
  try {
    dir = join(root, readUndo(root).snapshot);
    // No undo record, or one whose snapshot is gone or unreadable: nothing to finish.
    manifest = readManifest(dir);
  } catch {
    return undefined;
  }
  if (dir === restoring) return undefined;
  const kept = Object.values(manifest.components).filter((c) => c?.kept);
  return kept.length && kept.every((c) => !c!.kept!.moved) ? { dir, manifest } : undefined;
}
