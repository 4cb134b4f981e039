#!/usr/bin/env -S npx zx
// rollback.mts — see `npx zx scripts/rollback.mts --help`. Thin: flags → lib/ → exit code.
import { rollbackSpec } from "../lib/cli-specs.ts";
import { runPendingScript } from "../lib/pending.ts";

await runPendingScript(rollbackSpec);
