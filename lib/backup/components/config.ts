/**
 * Configuration: .env.prod (kept 0600), the compose file(s), nginx, Prometheus, Grafana and
 * Loki config, as one tar; the release (backend image and tag) is in the manifest.
 * TLS keys are left out on purpose: certbot renews them, and an old certificate must not
 * come back with a rollback.
 * Restore writes back only files that differ, each atomically, and names them (never their
 * contents); services that mount a changed file or read a changed env are recreated.
 *
 * A restore runs as root and writes into the project, so the archive is never extracted as
 * is: every entry must be one of the files config backups are made of (allowedConfigFile) and
 * a regular file (or a directory holding them); its bytes are copied into private scratch
 * files named by number, never by the archive's path. The live side is checked too: a
 * directory on the way that is a symlink out of the project is refused (checkLiveTree), a
 * file that is a symlink is replaced, never written through. Written files keep the owner
 * and mode of the live file they replace (a new one gets the project root's owner), never
 * with setuid, setgid or sticky bits.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  copyFileSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeSync,
} from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { parse as dotenvParse } from "dotenv";
import * as tar from "tar";
import { ClawError, InvalidBackupError, PreconditionError } from "../../core/errors.ts";
import { msg } from "../../core/i18n/index.ts";
import { parseConfig } from "../../project/config.ts";
import { composeDisagreements, validateEnv } from "../../project/env.ts";
import type { StackModel } from "../../project/stack.ts";
import { artifact, type ComponentRecord } from "../manifest.ts";
import { newWorkDir } from "../store.ts";
import { errorCode, FILE_TYPES, isRoot, NAME_MAX, PATH_MAX } from "./archive-rules.ts";
import type { Component } from "./component.ts";

export const CONFIG_FILE = "config.tar";
export const CONFIG_DIRS = ["nginx", "prometheus", "grafana", "loki"];
const ENV_FILE = ".env.prod";
/**
 * Not configuration: certificates (secrets, renewed in place), the backend container nginx
 * serves now (deploy state: an old one restored would name a container that is gone) and
 * certbot's challenge files.
 */
const EXCLUDE = [/^nginx\/(ssl|live|certbot)(\/|$)/];
/** Top-level compose files by their usual names (any other name comes from the project's own list). */
const COMPOSE_NAME = /^(docker-)?compose[^/]*\.ya?ml$/;

/** Pure: is a relative path one that stays inside its base (not "", not `..`, not absolute)? */
const staysInside = (rel: string) => rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);

/** Pure: a real path is the directory itself or below it. */
const within = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);

/** The project's compose files as project-relative paths (those inside the project only). */
export function composeRelPaths(root: string, composeFiles: readonly string[]): string[] {
  return composeFiles.map((f) => relative(root, resolve(root, f))).filter(staysInside);
}

const lstatOrUndefined = (p: string): Stats | undefined => {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
};

/**
 * Project-relative config files that exist (sorted): regular files only, symlinks are never
 * followed (a restore writes regular files and refuses links). `skipped` collects what was
 * left out for not being a regular file.
 */
export function configFiles(root: string, composeFiles: readonly string[], skipped: string[] = []): string[] {
  const out = new Set<string>();
  const consider = (rel: string) => {
    const st = lstatOrUndefined(join(root, rel));
    if (st?.isFile()) out.add(rel);
    else if (st) skipped.push(rel);
  };
  consider(ENV_FILE);
  for (const rel of composeRelPaths(root, composeFiles)) consider(rel);
  const walk = (rel: string) => {
    if (EXCLUDE.some((re) => re.test(rel))) return;
    const st = lstatOrUndefined(join(root, rel));
    if (!st) return;
    if (st.isDirectory()) for (const n of readdirSync(join(root, rel)).sort()) walk(join(rel, n));
    else if (st.isFile()) out.add(rel);
    else skipped.push(rel);
  };
  for (const d of CONFIG_DIRS) walk(d);
  skipped.sort();
  return [...out].sort();
}

