/** English messages of lib/deploy (see ../index.ts for the rules). */
export const deploy = {};
