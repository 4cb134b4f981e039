/** English messages of lib/restore (see ../index.ts for the rules). */
export const restore = {};
