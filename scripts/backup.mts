#!/usr/bin/env -S npx zx
// backup.mts — see `npx zx scripts/backup.mts --help`. Thin: flags → lib/ → exit code.
import { backupSpec } from "../lib/cli-specs.ts";
import { runPendingScript } from "../lib/pending.ts";

await runPendingScript(backupSpec);
