import assert from "node:assert/strict";
import { test } from "node:test";
import { operatorCommand, SCRIPTS, scriptCommand } from "../../../../lib/core/vocabulary/scripts.ts";

test("the operator's scripts are scripts/<name>.mts", () => {
  assert.deepEqual(Object.values(SCRIPTS), ["backup.mts", "rollback.mts", "deploy.mts", "migrate.mts", "init-env.mts"]);
});

test("an operator runs a script with npx zx from the checkout", () => {
  assert.equal(scriptCommand(SCRIPTS.deploy), "npx zx scripts/deploy.mts");
  assert.equal(operatorCommand(SCRIPTS.migrate), "npx zx scripts/migrate.mts");
});

test("an advised command leaves plain arguments as they are", () => {
  assert.equal(
    operatorCommand(SCRIPTS.rollback, ["--backup", "backups/pre-deploy/20240215-020000", "--skip-redis", "--identity", "/root/.age/key.txt", "-y"]),
    "npx zx scripts/rollback.mts --backup backups/pre-deploy/20240215-020000 --skip-redis --identity /root/.age/key.txt -y",
  );
  assert.equal(operatorCommand(SCRIPTS.deploy, ["--tag", "1.4.2-rc_1"]), "npx zx scripts/deploy.mts --tag 1.4.2-rc_1");
});

test("an advised command quotes an argument sh would split or expand, so it can be pasted as is", () => {
  assert.equal(operatorCommand(SCRIPTS.backup, ["--install-cron", "30 3 * * *"]), "npx zx scripts/backup.mts --install-cron '30 3 * * *'");
  assert.equal(
    operatorCommand(SCRIPTS.backup, ["--restore", "backups/daily/20240215-020000", "--identity", "/home/o'neil/my key"]),
    `npx zx scripts/backup.mts --restore backups/daily/20240215-020000 --identity '/home/o'\\''neil/my key'`,
  );
});
