#!/usr/bin/env -S npx zx
// rollback.mts — see `npx zx scripts/rollback.mts --help`. Thin: flags → lib/cli → exit code.
import { rollbackMain } from "../lib/cli/rollback.ts";
import { runScript } from "../lib/cli/run.ts";
import { rollbackSpec } from "../lib/cli/specs.ts";

await runScript(rollbackSpec, rollbackMain, { logs: true });
