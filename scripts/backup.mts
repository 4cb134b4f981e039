#!/usr/bin/env -S npx zx
// backup.mts — see `npx zx scripts/backup.mts --help`. Thin: flags → lib/ → exit code.
import { join } from "node:path";
import { runScript } from "../lib/cli/run.ts";
import { backupSpec } from "../lib/cli/specs.ts";
import { backupCommand, installCronCommand, listCommand, pruneCommand, restoreCommand, verifyCommand } from "../lib/cli/backup.ts";
import { UsageError } from "../lib/core/errors.ts";
import { projectRoot } from "../lib/project/project.ts";

await runScript(backupSpec, async (ctx) => {
  const f = ctx.args.flags;
  const modes = ["list", "restore", "verify", "prune", "install-cron"].filter((m) => f[m] !== undefined && f[m] !== false);
  if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} cannot be combined`);
  if (ctx.args.positionals.length && !["verify", "install-cron"].includes(modes[0] ?? "")) {
    throw new UsageError(`unexpected argument ${JSON.stringify(ctx.args.positionals[0])}`);
  }
  switch (modes[0]) {
    case "list": return listCommand(ctx);
    case "restore": return restoreCommand(ctx);
    case "verify": return verifyCommand(ctx);
    case "prune": return pruneCommand(ctx);
    case "install-cron": return installCronCommand(ctx);
    default: return backupCommand(ctx);
  }
}, { logDir: join(projectRoot(), "logs") });
