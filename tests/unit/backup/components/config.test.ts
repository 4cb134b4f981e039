import assert from "node:assert/strict";
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  CONFIG_FILE,
  composeInputChanged,
  config,
  configFiles,
  restoreConfigFiles,
  servicesMounting,
} from "../../../../lib/backup/components/config.ts";
import { ctxFor, loadProdStack, ROOT, tmp, write } from "../../helpers.ts";

const stack = loadProdStack();

function projectTree(): string {
  const root = tmp("cfg");
  write(root, ".env.prod", "POSTGRES_DB=claw_ai\n", 0o600);
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
  assert.equal(readFileSync(join(root, ".env.prod"), "utf8"), "POSTGRES_DB=claw_ai\n");
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