/** Pure: one of the files config backups are made of (a project-relative, normalised path). */
export function allowedConfigFile(rel: string, composeRel: readonly string[]): boolean {
  if (rel === ENV_FILE || composeRel.includes(rel) || COMPOSE_NAME.test(rel)) return true;
  const [top, ...rest] = rel.split("/");
  return CONFIG_DIRS.includes(top!) && rest.length > 0 && !EXCLUDE.some((re) => re.test(rel));
}

/** Pure: a directory that holds such files (the project root, a config dir or below, a compose file's directory). */
export function allowedConfigDir(rel: string, composeRel: readonly string[]): boolean {
  if (rel === "") return true;
  const top = rel.split("/")[0]!;
  if (CONFIG_DIRS.includes(top) && !EXCLUDE.some((re) => re.test(rel))) return true;
  return composeRel.some((f) => f.startsWith(`${rel}/`));
}

/**
 * Pure: the project-relative path of a config archive entry, or why it is refused. Leading
 * `./` and trailing slashes are dropped; any other odd segment (`..`, `.`, empty) is refused.
 */
export function configEntryPath(path: string, type: string, composeRel: readonly string[]): { rel: string } | { why: string } {
  if (path.includes("\0")) return { why: msg.components.config.why.nul };
  if (path.startsWith("/")) return { why: msg.components.config.why.absolute };
  const rel = path.replace(/^(\.\/+)+/, "").replace(/\/+$/, "");
  const segs = rel === "" || rel === "." ? [] : rel.split("/");
  if (segs.some((s) => s === "" || s === "." || s === "..")) return { why: msg.components.config.why.oddSegment };
  if (segs.some((s) => Buffer.byteLength(s) > NAME_MAX) || Buffer.byteLength(rel) > PATH_MAX) return { why: msg.components.config.why.tooLong };
  const clean = segs.join("/");
  if (type === "Directory") return allowedConfigDir(clean, composeRel) ? { rel: clean } : { why: msg.components.config.why.notConfigDir };
  if (!FILE_TYPES.includes(type)) return { why: msg.components.config.why.notRegular({ type }) };
  return allowedConfigFile(clean, composeRel) ? { rel: clean } : { why: msg.components.config.why.notConfigFile };
}

interface ConfigArchiveFile {
  rel: string;
  mode: number;
  /** The scratch file holding its bytes (when read with a scratch directory). */
  scratch?: string;
}

/**
 * Read a config archive and check every entry; with a scratch directory, each file's bytes
 * go to a scratch file named by number. InvalidBackupError for an unreadable archive and for
 * the first entry that is refused.
 */
