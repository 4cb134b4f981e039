/**
 * init-env.mts: a first `.env.prod` from templates/.env.prod.example, mode 0600, with every
 * password and key generated; only what cannot be generated is asked (flags, the environment
 * for API keys, or a prompt on a TTY). An existing `.env.prod` is never touched.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { PreconditionError, UsageError } from "../core/errors.ts";
import { createFileExclusive } from "../core/files.ts";
import { msg } from "../core/i18n/index.ts";
import { ask, isInteractive } from "../core/prompts.ts";
import { registerSecretValue } from "../core/secret.ts";
import { ASKED_KEYS, EnvValueError, givenValues, planEnvFile } from "../project/env-file.ts";
import { ENV_FILE, projectRoot, repoRoot } from "../project/project.ts";
import { printResult } from "./result.ts";
import type { ScriptContext } from "./run.ts";

export const TEMPLATE = join("templates", ".env.prod.example");

export async function initEnvMain({ args, out }: ScriptContext): Promise<number> {
  const m = msg.cli.initEnv;
  const root = projectRoot();
  const file = join(root, ENV_FILE);
  if (existsSync(file)) throw new PreconditionError(m.exists({ file }), m.existsHint);
  const given = givenValues(args.flags);
  const template = readFileSync(join(repoRoot(), TEMPLATE), "utf8");
  const missing = ASKED_KEYS.filter((a) => given[a.key] === undefined && !a.optional);
  if (missing.length && !isInteractive()) {
    const how = missing.map((a) => (a.flag ? `--${a.flag}` : m.fromEnv({ key: a.key }))).join(m.sep);
    throw new UsageError(m.missing({ keys: missing.map((a) => a.key).join(", "), how }), m.missingHint);
  }
  for (const a of ASKED_KEYS) {
    if (given[a.key] !== undefined || !isInteractive()) continue;
    const v = await ask(m.question[a.key], { secret: a.secret, optional: a.optional });
    if (v) given[a.key] = v;
  }
  for (const a of ASKED_KEYS) if (a.secret && given[a.key]) registerSecretValue(given[a.key]!);
  let plan: ReturnType<typeof planEnvFile>;
  try {
    plan = planEnvFile(template, given, () => {
      const s = randomBytes(32).toString("hex");
      registerSecretValue(s);
      return s;
    });
  } catch (e) {
    if (e instanceof EnvValueError) throw new UsageError(m.badValue({ key: e.key }));
    throw e;
  }
  if (plan.problems.length) {
    const first = plan.problems[0]!;
    throw new UsageError(m.invalid({ key: first.key, problem: first.problem }), m.missingHint);
  }
  const rel = relative(process.cwd(), file);
  const shown = rel && !rel.startsWith("..") ? rel : file;
  if (args.flags["dry-run"]) {
    out.info(m.dryRun({ file: shown, generated: plan.generated.join(", "), given: plan.given.join(", ") }));
    printResult(out, { ok: true, dryRun: true, file, generated: plan.generated, given: plan.given });
    return 0;
  }
  try {
    createFileExclusive(file, plan.text, 0o600);
  } catch (e) {
    // The link is the only step that meets an existing .env.prod (the temporary name is random).
    if ((e as NodeJS.ErrnoException).code === "EEXIST" && (e as NodeJS.ErrnoException).syscall === "link")
      throw new PreconditionError(m.exists({ file }), m.existsHint);
    throw e;
  }
  out.success(m.written({ file: shown, generated: plan.generated.join(", "), given: plan.given.join(", ") }));
  out.info(m.next);
  printResult(out, { ok: true, file, generated: plan.generated, given: plan.given });
  return 0;
}
