import assert from "node:assert/strict";
import { chmodSync, chownSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { config } from "../../../../lib/backup/components/config.ts";
import { CONFIG_FILE } from "../../../../lib/backup/components/config-archive.ts";
import { configFiles } from "../../../../lib/backup/components/config-files.ts";
import { composeInputChanged, restoreConfigFiles, servicesMounting } from "../../../../lib/backup/components/config-restore.ts";
import type { ComponentRecord } from "../../../../lib/backup/manifest.ts";
import { ExitCode, InvalidBackupError, PreconditionError } from "../../../../lib/core/errors.ts";
import { testEnv } from "../../../stack/harness.ts";
import { componentRecord, ctxFor, loadProdStack, ROOT, rejectsWith, tmp, tree, write } from "../../helpers.ts";
import { type CraftEntry, craftTar } from "./tar-craft.ts";

const stack = loadProdStack();

const VALID_ENV = `${Object.entries(testEnv())
  .map(([k, v]) => `${k}=${v}`)
  .join("\n")}\n`;

function projectTree(): string {
  const root = tmp("cfg");
  // A .env.prod that passes today's checks (a restore refuses to bring back one that does not).
  write(root, ".env.prod", VALID_ENV, 0o600);
  writeFileSync(join(root, "docker-compose.prod.yml"), readFileSync(join(ROOT, "docker-compose.prod.yml")));
  write(root, "nginx/nginx.conf", "events {}\n");
  write(root, "nginx/.htpasswd", "admin:x\n");
  write(root, "nginx/ssl/fullchain.pem", "CERT");
  write(root, "nginx/ssl/privkey.pem", "KEY", 0o600);
  write(root, "prometheus/prometheus.yml", "global: {}\n");
  write(root, "prometheus/alerts.yml", "groups: []\n");
  write(root, "grafana/provisioning/datasources/ds.yml", "apiVersion: 1\n");
  write(root, "grafana/dashboards/claw.json", "{}\n");
  write(root, "loki/loki-config.yml", "auth_enabled: false\n");
  write(root, "loki/promtail-config.yml", "server: {}\n");
  write(root, "uploads/photo.jpg", "not config");
  write(root, "backups/daily/x/manifest.json", "{}");
  write(root, "README.md", "not config");
  return root;
}

const CONFIG_FILES = [
  ".env.prod",
  "docker-compose.prod.yml",
  "grafana/dashboards/claw.json",
  "grafana/provisioning/datasources/ds.yml",
  "loki/loki-config.yml",
  "loki/promtail-config.yml",
  "nginx/.htpasswd",
  "nginx/nginx.conf",
  "prometheus/alerts.yml",
  "prometheus/prometheus.yml",
];

test("config files are .env.prod, the compose files and the nginx/prometheus/grafana/loki trees, without TLS keys", () => {
  const root = projectTree();
  assert.deepEqual(configFiles(root, [join(root, "docker-compose.prod.yml")]), CONFIG_FILES);
});

test("config files leave out a compose file outside the project and a missing .env.prod", () => {
  const root = projectTree();
  rmSync(join(root, ".env.prod"));
  const files = configFiles(root, [join(root, "docker-compose.prod.yml"), join(tmp("elsewhere"), "override.yml")]);
  assert.deepEqual(
    files,
    CONFIG_FILES.filter((f) => f !== ".env.prod"),
  );
  assert.deepEqual(configFiles(tmp("empty"), []), []);
});

test("an env or compose file change is one compose up detects by itself", () => {
  assert.equal(composeInputChanged([".env.prod"]), true);
  assert.equal(composeInputChanged(["nginx/nginx.conf", "docker-compose.prod.yml"]), true);
  assert.equal(composeInputChanged(["docker-compose.override.yaml"]), true);
  assert.equal(composeInputChanged(["nginx/nginx.conf", "prometheus/alerts.yml"]), false);
  assert.equal(composeInputChanged(["docker-compose.prod.yml.bak", ".env.prod.example"]), false);
  assert.equal(composeInputChanged([]), false);
});

test("a compose file chosen with COMPOSE_FILE under another name counts as a compose change", () => {
  assert.equal(composeInputChanged(["compose.yaml"]), true);
});

test("services that bind-mount a changed config file are the ones force-recreated", () => {
  assert.deepEqual(servicesMounting(["nginx/nginx.conf"], stack), ["nginx"]);
  assert.deepEqual(servicesMounting(["nginx/.htpasswd"], stack), ["nginx"]);
  assert.deepEqual(servicesMounting(["prometheus/alerts.yml"], stack), ["prometheus"]);
  assert.deepEqual(servicesMounting(["loki/promtail-config.yml"], stack), ["promtail"]);
  assert.deepEqual(servicesMounting(["loki/loki-config.yml"], stack), ["loki"]);
  assert.deepEqual(servicesMounting(["grafana/provisioning/x"], stack), ["grafana"]);
  assert.deepEqual(servicesMounting(["grafana/dashboards/claw.json", "loki/promtail-config.yml", "nginx/nginx.conf"], stack), [
    "grafana",
    "nginx",
    "promtail",
  ]);
  assert.deepEqual(servicesMounting([".env.prod", "docker-compose.prod.yml", "nginx/nginx.conf.bak", "grafana/provisioning-old"], stack), []);
  assert.deepEqual(servicesMounting([], stack), []);
});

test("a config restore writes back only the files that differ and names the services to recreate", async () => {
  const root = projectTree();
  const dir = tmp("bk");
  const res = await config.backup(ctxFor(root, dir));
  assert.deepEqual(res.counts, { files: CONFIG_FILES.length });
  writeFileSync(join(root, "nginx/nginx.conf"), "changed since the backup\n");
  rmSync(join(root, "loki/promtail-config.yml"));
  writeFileSync(join(root, ".env.prod"), "POSTGRES_DB=other\n", { mode: 0o644 });
  chmodSync(join(root, ".env.prod"), 0o644);

  const dry = await restoreConfigFiles(join(dir, CONFIG_FILE), root, stack, true);
  assert.deepEqual(dry, {
    changed: [".env.prod", "loki/promtail-config.yml", "nginx/nginx.conf"],
    composeChanged: true,
    mounting: ["nginx", "promtail"],
  });
  assert.equal(readFileSync(join(root, "nginx/nginx.conf"), "utf8"), "changed since the backup\n");

  const r = await restoreConfigFiles(join(dir, CONFIG_FILE), root, stack);
  assert.deepEqual(r, dry);
  assert.equal(readFileSync(join(root, "nginx/nginx.conf"), "utf8"), "events {}\n");
  assert.equal(readFileSync(join(root, "loki/promtail-config.yml"), "utf8"), "server: {}\n");
  assert.equal(readFileSync(join(root, ".env.prod"), "utf8"), VALID_ENV);
  assert.equal(statSync(join(root, ".env.prod")).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(root, "nginx/ssl/privkey.pem"), "utf8"), "KEY");
  assert.deepEqual(
    readdirSync(root).filter((n) => n.startsWith(".claw")),
    [],
  );
  assert.deepEqual((await restoreConfigFiles(join(dir, CONFIG_FILE), root, stack)).changed, []);
});

