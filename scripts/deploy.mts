#!/usr/bin/env -S npx zx
// deploy.mts — see `npx zx scripts/deploy.mts --help`. Thin: flags → lib/ → exit code.
import { deploySpec } from "../lib/cli/specs.ts";
import { runPendingScript } from "../lib/cli/pending.ts";

await runPendingScript(deploySpec);
