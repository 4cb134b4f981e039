/** English messages of lib/backup/components (see ../index.ts for the rules). */
export const components = {};
