#!/usr/bin/env -S npx zx
// init-env.mts — see `npx zx scripts/init-env.mts --help`. Thin: flags → lib/cli → exit code.
import { initEnvMain } from "../lib/cli/init-env.ts";
import { runScript } from "../lib/cli/run.ts";
import { initEnvSpec } from "../lib/cli/specs.ts";

await runScript(initEnvSpec, initEnvMain);
