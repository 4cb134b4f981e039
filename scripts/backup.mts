#!/usr/bin/env -S npx zx
// backup.mts — see `npx zx scripts/backup.mts --help`. Thin: flags → lib/cli → exit code.
import { backupMain } from "../lib/cli/backup.ts";
import { runScript } from "../lib/cli/run.ts";
import { backupSpec } from "../lib/cli/specs.ts";

await runScript(backupSpec, backupMain, { logs: true });
