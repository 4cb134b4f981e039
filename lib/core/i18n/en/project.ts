/** English messages of lib/project (see ../index.ts for the rules). */
export const project = {};
