/**
 * nginx, run inside its container: config test, graceful reload, and how many old workers
 * are still finishing requests after a reload. Also the live/backend.conf include that names
 * the backend container nginx sends requests to. Pure.
 */
import { msg } from "../core/i18n/index.ts";

export const nginxTest = () => ["nginx", "-t", "-q"];
export const nginxReload = () => ["nginx", "-s", "reload"];

/**
 * Count of worker processes still draining after a reload ("nginx: worker process is
 * shutting down"). Busybox and Debian alike have sh, grep and wc; /proc is all it reads.
 * `[ ]` keeps the pattern from matching the cmdline of this very grep (and its sh).
 */
export const nginxDrainingWorkers = () => ["sh", "-c", "grep -ls 'shutting[ ]down' /proc/[0-9]*/cmdline 2>/dev/null | wc -l"];

/** The include nginx.conf reads inside its HTTPS server: `set $backend http://<host>:<port>;`. */
export const BACKEND_CONF = "nginx/live/backend.conf";

const HOST = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Pure: the text of live/backend.conf for a container (or service) name. */
export function backendConf(host: string, port: number, note: string): string {
  if (!HOST.test(host)) throw new Error(msg.project.commands.nginx.notContainerName({ host: JSON.stringify(host) }));
  return `# Written by deploy.mts (${note.replace(/\n/g, " ")}): the backend container nginx sends requests to.\nset $backend http://${host}:${port};\n`;
}

/** Pure: the host live/backend.conf names, or undefined when it names none. */
export function parseBackendConf(text: string): { host: string; port: number } | undefined {
  const m = /^\s*set\s+\$backend\s+http:\/\/([A-Za-z0-9][A-Za-z0-9_.-]*):(\d+)\s*;/m.exec(text);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}
