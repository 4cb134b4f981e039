/** 简体中文：lib/backup 的消息（规则见 ../index.ts）。 */
import type { backup as en } from "../en/backup.ts";

export const backup: typeof en = {};