test("a config restore recreates a config directory that no longer exists", async () => {
  const root = projectTree();
  const dir = tmp("bk");
  await config.backup(ctxFor(root, dir));
  rmSync(join(root, "loki"), { recursive: true });
  const r = await restoreConfigFiles(join(dir, CONFIG_FILE), root, stack);
  assert.deepEqual(r.changed, ["loki/loki-config.yml", "loki/promtail-config.yml"]);
  assert.equal(readFileSync(join(root, "loki/loki-config.yml"), "utf8"), "auth_enabled: false\n");
});

// ---- crafted archives and unsafe live trees -------------------------------------------------

const configRec = (files: number): ComponentRecord => componentRecord("config", { files });

const noCompose = { compose: { up: async () => {} } };

/** A backup dir holding a crafted config.tar (plus the compose file every real one has). */
function craftedBackup(entries: CraftEntry[]): { dir: string; rec: ComponentRecord } {
  const dir = tmp("bk");
  const all: CraftEntry[] = [{ path: "docker-compose.prod.yml", body: "services: {}\n" }, ...entries];
  writeFileSync(join(dir, CONFIG_FILE), craftTar(all));
  const files = all.filter((e) => (e.type ?? (e.linkpath === undefined ? "File" : "SymbolicLink")) !== "Directory").length;
  return { dir, rec: configRec(files) };
}

