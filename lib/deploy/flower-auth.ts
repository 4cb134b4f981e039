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
import { apr1Hash, htpasswdEntry, htpasswdLine, imageGroupId } from "../commands/htpasswd.ts";
import { PreconditionError } from "../core/errors.ts";
import { run } from "../core/exec.ts";
import { createFileExclusive } from "../core/files.ts";
import { msg } from "../core/i18n/index.ts";
import type { Project } from "../project/project.ts";

export const HTPASSWD = join("nginx", ".htpasswd");
/** nginx.conf's `user` directive: the official image's workers (uid/gid 101). */
export const NGINX_WORKER_USER = "nginx";
const MODE = 0o640;

export type FlowerAuthOutcome = "kept" | "written" | "replaced-directory";

/** The credentials of a project's .env.prod (validated by openProject). */
export const flowerCredentials = (project: Project) => ({
  user: project.env.get("FLOWER_USER") ?? "",
  password: project.env.get("FLOWER_PASSWORD") ?? "",
});

export async function ensureFlowerAuth(
  root: string,
  { user, password }: { user: string; password: string },
  nginxImage: string,
): Promise<FlowerAuthOutcome> {
  const file = join(root, HTPASSWD);
  const st = lstatOrUndefined(file);
  // Docker makes an empty directory for a bind-mount source that is missing (nginx started
  // before this file existed): that one is ours to replace; anything else is refused.
  let replacedDir = false;
  if (st?.isDirectory() && readdirSync(file).length === 0) {
    rmdirSync(file);
    replacedDir = true;
  } else if (st && !st.isFile()) {
    throw new PreconditionError(msg.deploy.flowerAuth.notAFile({ file }), msg.deploy.flowerAuth.notAFileHint({ file }));
  }
  const gid = Number((await run({ argv: imageGroupId(nginxImage, NGINX_WORKER_USER) })).stdout.trim());
  if (!Number.isInteger(gid)) throw new PreconditionError(msg.deploy.flowerAuth.noWorkerGroup({ image: nginxImage, user: NGINX_WORKER_USER }));
  const uid = process.getuid?.() ?? 0;
  if (st?.isFile() && (await verifies(readFileSync(file, "utf8"), user, password)) && (st.mode & 0o777) === MODE && st.gid === gid) return "kept";
  const hash = (await run({ argv: apr1Hash() }, { input: `${password}\n` })).stdout.trim();
  const text = htpasswdLine(user, hash);
  if (st?.isFile()) {
    // In place: nginx bind-mounts this one file, and a file renamed over it would not be seen inside.
    const fd = openSync(file, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW);
    try {
      fchmodSync(fd, MODE);
      fchownSync(fd, uid, gid);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return "written";
  }
  createFileExclusive(file, text, MODE, { uid, gid });
  return replacedDir ? "replaced-directory" : "written";
}

/** Whether the file's entry for `user` is the APR1 hash of `password` (same salt, same hash). */
async function verifies(text: string, user: string, password: string): Promise<boolean> {
  const entry = htpasswdEntry(text, user);
  if (!entry?.salt) return false;
  const again = (await run({ argv: apr1Hash(entry.salt) }, { input: `${password}\n` })).stdout.trim();
  return again === entry.hash;
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}
