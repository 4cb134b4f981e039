/** 简体中文：lib/migrate 的消息（规则见 ../index.ts）。 */
import type { migrate as en } from "../en/migrate.ts";

export const migrate: typeof en = {};
