#!/usr/bin/env -S npx zx
// rollback.mts — see `npx zx scripts/rollback.mts --help`. Thin: flags → lib/ → exit code.
import { join } from "node:path";
import { runScript } from "../lib/cli.ts";
import { rollbackSpec } from "../lib/cli-specs.ts";
import { projectRoot } from "../lib/project.ts";
import { rollbackCommand } from "../lib/rollback.ts";

await runScript(rollbackSpec, rollbackCommand, { logDir: join(projectRoot(), "logs") });