const REFUSED: Array<[string, CraftEntry]> = [
  ["a script", { path: "scripts/backup.mts", body: "await $`rm -rf /`" }],
  ["a git hook", { path: ".git/hooks/pre-commit", body: "#!/bin/sh\n", mode: 0o755 }],
  ["a TLS key", { path: "nginx/ssl/privkey.pem", body: "OLD KEY" }],
  ["the TLS dir", { path: "nginx/ssl/", type: "Directory" }],
  ["a file beside the config dirs", { path: "README.md", body: "x" }],
  ["uploads", { path: "uploads/photo.jpg", body: "x" }],
  ["a config dir as a file", { path: "nginx", body: "x" }],
  ["a symlink", { path: "nginx/conf.d/evil.conf", linkpath: "/etc/passwd" }],
  ["a relative symlink", { path: "nginx/nginx.conf", linkpath: "../.env.prod" }],
  ["a hard link", { path: "nginx/hard.conf", type: "Link", linkpath: "docker-compose.prod.yml" }],
  ["a character device", { path: "nginx/null", type: "CharacterDevice" }],
  ["a block device", { path: "nginx/sda", type: "BlockDevice" }],
  ["a fifo", { path: "prometheus/fifo", type: "FIFO" }],
  ["a path with ..", { path: "nginx/../scripts/x.mts", body: "x" }],
  ["a path out of the project", { path: "../outside.conf", body: "x" }],
  ["an absolute path", { path: "/etc/cron.d/claw", body: "* * * * * root sh\n" }],
  ["an absolute path into a config dir", { path: "/nginx/nginx.conf", body: "x" }],
  ["a name over 255 bytes", { path: `nginx/${"n".repeat(300)}.conf`, body: "x" }],
  ["a directory outside the config dirs", { path: "scripts/", type: "Directory" }],
];

test("a config archive entry outside what config backups are made of, or not a regular file, is refused (exit 5) before anything is touched", async () => {
  for (const [what, entry] of REFUSED) {
    const root = projectTree();
    const before = tree(root);
    const { dir, rec } = craftedBackup([entry]);
    const ctx = ctxFor(root, dir, noCompose);
    assert.ok(config.check, "config has a pre-restore check");
    const e = await rejectsWith(config.check(ctx, rec), InvalidBackupError);
    assert.equal(e.exitCode, ExitCode.invalidBackup, what);
    // Defence in depth: the restore itself refuses the same archive.
    await rejectsWith(config.restore(ctx, rec), InvalidBackupError);
    await rejectsWith(restoreConfigFiles(join(dir, CONFIG_FILE), root, stack), InvalidBackupError);
    await rejectsWith(config.verify(ctx, rec), InvalidBackupError);
    assert.deepEqual(tree(root), before, `${what}: nothing changed`);
  }
});

test("a config archive entry twice, or a file that is also a directory, is refused (exit 5)", async () => {
  for (const entries of [
    [
      { path: "nginx/nginx.conf", body: "a" },
      { path: "nginx/nginx.conf", body: "b" },
    ],
    [
      { path: "nginx/conf.d", body: "a" },
      { path: "nginx/conf.d/x.conf", body: "b" },
    ],
  ] satisfies CraftEntry[][]) {
    const root = projectTree();
    const { dir, rec } = craftedBackup(entries);
    await rejectsWith(config.check!(ctxFor(root, dir), rec), InvalidBackupError);
  }
});

test("a config archive of allowed files only (odd names inside the config dirs, compose files, their directories) passes check and restores", async () => {
  const root = projectTree();
  const { dir, rec } = craftedBackup([
    { path: "./nginx/", type: "Directory" },
    { path: "nginx/conf.d/", type: "Directory" },
    { path: "nginx/conf.d/odd\nname é.conf", body: "server {}\n" },
    { path: "grafana/dashboards/new/deep.json", body: "{}\n" },
    { path: "compose.yaml", body: "services: {}\n" },
    { path: "docker-compose.override.yml", body: "services: {}\n" },
    { path: ".env.prod", body: VALID_ENV },
  ]);
  const ctx = ctxFor(root, dir, noCompose);
  await config.check!(ctx, rec);
  await config.verify(ctx, rec);
  await config.restore(ctx, rec);
  assert.equal(readFileSync(join(root, "nginx/conf.d/odd\nname é.conf"), "utf8"), "server {}\n");
  assert.equal(readFileSync(join(root, "compose.yaml"), "utf8"), "services: {}\n");
});

test("a compose file the project names (COMPOSE_FILE) may sit in a subdirectory; other files there are refused", async () => {
  const root = projectTree();
  const { dir, rec } = craftedBackup([{ path: "deploy/prod.yml", body: "services: {}\n" }]);
  const composeFiles = [join(root, "docker-compose.prod.yml"), join(root, "deploy/prod.yml")];
  await config.check!(ctxFor(root, dir, { composeFiles }), rec);
  await rejectsWith(config.check!(ctxFor(root, dir), rec), InvalidBackupError, /deploy\/prod\.yml/);
});

