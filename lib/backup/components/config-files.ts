/**
 * What config backups are made of: .env.prod, the project's compose files and the nginx,
 * Prometheus, Grafana and Loki trees, without TLS keys and deploy state. The files a backup
 * takes (configFiles: regular files only) and the paths an archive may hold (allowedConfigFile,
 * allowedConfigDir), from the same lists.
 */
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

export const CONFIG_DIRS = ["nginx", "prometheus", "grafana", "loki"];
export const ENV_FILE = ".env.prod";
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

/** The project's compose files as project-relative paths (those inside the project only). */
export function composeRelPaths(root: string, composeFiles: readonly string[]): string[] {
  return composeFiles.map((f) => relative(root, resolve(root, f))).filter(staysInside);
}

/** The path's own lstat (a link is not followed), or undefined when there is nothing to stat. */
export const lstatOrUndefined = (p: string): Stats | undefined => {
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