export function readConfigArchive(archive: string, composeRel: readonly string[], scratch?: string): ConfigArchiveFile[] {
  const files: ConfigArchiveFile[] = [];
  const kinds = new Map<string, "file" | "dir">();
  /** Every directory some entry lies beneath. */
  const beneath = new Set<string>();
  const open = new Set<number>();
  let refused: string | undefined;
  let writeError: unknown;
  const onEntry = (e: tar.ReadEntry): string | undefined => {
    const r = configEntryPath(e.path, e.type, composeRel);
    if ("why" in r) return r.why;
    const kind = e.type === "Directory" ? "dir" : "file";
    const segs = r.rel === "" ? [] : r.rel.split("/");
    for (let i = 1; i < segs.length; i++) {
      const up = segs.slice(0, i).join("/");
      if (kinds.get(up) === "file") return msg.components.config.why.beneathFile;
      beneath.add(up);
    }
    const seen = kinds.get(r.rel);
    if (seen === "file" || (seen === "dir" && kind === "file")) return msg.components.common.inArchiveTwice;
    if (kind === "file" && beneath.has(r.rel)) return msg.components.config.why.fileWithEntriesBeneath;
    kinds.set(r.rel, kind);
    if (kind === "dir") return undefined;
    const f: ConfigArchiveFile = { rel: r.rel, mode: typeof e.mode === "number" ? e.mode : 0o644 };
    files.push(f);
    if (scratch === undefined) return undefined;
    f.scratch = join(scratch, String(files.length));
    let fd: number;
    try {
      fd = openSync(f.scratch, "wx", 0o600);
    } catch (err) {
      writeError ??= err;
      return undefined;
    }
    open.add(fd);
    e.on("data", (chunk: Buffer) => {
      try {
        if (writeError === undefined) writeSync(fd, chunk);
      } catch (err) {
        writeError = err;
      }
    });
    e.on("end", () => {
      open.delete(fd);
      closeSync(fd);
    });
    return undefined;
  };
  try {
    tar.t({
      file: archive,
      sync: true,
      strict: true,
      onReadEntry: (e) => {
        if (refused !== undefined) return;
        const why = onEntry(e);
        if (why !== undefined) refused = msg.components.common.entry({ path: JSON.stringify(e.path), why });
      },
    });
  } catch (e) {
    if (e instanceof ClawError) throw e;
    throw new InvalidBackupError(msg.components.config.notReadable({ file: CONFIG_FILE, code: errorCode(e) }));
  } finally {
    for (const fd of open) closeSync(fd);
  }
  if (refused !== undefined) throw new InvalidBackupError(msg.components.config.refusedEntry({ file: CONFIG_FILE, entry: refused }));
  if (writeError !== undefined) throw new ClawError(msg.components.config.cannotUnpack({ file: CONFIG_FILE, code: errorCode(writeError) }));
  return files;
}

/** The manifest's counts.files, or InvalidBackupError when the record is not what a backup writes. */
function wantFiles(rec: unknown): number {
  const counts = typeof rec === "object" && rec !== null ? (rec as { counts?: unknown }).counts : undefined;
  if (typeof counts !== "object" || counts === null || Array.isArray(counts)) throw new InvalidBackupError(msg.components.config.noCounts);
  const n = (counts as Record<string, unknown>).files;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new InvalidBackupError(msg.components.config.filesNotWhole);
  return n;
}

/** Archive checked entry by entry and against the manifest's file count. */
function checkArchive(archive: string, rec: ComponentRecord, composeRel: readonly string[], scratch?: string): ConfigArchiveFile[] {
  const want = wantFiles(rec);
  const files = readConfigArchive(archive, composeRel, scratch);
  if (files.length !== want) throw new InvalidBackupError(msg.components.config.countDiffers({ files: files.length, want }));
  return files;
}

/**
 * The live side of a restore: from the project root down to each file, every directory on
 * the way is a directory, or a symlink whose real path stays inside the project (else a
 * write would land outside it); the file itself is not a directory (a symlink there is
 * replaced, not followed). PreconditionError naming the path; nothing is touched.
 */
export function checkLiveTree(root: string, rels: readonly string[]): void {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (e) {
    throw new PreconditionError(msg.components.config.rootUnresolved({ root, code: errorCode(e) }));
  }
  const checked = new Set<string>();
  for (const rel of rels) {
    const segs = rel.split("/");
    for (let i = 1; i <= segs.length; i++) {
      const sub = segs.slice(0, i).join("/");
      const leaf = i === segs.length;
      if (!leaf && checked.has(sub)) continue;
      let st: Stats;
      try {
        st = lstatSync(join(root, sub));
      } catch (e) {
        if (errorCode(e) === "ENOENT") break; // created by the restore, as is everything below it
        throw new PreconditionError(msg.components.config.cannotInspect({ sub, code: errorCode(e), rel }));
      }
      if (leaf) {
        if (st.isDirectory()) throw new PreconditionError(msg.components.config.isDirectory({ rel }));
        break;
      }
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = realpathSync(join(root, sub));
        } catch (e) {
          throw new PreconditionError(msg.components.config.danglingLink({ sub, code: errorCode(e) }), msg.components.config.linkHint);
        }
        if (!within(real, realRoot))
          throw new PreconditionError(msg.components.config.linkOutside({ sub, real, root: realRoot }), msg.components.config.linkHint);
        st = statSync(real);
      }
      if (!st.isDirectory()) throw new PreconditionError(msg.components.config.notDirectory({ sub, rel }));
      checked.add(sub);
    }
  }
}

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

