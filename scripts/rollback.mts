#!/usr/bin/env -S npx zx
// rollback.mts — see `npx zx scripts/rollback.mts --help`. Thin: flags → lib/ → exit code.
import { join } from "node:path";
import { runScript } from "../lib/cli/run.ts";
import { rollbackSpec } from "../lib/cli/specs.ts";
import { projectRoot } from "../lib/project/project.ts";
import { rollbackCommand } from "../lib/cli/rollback.ts";

await runScript(rollbackSpec, rollbackCommand, { logDir: join(projectRoot(), "logs") });
