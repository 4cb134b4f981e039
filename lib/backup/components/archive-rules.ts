/** What the uploads and config archives share: Linux name limits, tar entry kinds, the restoring user. */

/** Linux: NAME_MAX per name, and a whole path with room left for the directory it lands in. */
export const NAME_MAX = 255;
export const PATH_MAX = 3800;

/** node-tar's names for a regular file entry. */
export const FILE_TYPES: readonly string[] = ["File", "OldFile", "ContiguousFile"];

/** Only root can give restored files the live owner. */
export const isRoot = () => process.getuid?.() === 0;

/** An fs error's code, for a one-line message. */
export const errorCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
