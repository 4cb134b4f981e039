/**
 * Configuration: .env.prod (kept 0600), the compose file(s), nginx, Prometheus, Grafana and
 * Loki config, as one tar; the release (backend image and tag) is in the manifest.
 * TLS keys are left out on purpose: certbot renews them, and an old certificate must not
 * come back with a rollback.
 * Restore writes back only files that differ, each atomically, and names them (never their
 * contents); services that mount a changed file or read a changed env are recreated.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import * as tar from "tar";
import { InvalidBackupError } from "../../core/errors.ts";
import type { StackModel } from "../../project/stack.ts";
import { artifact } from "../manifest.ts";
import type { Component } from "./component.ts";

export const CONFIG_FILE = "config.tar";
export const CONFIG_DIRS = ["nginx", "prometheus", "grafana", "loki"];
const EXCLUDE = [/^nginx\/ssl(\/|$)/];

/** Project-relative config files that exist (sorted). */
export function configFiles(root: string, composeFiles: readonly string[]): string[] {
  const out = new Set<string>();
  if (existsSync(join(root, ".env.prod"))) out.add(".env.prod");
  for (const f of composeFiles) {
    const rel = relative(root, f);
    if (!rel.startsWith("..")) out.add(rel);
  }
  const walk = (rel: string) => {
    const abs = join(root, rel);
    if (!existsSync(abs) || EXCLUDE.some((re) => re.test(rel))) return;
    if (statSync(abs).isDirectory()) for (const n of readdirSync(abs).sort()) walk(join(rel, n));
    else if (statSync(abs).isFile()) out.add(rel);
  };
  for (const d of CONFIG_DIRS) walk(d);
  return [...out].sort();
}

/**
 * Pure: an env or compose change, which `compose up` itself detects per service. Compose files
 * are the project's own (any name COMPOSE_FILE gave) and the usual names.
 */
export const composeInputChanged = (changed: readonly string[], composeFiles: readonly string[] = []) =>
  changed.some((f) => f === ".env.prod" || composeFiles.includes(f) || /(^|\/)(docker-)?compose[^/]*\.ya?ml$/.test(f));

/** Pure: services that bind-mount a changed file; compose cannot see those changes, so they are force-recreated. */
export function servicesMounting(changed: readonly string[], stack: StackModel): string[] {
  const out = new Set<string>();
  for (const s of stack.services) {
    for (const v of s.volumes) {
      if (v.type !== "bind") continue;
      const src = v.source.replace(/^\.\//, "");
      if (changed.some((f) => f === src || f.startsWith(`${src}/`))) out.add(s.name);
    }
  }
  return [...out].sort();
}

export interface ConfigRestoreResult {
  changed: string[];
  composeChanged: boolean;
  mounting: string[];
}

/** Write back the archive's files that differ from the live ones. */
export async function restoreConfigFiles(
  archive: string,
  root: string,
  stack: StackModel,
  dryRun = false,
  composeFiles: readonly string[] = [],
): Promise<ConfigRestoreResult> {
  const tmp = mkdtempSync(join(root, ".claw-config-"));
  try {
    await tar.x({ file: archive, cwd: tmp, strict: true, preservePaths: false });
    const files: string[] = [];
    const walk = (rel: string) => {
      const abs = join(tmp, rel);
      if (statSync(abs).isDirectory()) for (const n of readdirSync(abs)) walk(join(rel, n));
      else files.push(rel);
    };
    for (const n of readdirSync(tmp)) walk(n);
    const changed = files
      .filter((f) => {
        const live = join(root, f);
        return !existsSync(live) || !readFileSync(live).equals(readFileSync(join(tmp, f)));
      })
      .sort();
    if (!dryRun) {
      for (const f of changed) {
        const src = join(tmp, f);
        const dst = join(root, f);
        const mode = f === ".env.prod" ? 0o600 : statSync(src).mode & 0o777;
        const staged = `${dst}.claw-new`;
        mkdirSync(dirname(dst), { recursive: true });
        writeFileSync(staged, readFileSync(src), { mode });
        chmodSync(staged, mode);
        renameSync(staged, dst);
      }
    }
    const composeRel = composeFiles.map((f) => relative(root, f));
    return { changed, composeChanged: composeInputChanged(changed, composeRel), mounting: servicesMounting(changed, stack) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const config: Component = {
  name: "config",

  async backup(ctx) {
    const files = configFiles(ctx.project.root, ctx.project.composeFiles);
    await tar.c(
      { cwd: ctx.project.root, file: join(ctx.dir, CONFIG_FILE), portable: false, follow: false, mode: 0o600 } as tar.TarOptionsWithAliasesFile,
      files,
    );
    return {
      artifacts: [await artifact(ctx.dir, CONFIG_FILE)],
      tools: { tar: "node-tar 7" },
      counts: { files: files.length },
      notes: [`files: ${files.join(", ")}`],
    };
  },

  async verify(ctx, rec) {
    let n = 0;
    try {
      await tar.t({
        file: join(ctx.dir, CONFIG_FILE),
        strict: true,
        onReadEntry: (e) => {
          if (e.type !== "Directory") n++;
        },
      });
    } catch {
      throw new InvalidBackupError(`config: ${CONFIG_FILE} is not a readable tar archive`);
    }
    if (n !== rec.counts.files) throw new InvalidBackupError(`config: archive holds ${n} files, the manifest ${rec.counts.files}`);
  },

  async drill(ctx, rec) {
    await this.verify(ctx, rec);
    // A dry run of the real restore: extracts every file, compares, writes nothing.
    const r = await restoreConfigFiles(join(ctx.dir, CONFIG_FILE), ctx.project.root, ctx.project.stack, true, ctx.project.composeFiles);
    return `${rec.counts.files} files extract cleanly; ${r.changed.length ? `differ from the live ones: ${r.changed.join(", ")}` : "all equal the live ones"}`;
  },

  async restore(ctx) {
    const r = await restoreConfigFiles(join(ctx.dir, CONFIG_FILE), ctx.project.root, ctx.project.stack, false, ctx.project.composeFiles);
    ctx.out.info(r.changed.length ? `config: restored ${r.changed.join(", ")}` : "config: no file differed");
    if (r.composeChanged) await ctx.project.compose.up({ wait: true });
    if (r.mounting.length) await ctx.project.compose.up({ services: r.mounting, wait: true, forceRecreate: true, noDeps: true });
  },
};
