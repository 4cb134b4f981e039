#!/usr/bin/env -S npx zx
// deploy.mts — see `npx zx scripts/deploy.mts --help`. Thin: flags → lib/ → exit code.
import { deployMain } from "../lib/cli/deploy.ts";
import { runScript } from "../lib/cli/run.ts";
import { deploySpec } from "../lib/cli/specs.ts";

await runScript(deploySpec, deployMain, { logs: true });
