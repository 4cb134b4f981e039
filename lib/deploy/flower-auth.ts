/**
 * Flower's basic auth: nginx/.htpasswd holds FLOWER_USER with an APR1 hash of
 * FLOWER_PASSWORD (both from .env.prod; preflight already refused a missing or placeholder
 * password). Written before nginx starts or is brought up to date, kept when it already
 * verifies the password, mode 0640 with the group nginx's workers run as (`user nginx` in
 * nginx.conf; the id comes from the image), so only root and nginx read it.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { apr1Hash, htpasswdEntry, htpasswdLine, htpasswdUsers, imageGroupId } from "../commands/htpasswd.ts";
import { ClawError } from "../core/errors.ts";
import { run } from "../core/exec.ts";
import { createFileExclusive } from "../core/files.ts";
import { msg } from "../core/i18n/index.ts";
import type { Project } from "../project/project.ts";

const HTPASSWD = join("nginx", ".htpasswd");
/** nginx.conf's `user` directive: the official image's workers (uid/gid 101). */
const NGINX_WORKER_USER = "nginx";
const MODE = 0o640;

export interface FlowerAuthOutcome {
  outcome: "kept" | "written" | "replaced-directory";
  /** Users of the old file other than FLOWER_USER, now gone. */
  dropped: string[];
}

/** The credentials of a project's .env.prod (validated by openProject). */
export const flowerCredentials = (project: Project) => ({
  user: project.config.flower.user ?? "",
  password: project.config.flower.password?.reveal() ?? "",
});

export async function ensureFlowerAuth(
  root: string,
  { user, password }: { user: string; password: string },
  nginxImage: string,
): Promise<FlowerAuthOutcome> {
  const file = join(root, HTPASSWD);
  const st = lstatSync(file, { throwIfNoEntry: false });
  // Docker makes an empty directory for a bind-mount source that is missing (nginx started
  // before this file existed): that one is ours to replace; anything else is refused.
  let replacedDir = false;
  if (st?.isDirectory() && readdirSync(file).length === 0) {
    rmdirSync(file);
    replacedDir = true;
  } else if (st && !st.isFile()) {
    // This runs after a deploy changed things (images, migrations): a failure is exit 1, not 3.
    throw new ClawError(msg.deploy.flowerAuth.notAFile({ file }), { hint: msg.deploy.flowerAuth.notAFileHint({ file }) });
  }
  const id = await run({ argv: imageGroupId(nginxImage, NGINX_WORKER_USER) }, { allowFailure: true });
  const gidText = id.stdout.trim();
  if (id.status !== 0 || !/^\d+$/.test(gidText))
    throw new ClawError(msg.deploy.flowerAuth.noWorkerGroup({ image: nginxImage, user: NGINX_WORKER_USER }));
  const gid = Number(gidText);
  const uid = process.getuid?.() ?? 0;
  const old = st?.isFile() ? readFileSync(file, "utf8") : "";
  if (st?.isFile() && (await verifies(old, user, password)) && (st.mode & 0o777) === MODE && st.gid === gid) return { outcome: "kept", dropped: [] };
  const hash = (await run({ argv: apr1Hash() }, { input: `${password}\n` })).stdout.trim();
  const text = htpasswdLine(user, hash);
  // Users someone added by hand are not Flower's: the caller says they are gone.
  const dropped = htpasswdUsers(old).filter((u) => u !== user);
  try {
    write(file, text, st?.isFile() ?? false, { uid, gid });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EPERM") throw new ClawError(msg.deploy.flowerAuth.notPermitted({ file, gid }), { cause: e });
    throw e;
  }
  return { outcome: replacedDir ? "replaced-directory" : "written", dropped };
}

function write(file: string, text: string, exists: boolean, owner: { uid: number; gid: number }): void {
  if (exists) {
    // In place: nginx bind-mounts this one file, and a file renamed over it would not be seen inside.
    // A crash between the truncation and the write leaves an empty file: Flower then answers 401 (closed).
    const fd = openSync(file, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW);
    try {
      fchmodSync(fd, MODE);
      fchownSync(fd, owner.uid, owner.gid);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return;
  }
  createFileExclusive(file, text, MODE, owner);
}

/** Whether the file's entry for `user` is the APR1 hash of `password` (same salt, same hash). */
async function verifies(text: string, user: string, password: string): Promise<boolean> {
  const entry = htpasswdEntry(text, user);
  if (!entry?.salt) return false;
  const again = (await run({ argv: apr1Hash(entry.salt) }, { input: `${password}\n` })).stdout.trim();
  return again === entry.hash;
}
