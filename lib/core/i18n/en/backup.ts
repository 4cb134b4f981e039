/** English messages of lib/backup (see ../index.ts for the rules). */
export const backup = {};
