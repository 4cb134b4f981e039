/**
 * The backup id, `YYYYMMDD-HHMMSS`: the name of a backup or snapshot directory, of an in-place
 * snapshot beside live data (its tag), and the stamp of a release id and a run's log file. Its
 * one definition: every pattern that holds an id is built from BACKUP_ID_SOURCE.
 *
 * An id is the server's local wall-clock time (a log file's stamp is UTC). Ages are measured
 * between true instants, never between ids: local time skips an hour in spring and repeats one
 * in autumn.
 */
import { msg } from "../i18n/index.ts";

/** The id as regex source, unanchored, for patterns that embed it: `new RegExp(\`^KEPT (${BACKUP_ID_SOURCE})$\`)`. */
export const BACKUP_ID_SOURCE = /\d{8}-\d{6}/.source;
/** Exactly one id. */
const BACKUP_ID = new RegExp(`^${BACKUP_ID_SOURCE}$`);

/** Whether `s` has the id's shape (parseBackupId also checks that it names a real time). */
export const isBackupId = (s: string): boolean => BACKUP_ID.test(s);

const ID_PARTS = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/;
const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/**
 * `YYYYMMDD-HHMMSS` in local time (in UTC with `zone` "utc"). Throws a RangeError for an
 * invalid Date or a year outside 0000–9999.
 */
export function formatBackupId(d: Date, zone: "local" | "utc" = "local"): string {
  if (Number.isNaN(d.getTime())) throw new RangeError(msg.backup.retention.invalidDate);
  const utc = zone === "utc";
  const y = utc ? d.getUTCFullYear() : d.getFullYear();
  if (y < 0 || y > 9999) throw new RangeError(msg.backup.retention.yearOutOfRange({ year: y }));
  const [mo, day, h, mi, s] = utc
    ? [d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${pad(y, 4)}${pad(mo + 1)}${pad(day)}-${pad(h)}${pad(mi)}${pad(s)}`;
}

/**
 * The local instant an id names, or undefined when the id is not exactly `YYYYMMDD-HHMMSS` or
 * names a wall-clock time that does not exist (Feb 29 of a common year, month 13, 25:00, or a
 * time skipped by a DST spring-forward). A time repeated by a fall-back maps to its first
 * occurrence: ids are names, use the manifest's instant for arithmetic.
 */
export function parseBackupId(id: string): Date | undefined {
  const m = ID_PARTS.exec(id);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(2000, 0, 1, 0, 0, 0, 0);
  date.setFullYear(y, mo - 1, d); // setFullYear: years 0–99 are not shifted into the 1900s
  date.setHours(h, mi, s, 0);
  const same =
    date.getFullYear() === y &&
    date.getMonth() === mo - 1 &&
    date.getDate() === d &&
    date.getHours() === h &&
    date.getMinutes() === mi &&
    date.getSeconds() === s;
  return same ? date : undefined;
}

/** Orders ids by the wall-clock time they name (fixed-width digits: their code units). */
export const compareBackupIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