test("a live config directory that is a symlink out of the project is refused by check() (exit 3): the restore never writes through it", async () => {
  const root = projectTree();
  const outside = tmp("outside");
  write(outside, "default.conf", "theirs\n");
  symlinkSync(outside, join(root, "nginx/conf.d"));
  const { dir, rec } = craftedBackup([{ path: "nginx/conf.d/default.conf", body: "ours\n" }]);
  const ctx = ctxFor(root, dir, noCompose);
  const e = await rejectsWith(config.check!(ctx, rec), PreconditionError, /nginx\/conf\.d is a symlink to .*outside the project/);
  assert.equal(e.exitCode, ExitCode.precondition);
  await rejectsWith(restoreConfigFiles(join(dir, CONFIG_FILE), root, stack), PreconditionError);
  await rejectsWith(config.restore(ctx, rec), PreconditionError);
  assert.deepEqual(tree(outside), ["default.conf: theirs\n"]);
  // A relative link out works the same.
  rmSync(join(root, "nginx/conf.d"));
  symlinkSync("../../".repeat(8) + outside.slice(1), join(root, "nginx/conf.d"));
  await rejectsWith(config.check!(ctx, rec), PreconditionError, /outside the project/);
  assert.deepEqual(tree(outside), ["default.conf: theirs\n"]);
});

test("a live config directory that is a symlink inside the project is written through; a live file that is a symlink is replaced, not written through", async () => {
  const root = projectTree();
  write(root, "nginx/conf.d.real/default.conf", "old\n");
  symlinkSync("conf.d.real", join(root, "nginx/conf.d"));
  const secret = join(tmp("outside"), "secret");
  writeFileSync(secret, "not yours\n");
  symlinkSync(secret, join(root, "nginx/mime.types"));
  const { dir, rec } = craftedBackup([
    { path: "nginx/conf.d/default.conf", body: "new\n" },
    { path: "nginx/mime.types", body: "types {}\n" },
  ]);
  const ctx = ctxFor(root, dir, noCompose);
  await config.check!(ctx, rec);
  await config.restore(ctx, rec);
  assert.equal(readFileSync(join(root, "nginx/conf.d.real/default.conf"), "utf8"), "new\n");
  assert.equal(lstatSync(join(root, "nginx/conf.d")).isSymbolicLink(), true);
  assert.equal(lstatSync(join(root, "nginx/mime.types")).isFile(), true);
  assert.equal(readFileSync(secret, "utf8"), "not yours\n");
});

test("a symlink loop in a config archive or in the live tree is a clean refusal, never ELOOP", async () => {
  const root = projectTree();
  const { dir, rec } = craftedBackup([
    { path: "nginx/a", linkpath: "b" },
    { path: "nginx/b", linkpath: "a" },
    { path: "nginx/a/x.conf", body: "x" },
  ]);
  const ctx = ctxFor(root, dir, noCompose);
  for (const p of [config.verify(ctx, rec), config.check!(ctx, rec), config.drill(ctx, rec), config.restore(ctx, rec)]) {
    const e = await rejectsWith(p, InvalidBackupError);
    assert.equal(e.exitCode, ExitCode.invalidBackup);
  }
  await rejectsWith(restoreConfigFiles(join(dir, CONFIG_FILE), root, stack), InvalidBackupError);

  symlinkSync("loop", join(root, "nginx/loop"));
  const live = craftedBackup([{ path: "nginx/loop/x.conf", body: "x" }]);
  const lctx = ctxFor(root, live.dir, noCompose);
  await rejectsWith(config.check!(lctx, live.rec), PreconditionError, /nginx\/loop/);
  assert.match(await config.drill(lctx, live.rec), /differ from the live ones: .*nginx\/loop\/x\.conf/);
});

