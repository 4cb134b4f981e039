/** 简体中文：lib/deploy 的消息（规则见 ../index.ts）。 */
import type { deploy as en } from "../en/deploy.ts";

export const deploy: typeof en = {};
