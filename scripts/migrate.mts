#!/usr/bin/env -S npx zx
// migrate.mts — see `npx zx scripts/migrate.mts --help`. Thin: flags → lib/ → exit code.
import { migrateSpec } from "../lib/cli/specs.ts";
import { runPendingScript } from "../lib/cli/pending.ts";

await runPendingScript(migrateSpec);
