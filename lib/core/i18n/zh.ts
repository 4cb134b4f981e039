/** The Simplified Chinese catalogue (简体中文). Typed as English's shape: a missing key does not compile. */
import type { en } from "./en.ts";
import { backup } from "./zh/backup.ts";
import { cli } from "./zh/cli.ts";
import { components } from "./zh/components.ts";
import { core } from "./zh/core.ts";
import { demo } from "./zh/demo.ts";
import { deploy } from "./zh/deploy.ts";
import { migrate } from "./zh/migrate.ts";
import { project } from "./zh/project.ts";
import { restore } from "./zh/restore.ts";

export const zh: typeof en = { core, cli, project, backup, components, restore, migrate, deploy, demo };
