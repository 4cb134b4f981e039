/** English messages of lib/migrate (see ../index.ts for the rules). */
export const migrate = {};
