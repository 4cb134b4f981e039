#!/usr/bin/env -S npx zx
import { runPendingScript } from "../lib/cli/pending.ts";
// migrate.mts — see `npx zx scripts/migrate.mts --help`. Thin: flags → lib/ → exit code.
import { migrateSpec } from "../lib/cli/specs.ts";

await runPendingScript(migrateSpec);
