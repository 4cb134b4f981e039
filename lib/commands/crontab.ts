/** crontab(1) as argv. Pure. */
export const crontabList = () => ["crontab", "-l"];
/** Replace the user's crontab with stdin. */
export const crontabInstall = () => ["crontab", "-"];
