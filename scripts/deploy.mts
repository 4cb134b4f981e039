#!/usr/bin/env -S npx zx
import { runPendingScript } from "../lib/cli/pending.ts";
// deploy.mts — see `npx zx scripts/deploy.mts --help`. Thin: flags → lib/ → exit code.
import { deploySpec } from "../lib/cli/specs.ts";

await runPendingScript(deploySpec);
