/** 简体中文：lib/restore 的消息（规则见 ../index.ts）。 */
import type { restore as en } from "../en/restore.ts";

export const restore: typeof en = {};
