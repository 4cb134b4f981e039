/** crontab(1) as argv. Pure. */
export const crontabList = () => ["crontab", "-l"];
/** Replace the user's crontab with stdin. */
export const crontabInstall = () => ["crontab", "-"];

/**
 * argv: run a crontab command the way cron does: an empty environment but HOME, LOGNAME and
 * SHELL, PATH=/usr/bin:/bin, through /bin/sh.
 */
export const underCronEnvironment = (command: string, home: string, user: string) => [
  "env",
  "-i",
  `HOME=${home}`,
  `LOGNAME=${user}`,
  "SHELL=/bin/sh",
  "PATH=/usr/bin:/bin",
  "/bin/sh",
  "-c",
  command,
];
