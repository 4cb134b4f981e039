import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import * as tar from "tar";
import type { Manifest } from "../../../lib/backup/manifest.ts";
import { setLang } from "../../../lib/core/i18n/index.ts";
import { describePlan, planResult, type RestorePlan } from "../../../lib/restore/plan.ts";
import { backupTag, releaseSwitchOf, tagOfEnvText } from "../../../lib/restore/release-switch.ts";
import { componentRecord, samplePlan, tmp, write } from "../helpers.ts";

const plan = (o: Partial<RestorePlan>): RestorePlan =>
  samplePlan({ components: ["postgres", "config"], skipped: ["redis", "milvus", "uploads"], ...o });

test("a rollback whose config would change CLAW_AI_TAG says so in its plan", () => {
  // The planning: a switch only when config is restored and the two tags differ.
  const sw = releaseSwitchOf(["postgres", "config"], "1.1", "1.0");
  assert.deepEqual(sw, { from: "1.1", to: "1.0" });
  assert.equal(releaseSwitchOf(["postgres", "config"], "1.0", "1.0"), undefined, "same tag: nothing extra");
  assert.equal(releaseSwitchOf(["postgres", "redis"], "1.1", "1.0"), undefined, "config left as is: the tag stays");
  assert.equal(releaseSwitchOf(["config"], "1.1", undefined), undefined, "the backup's tag not known (encrypted, not read)");

  // The printed plan: one line, right under the release line.
  const lines = describePlan(plan({ releaseSwitch: sw! }));
  assert.equal(lines[4], "release:     ghcr.io/claw/backend:1.1 -> ghcr.io/claw/backend:1.0");
  assert.equal(lines[5], "this switches the release from 1.1 to 1.0");
  assert.equal(lines[6], "stop/start:  none");
  assert.equal(lines.filter((l) => l.includes("switches the release")).length, 1);
  // config included, same tag: nothing extra.
  assert.equal(
    describePlan(plan({})).some((l) => l.includes("switches the release")),
    false,
  );
  assert.equal(describePlan(plan({})).length, 7);

  // --dry-run --json carries it as releaseSwitch: { from, to }, and only when there is one.
  assert.deepEqual(planResult(plan({ releaseSwitch: sw! })).releaseSwitch, { from: "1.1", to: "1.0" });
  assert.equal("releaseSwitch" in planResult(plan({})), false);
});

test("the release switch line reads naturally in Chinese, labels still in one column", () => {
  setLang("zh");
  try {
    const lines = describePlan(plan({ releaseSwitch: { from: "1.1", to: "1.0" } }));
    assert.equal(lines[5], "这会把版本从 1.1 切换到 1.0");
    assert.equal(lines[0], "备份：      20240215-020000（/srv/claw/backups/daily/20240215-020000）");
    assert.equal(lines[6], "停止/启动： 无");
  } finally {
    setLang("en");
  }
});

test("the backup's CLAW_AI_TAG is read from its config archive; an encrypted backup is not read", async () => {
  const root = tmp();
  const src = join(root, "src");
  write(src, ".env.prod", "CLAW_AI_IMAGE=ghcr.io/claw/backend\nCLAW_AI_TAG=1.0\nPOSTGRES_PASSWORD=secret-secret-1\n", 0o600);
  write(src, "nginx/nginx.conf", "events {}\n");
  const dir = join(root, "backup");
  write(dir, "placeholder", "");
  await tar.c({ cwd: src, file: join(dir, "config.tar") }, [".env.prod", "nginx/nginx.conf"]);
  const rec = { ...componentRecord("config", { files: 2 }), artifacts: [{ file: "config.tar", bytes: 0, sha256: "" }] };
  const { manifest } = samplePlan();
  const withConfig: Manifest = { ...manifest, components: { config: rec } };
  assert.equal(backupTag(dir, withConfig), "1.0");
  assert.equal(backupTag(dir, manifest), undefined, "no config component");
  assert.equal(backupTag(dir, { ...withConfig, encryption: { scheme: "age", recipients: ["age1x"] } }), undefined, "encrypted: not decrypted");
  assert.equal(backupTag(join(root, "nowhere"), withConfig), undefined, "unreadable archive: nothing said");
  // A value today's checks refuse is not printed (the restore refuses it later, with the reason).
  assert.equal(tagOfEnvText("CLAW_AI_TAG=1.0\n"), "1.0");
  assert.equal(tagOfEnvText("CLAW_AI_TAG='\u001b[31mred'\n"), undefined);
  assert.equal(tagOfEnvText("OTHER=1\n"), undefined);
});
