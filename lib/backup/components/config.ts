/**
 * Configuration: .env.prod (kept 0600), the compose file(s), nginx, Prometheus, Grafana and
 * Loki config, as one tar; the release (backend image and tag) is in the manifest.
 * TLS keys are left out on purpose: certbot renews them, and an old certificate must not
 * come back with a rollback.
 * Restore writes back only files that differ, each atomically, and names them (never their
 * contents); services that mount a changed file or read a changed env are recreated.
 * This file is the component; its parts: config-files.ts (what config backups are made of),
 * config-archive.ts (reading an archive without trusting it), config-live.ts (the live tree a
 * restore writes into) and config-restore.ts (the files written back, who is recreated).
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parse as dotenvParse } from "dotenv";
import * as tar from "tar";
import { ClawError, InvalidBackupError } from "../../core/errors.ts";
import { msg } from "../../core/i18n/index.ts";
import { parseConfig } from "../../project/config.ts";
import { composeDisagreements, validateEnv } from "../../project/env.ts";
import { artifact } from "../manifest.ts";
import { newWorkDir } from "../store.ts";
import type { Component } from "./component.ts";
import { CONFIG_FILE, checkArchive, wantFiles } from "./config-archive.ts";
import { composeRelPaths, configFiles, ENV_FILE } from "./config-files.ts";
import { checkLiveTree } from "./config-live.ts";
import { restoreConfigFiles } from "./config-restore.ts";

/**
 * The backup's .env.prod must pass today's checks: restored as it is, a value that is refused
 * now (a placeholder, a `$` Compose would expand, a malformed key) would make every later run,
 * `rollback.mts --undo` included, stop with exit 3.
 */
function checkRestoredEnv(text: string): void {
  const values = dotenvParse(text);
  const first = [...composeDisagreements(text), ...validateEnv(values)][0];
  let why = first ? `${first.key} ${first.problem}` : undefined;
  try {
    parseConfig((k) => values[k]);
  } catch (e) {
    why ??= (e as Error).message.replace(/^\.env\.prod(: |：)/, "");
  }
  if (why) {
    throw new InvalidBackupError(msg.components.config.envRefused({ why }), msg.components.config.envRefusedHint);
  }
}

export const config: Component = {
  name: "config",

  async backup(ctx) {
    const skipped: string[] = [];
    const files = configFiles(ctx.project.root, ctx.project.composeFiles, skipped);
    if (files.length === 0) throw new ClawError(msg.components.config.noFiles({ root: ctx.project.root }));
    await tar.c(
      { cwd: ctx.project.root, file: join(ctx.dir, CONFIG_FILE), portable: false, follow: false, mode: 0o600 } as tar.TarOptionsWithAliasesFile,
      files,
    );
    return {
      artifacts: [await artifact(ctx.dir, CONFIG_FILE)],
      tools: { tar: "node-tar 7" },
      counts: { files: files.length },
      notes: [`files: ${files.join(", ")}`, ...(skipped.length ? [`not backed up (not regular files): ${skipped.join(", ")}`] : [])],
    };
  },

  async verify(ctx, rec) {
    checkArchive(join(ctx.dir, CONFIG_FILE), rec, composeRelPaths(ctx.project.root, ctx.project.composeFiles));
  },

  async drill(ctx, rec) {
    await this.verify(ctx, rec);
    // A dry run of the real restore: unpacks every file into scratch, compares, writes nothing live.
    const r = await restoreConfigFiles(join(ctx.dir, CONFIG_FILE), ctx.project.root, ctx.project.stack, true, ctx.project.composeFiles);
    const files = wantFiles(rec);
    return r.changed.length
      ? msg.components.config.drillDiffer({ files, changed: r.changed.join(msg.components.common.listSep) })
      : msg.components.config.drillEqual({ files });
  },

  async check(ctx, rec) {
    // One read of the archive: its entries checked, their bytes in a scratch dir for the .env.prod check.
    const scratch = newWorkDir(ctx.project.root, "config-check");
    try {
      const files = checkArchive(join(ctx.dir, CONFIG_FILE), rec, composeRelPaths(ctx.project.root, ctx.project.composeFiles), scratch);
      checkLiveTree(
        ctx.project.root,
        files.map((f) => f.rel),
      );
      const env = files.find((f) => f.rel === ENV_FILE)?.scratch;
      if (env) checkRestoredEnv(readFileSync(env, "utf8"));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },

  async restore(ctx, rec) {
    // check() ran before the snapshot; the same checks again here, right before writing.
    await this.verify(ctx, rec);
    const r = await restoreConfigFiles(join(ctx.dir, CONFIG_FILE), ctx.project.root, ctx.project.stack, false, ctx.project.composeFiles);
    ctx.out.info(
      r.changed.length
        ? msg.components.config.restored({ files: r.changed.join(msg.components.common.listSep) })
        : msg.components.config.noneDiffered,
    );
    if (r.composeChanged) await ctx.project.compose.up({ wait: true });
    if (r.mounting.length) await ctx.project.compose.up({ services: r.mounting, wait: true, forceRecreate: true, noDeps: true });
  },
};
