/** 简体中文：lib/backup/components 的消息（规则见 ../index.ts）。 */
import type { components as en } from "../en/components.ts";

export const components: typeof en = {};
