/** 简体中文：lib/demo 的消息（规则见 ../index.ts）。 */
import type { demo as en } from "../en/demo.ts";

export const demo: typeof en = {};
