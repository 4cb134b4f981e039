/**
 * nginx basic-auth files (`user:hash` lines) and the commands that make an APR1 hash.
 * Pure: argv arrays and parsers. The password goes to openssl on stdin, never in argv.
 */
import { msg } from "../core/i18n/index.ts";

/** `openssl passwd -apr1`: the hash of the password read from stdin (with `salt`, the same hash again). */
export const apr1Hash = (salt?: string): string[] => ["openssl", "passwd", "-apr1", ...(salt ? ["-salt", salt] : []), "-stdin"];

/** The numeric group of `user` inside an image, from a throwaway container (no network). */
export const imageGroupId = (image: string, user: string): string[] => [
  "docker",
  "run",
  "--rm",
  "--network",
  "none",
  "--entrypoint",
  "id",
  image,
  "-g",
  user,
];

/** Pure: the hash of `user` in an htpasswd file's text and, for an APR1 hash, its salt. */
export function htpasswdEntry(text: string, user: string): { hash: string; salt: string | undefined } | undefined {
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i <= 0 || line.slice(0, i) !== user) continue;
    const hash = line.slice(i + 1).trim();
    return { hash, salt: /^\$apr1\$([^$]{1,8})\$/.exec(hash)?.[1] };
  }
  return undefined;
}

/** Pure: the file's one line. A user name with `:` or a line break cannot be written. */
export function htpasswdLine(user: string, hash: string): string {
  if (!/^[^:\s]+$/.test(user)) throw new Error(msg.project.commands.htpasswd.badUser({ user: JSON.stringify(user) }));
  return `${user}:${hash}\n`;
}

/** Pure: the users an htpasswd file's text names. */
export function htpasswdUsers(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.slice(0, Math.max(0, l.indexOf(":"))))
    .filter(Boolean);
}