test("a config restore keeps the owner and mode of the live files; new files and directories get the project root's owner; no setuid/setgid/sticky", async () => {
  const root = projectTree();
  chownSync(root, 2001, 2002);
  chownSync(join(root, ".env.prod"), 3001, 3002);
  chownSync(join(root, "nginx/nginx.conf"), 4001, 4002);
  chmodSync(join(root, "nginx/nginx.conf"), 0o640);
  const { dir, rec } = craftedBackup([
    { path: ".env.prod", body: "POSTGRES_DB=restored\n", mode: 0o4755, uid: 0 },
    { path: "nginx/nginx.conf", body: "restored {}\n", mode: 0o6755 },
    { path: "nginx/new.d/extra.conf", body: "new\n", mode: 0o7775, uid: 0, gid: 0 },
    { path: "prometheus/rules.yml", body: "groups: []\n", mode: 0o1640 },
  ]);
  await config.restore(ctxFor(root, dir, noCompose), rec);
  const st = (rel: string) => lstatSync(join(root, rel));
  assert.equal(readFileSync(join(root, ".env.prod"), "utf8"), "POSTGRES_DB=restored\n");
  assert.deepEqual([st(".env.prod").uid, st(".env.prod").gid, st(".env.prod").mode & 0o7777], [3001, 3002, 0o600]);
  assert.deepEqual([st("nginx/nginx.conf").uid, st("nginx/nginx.conf").gid, st("nginx/nginx.conf").mode & 0o7777], [4001, 4002, 0o640]);
  assert.deepEqual([st("nginx/new.d").uid, st("nginx/new.d").gid], [2001, 2002]);
  assert.deepEqual(
    [st("nginx/new.d/extra.conf").uid, st("nginx/new.d/extra.conf").gid, st("nginx/new.d/extra.conf").mode & 0o7777],
    [2001, 2002, 0o775],
  );
  assert.deepEqual([st("prometheus/rules.yml").uid, st("prometheus/rules.yml").mode & 0o7777], [2001, 0o640]);
  // A new .env.prod is 0600 and owned like the project root.
  rmSync(join(root, ".env.prod"));
  await config.restore(ctxFor(root, dir, noCompose), rec);
  assert.deepEqual([st(".env.prod").uid, st(".env.prod").gid, st(".env.prod").mode & 0o7777], [2001, 2002, 0o600]);
});

test("a config backup holds regular files only: symlinks in the config dirs are left out and named in the notes", async () => {
  const root = projectTree();
  symlinkSync("nginx.conf", join(root, "nginx/default.conf"));
  symlinkSync("loop", join(root, "nginx/loop"));
  symlinkSync(tmp("outside"), join(root, "grafana/elsewhere"));
  const dir = tmp("bk");
  const res = await config.backup(ctxFor(root, dir));
  assert.deepEqual(res.counts, { files: CONFIG_FILES.length });
  assert.ok(
    res.notes.some((n) => /not backed up \(not regular files\): grafana\/elsewhere, nginx\/default\.conf, nginx\/loop/.test(n)),
    res.notes.join("\n"),
  );
  await config.check!(ctxFor(root, dir), { ...configRec(CONFIG_FILES.length), ...res });
});

test("a config record with wrong types is refused (exit 5), not a TypeError", async () => {
  const root = projectTree();
  const dir = tmp("bk");
  const res = await config.backup(ctxFor(root, dir));
  for (const bad of [null, {}, { counts: null }, { counts: { files: "10" } }, { counts: { files: -1 } }, { counts: [] }]) {
    await rejectsWith(config.verify(ctxFor(root, dir), bad as unknown as ComponentRecord), InvalidBackupError);
    await rejectsWith(config.check!(ctxFor(root, dir), bad as unknown as ComponentRecord), InvalidBackupError);
  }
  await config.verify(ctxFor(root, dir), { ...configRec(0), ...res });
});

test("a backup whose .env.prod would be refused by today's checks (a placeholder, a $ Compose expands) is refused by check() (exit 5), naming the key only", async () => {
  for (const [what, line, re] of [
    ["a placeholder", "REDIS_PASSWORD=change_this_redis_password", /REDIS_PASSWORD still holds the template's placeholder/],
    ["a $ Compose would expand", "SECRET_KEY=abc$defabcdefabcdefabcdefabcdefabcdef", /SECRET_KEY holds a `\$`/],
  ] as const) {
    const root = projectTree();
    const before = tree(root);
    const env = `${VALID_ENV.split("\n")
      .filter((l) => !l.startsWith(`${line.split("=")[0]}=`))
      .join("\n")}${line}\n`;
    const { dir, rec } = craftedBackup([{ path: ".env.prod", body: env, mode: 0o600 }]);
    const e = await rejectsWith(config.check!(ctxFor(root, dir, noCompose), rec), InvalidBackupError, re);
    assert.match(e.hint ?? "", /--skip-config/, what);
    assert.doesNotMatch(e.message, /change_this|abc\$def/);
    assert.deepEqual(tree(root), before, `${what}: nothing changed`);
  }
});