/**
 * The backup's .env.prod must pass today's checks: restored as it is, a value that is refused
 * now (a placeholder, a `$` Compose would expand, a malformed key) would make every later run,
 * `rollback.mts --undo` included, stop with exit 3.
 */
function checkRestoredEnv(text: string): void {
  const values = dotenvParse(text);
  const first = [...composeDisagreements(text), ...validateEnv(values)][0];
  let why = first ? `${first.key} ${first.problem}` : undefined;
  try {
    parseConfig((k) => values[k]);
  } catch (e) {
    why ??= (e as Error).message.replace(/^\.env\.prod(: |：)/, "");
  }
  if (why) {
    throw new InvalidBackupError(msg.components.config.envRefused({ why }), msg.components.config.envRefusedHint);
  }
}

export const config: Component = {
  name: "config",

  async backup(ctx) {
    const skipped: string[] = [];
    const files = configFiles(ctx.project.root, ctx.project.composeFiles, skipped);
    if (files.length === 0) throw new ClawError(msg.components.config.noFiles({ root: ctx.project.root }));
    await tar.c(
      { cwd: ctx.project.root, file: join(ctx.dir, CONFIG_FILE), portable: false, follow: false, mode: 0o600 } as tar.TarOptionsWithAliasesFile,
      files,
    );
    return {
      artifacts: [await artifact(ctx.dir, CONFIG_FILE)],
      tools: { tar: "node-tar 7" },
      counts: { files: files.length },
      notes: [`files: ${files.join(", ")}`, ...(skipped.length ? [`not backed up (not regular files): ${skipped.join(", ")}`] : [])],
    };
  },

  async verify(ctx, rec) {
    checkArchive(join(ctx.dir, CONFIG_FILE), rec, composeRelPaths(ctx.project.root, ctx.project.composeFiles));
  },

  async drill(ctx, rec) {
    await this.verify(ctx, rec);
    // A dry run of the real restore: unpacks every file into scratch, compares, writes nothing live.
    const r = await restoreConfigFiles(join(ctx.dir, CONFIG_FILE), ctx.project.root, ctx.project.stack, true, ctx.project.composeFiles);
    const files = wantFiles(rec);
    return r.changed.length
      ? msg.components.config.drillDiffer({ files, changed: r.changed.join(msg.components.common.listSep) })
      : msg.components.config.drillEqual({ files });
  },

  async check(ctx, rec) {
    // One read of the archive: its entries checked, their bytes in a scratch dir for the .env.prod check.
    const scratch = newWorkDir(ctx.project.root, "config-check");
    try {
      const files = checkArchive(join(ctx.dir, CONFIG_FILE), rec, composeRelPaths(ctx.project.root, ctx.project.composeFiles), scratch);
      checkLiveTree(
        ctx.project.root,
        files.map((f) => f.rel),
      );
      const env = files.find((f) => f.rel === ENV_FILE)?.scratch;
      if (env) checkRestoredEnv(readFileSync(env, "utf8"));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },

  async restore(ctx, rec) {
    // check() ran before the snapshot; the same checks again here, right before writing.
    await this.verify(ctx, rec);
    const r = await restoreConfigFiles(join(ctx.dir, CONFIG_FILE), ctx.project.root, ctx.project.stack, false, ctx.project.composeFiles);
    ctx.out.info(
      r.changed.length
        ? msg.components.config.restored({ files: r.changed.join(msg.components.common.listSep) })
        : msg.components.config.noneDiffered,
    );
    if (r.composeChanged) await ctx.project.compose.up({ wait: true });
    if (r.mounting.length) await ctx.project.compose.up({ services: r.mounting, wait: true, forceRecreate: true, noDeps: true });
  },
};
