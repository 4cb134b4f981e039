#!/usr/bin/env -S npx zx
// migrate.mts — see `npx zx scripts/migrate.mts --help`. Thin: flags → lib/ → exit code.
import { migrateMain } from "../lib/cli/migrate.ts";
import { runScript } from "../lib/cli/run.ts";
import { migrateSpec } from "../lib/cli/specs.ts";

await runScript(migrateSpec, migrateMain, { logs: true });
