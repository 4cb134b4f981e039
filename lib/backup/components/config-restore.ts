/**
 * A config backup written back: only the files that differ from the live ones, each
 * atomically, named (never their contents); a written file keeps the owner and mode of the
 * live file it replaces (a new one gets the project root's owner), never with setuid, setgid
 * or sticky bits. And what the change means for the services: an env or compose change
 * (compose up sees it) and the services that bind-mount a changed file (force-recreated).
 */
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, constants, copyFileSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { ClawError } from "../../core/errors.ts";
import { msg } from "../../core/i18n/index.ts";
import type { StackModel } from "../../project/stack.ts";
import { newWorkDir } from "../store.ts";
import { errorCode, isRoot } from "./archive-rules.ts";
import { type ConfigArchiveFile, readConfigArchive } from "./config-archive.ts";
import { composeRelPaths, ENV_FILE, lstatOrUndefined } from "./config-files.ts";
import { checkLiveTree } from "./config-live.ts";

/** The live file's bytes when it is a regular file (never through a final symlink, never a FIFO); otherwise undefined. */
function liveBytes(path: string): Buffer | undefined {
  try {
    return lstatSync(path).isFile() ? readFileSync(path) : undefined;
  } catch {
    return undefined;
  }
}

/** Does the scratch copy differ from the live file? */
function differs(root: string, f: ConfigArchiveFile): boolean {
  const live = liveBytes(join(root, f.rel));
  return live === undefined || !live.equals(readFileSync(f.scratch!));
}

interface Owner {
  uid: number;
  gid: number;
}

/** Missing parent directories, one by one, owned like the project root. */
function makeParents(root: string, rel: string, owner: Owner): void {
  const segs = rel.split("/").slice(0, -1);
  for (let i = 1; i <= segs.length; i++) {
    const abs = join(root, ...segs.slice(0, i));
    if (lstatOrUndefined(abs)) continue;
    mkdirSync(abs, { mode: 0o755 });
    if (isRoot()) chownSync(abs, owner.uid, owner.gid);
  }
}

/**
 * One file written atomically: copied to a fresh staging name beside it (O_EXCL: never
 * through a planted link), owner and mode set, renamed over the live one.
 */
function writeConfigFile(root: string, f: ConfigArchiveFile, rootOwner: Owner): void {
  const dst = join(root, f.rel);
  let staged: string | undefined;
  try {
    makeParents(root, f.rel, rootOwner);
    const live = lstatOrUndefined(dst);
    const keep = live?.isFile() ? live : undefined;
    const mode = f.rel === ENV_FILE ? 0o600 : (keep?.mode ?? f.mode) & 0o777;
    const owner = keep ?? rootOwner;
    staged = join(dirname(dst), `.claw-new-${process.pid}-${randomBytes(6).toString("hex")}`);
    copyFileSync(f.scratch!, staged, constants.COPYFILE_EXCL);
    if (isRoot()) chownSync(staged, owner.uid, owner.gid);
    chmodSync(staged, mode);
    renameSync(staged, dst);
  } catch (e) {
    if (staged !== undefined) rmSync(staged, { force: true });
    throw new ClawError(msg.components.config.cannotWrite({ rel: f.rel, code: errorCode(e) }), { cause: e });
  }
}

export interface ConfigRestoreResult {
  changed: string[];
  composeChanged: boolean;
  mounting: string[];
}

/**
 * Pure: an env or compose change, which `compose up` itself detects per service. Compose files
 * are the project's own (any name COMPOSE_FILE gave) and the usual names.
 */
export const composeInputChanged = (changed: readonly string[], composeFiles: readonly string[] = []) =>
  changed.some((f) => f === ".env.prod" || composeFiles.includes(f) || /(^|\/)(docker-)?compose[^/]*\.ya?ml$/.test(f));

/** Pure: services that bind-mount a changed file; compose cannot see those changes, so they are force-recreated. */
export function servicesMounting(changed: readonly string[], stack: StackModel): string[] {
  const out = new Set<string>();
  for (const s of stack.services) {
    for (const v of s.volumes) {
      if (v.type !== "bind") continue;
      const src = v.source.replace(/^\.\//, "");
      if (changed.some((f) => f === src || f.startsWith(`${src}/`))) out.add(s.name);
    }
  }
  return [...out].sort();
}

/**
 * Write back the archive's files that differ from the live ones. The archive is checked
 * entry by entry (InvalidBackupError) and, unless a dry run, the live tree too
 * (PreconditionError), before anything is written.
 */
export async function restoreConfigFiles(
  archive: string,
  root: string,
  stack: StackModel,
  dryRun = false,
  composeFiles: readonly string[] = [],
): Promise<ConfigRestoreResult> {
  const composeRel = composeRelPaths(root, composeFiles);
  readConfigArchive(archive, composeRel); // refuse a crafted archive before a single byte is unpacked
  let scratch: string;
  try {
    scratch = newWorkDir(root, "config");
  } catch (e) {
    throw new ClawError(msg.components.config.cannotScratch({ root, code: errorCode(e) }), { cause: e });
  }
  try {
    const files = readConfigArchive(archive, composeRel, scratch);
    if (!dryRun)
      checkLiveTree(
        root,
        files.map((f) => f.rel),
      );
    const changed = files.filter((f) => differs(root, f)).sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    if (!dryRun) {
      const st = statSync(root);
      for (const f of changed) writeConfigFile(root, f, { uid: st.uid, gid: st.gid });
    }
    const names = changed.map((f) => f.rel);
    return { changed: names, composeChanged: composeInputChanged(names, composeRel), mounting: servicesMounting(names, stack) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
