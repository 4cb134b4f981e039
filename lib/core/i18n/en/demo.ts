/** English messages of lib/demo (see ../index.ts for the rules). */
export const demo = {};
