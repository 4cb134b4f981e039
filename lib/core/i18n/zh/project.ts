/** 简体中文：lib/project 的消息（规则见 ../index.ts）。 */
import type { project as en } from "../en/project.ts";

export const project: typeof en = {};
