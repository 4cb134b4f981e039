/**
 * Where the uploads are: the host directory the backend's ./uploads bind mount names, the
 * directory it really is (through a symlink), and creating it as a restore does.
 */
import { chownSync, lstatSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { PreconditionError } from "../../core/errors.ts";
import { msg } from "../../core/i18n/index.ts";
import { type StackModel, serviceByRole } from "../../project/stack.ts";
import { errorCode, isRoot } from "./archive-rules.ts";

/** The host directory bind-mounted as the backend's uploads (./uploads in the compose file). */
export function uploadsDir(root: string, stack: StackModel): string {
  const backend = serviceByRole(stack, "backend");
  const bind = backend.volumes.find((v) => v.type === "bind" && /uploads/.test(v.target));
  return resolve(root, bind?.source ?? "./uploads");
}

/**
 * The directory the uploads really are in: the real path of uploadsDir (through a symlink,
 * relative or absolute), or undefined when nothing is there yet. PreconditionError for a link
 * that does not resolve (dangling, a loop) or something that is not a directory.
 */
export function uploadsRealDir(dir: string): string | undefined {
  try {
    lstatSync(dir);
  } catch (e) {
    if (errorCode(e) === "ENOENT") return undefined;
    throw new PreconditionError(msg.components.uploads.cannotInspect({ dir, code: errorCode(e) }));
  }
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (e) {
    throw new PreconditionError(msg.components.uploads.danglingLink({ dir, code: errorCode(e) }), msg.components.uploads.danglingLinkHint);
  }
  if (!statSync(real).isDirectory())
    throw new PreconditionError(msg.components.uploads.notDirectory({ dir, target: real === dir ? undefined : real }));
  return real;
}

/** The uploads directory, created as a restore creates it when it is not there. */
export function liveUploads(root: string, stack: StackModel): string {
  const dir = uploadsDir(root, stack);
  const real = uploadsRealDir(dir);
  if (real !== undefined) return real;
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { mode: 0o755 });
  const st = statSync(root);
  if (isRoot()) chownSync(dir, st.uid, st.gid);
  return realpathSync(dir);
}
