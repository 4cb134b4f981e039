/** The English catalogue: the reference shape every other language must fill (see ./index.ts). */
import { backup } from "./en/backup.ts";
import { cli } from "./en/cli.ts";
import { components } from "./en/components.ts";
import { core } from "./en/core.ts";
import { demo } from "./en/demo.ts";
import { deploy } from "./en/deploy.ts";
import { migrate } from "./en/migrate.ts";
import { project } from "./en/project.ts";
import { restore } from "./en/restore.ts";

export const en = { core, cli, project, backup, components, restore, migrate, deploy, demo };
