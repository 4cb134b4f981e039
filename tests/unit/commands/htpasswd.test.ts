import assert from "node:assert/strict";
import { test } from "node:test";
import { apr1Hash, htpasswdEntry, htpasswdLine, htpasswdUsers, imageGroupId } from "../../../lib/commands/htpasswd.ts";
import { run } from "../../../lib/core/exec.ts";

test("the APR1 hash is made by openssl with the password on stdin, never in argv; a salt reproduces it", async () => {
  assert.deepEqual(apr1Hash(), ["openssl", "passwd", "-apr1", "-stdin"]);
  assert.deepEqual(apr1Hash("abcdefgh"), ["openssl", "passwd", "-apr1", "-salt", "abcdefgh", "-stdin"]);
  const hash = (await run({ argv: apr1Hash() }, { input: "s3cret-flower\n" })).stdout.trim();
  const entry = htpasswdEntry(htpasswdLine("flower", hash), "flower");
  assert.ok(entry?.salt, hash);
  const again = (await run({ argv: apr1Hash(entry.salt) }, { input: "s3cret-flower\n" })).stdout.trim();
  assert.equal(again, entry.hash);
  const other = (await run({ argv: apr1Hash(entry.salt) }, { input: "another-password\n" })).stdout.trim();
  assert.notEqual(other, entry.hash);
});

test("an htpasswd file is read by user; a bcrypt line has no APR1 salt (so it is rewritten, not trusted)", () => {
  const text = "admin:$2y$05$abcdefghijklmnopqrstuu\nflower:$apr1$Xy9.ab/c$0123456789abcdefghijkl\n";
  assert.deepEqual(htpasswdEntry(text, "flower"), { hash: "$apr1$Xy9.ab/c$0123456789abcdefghijkl", salt: "Xy9.ab/c" });
  assert.deepEqual(htpasswdEntry(text, "admin")?.salt, undefined);
  assert.equal(htpasswdEntry(text, "nobody"), undefined);
  assert.deepEqual(htpasswdUsers(text), ["admin", "flower"]);
  assert.deepEqual(htpasswdUsers(""), []);
});

test("one line per user; a user name that would break the file is refused", () => {
  assert.equal(htpasswdLine("flower", "$apr1$x$y"), "flower:$apr1$x$y\n");
  assert.throws(() => htpasswdLine("a:b", "h"));
  assert.throws(() => htpasswdLine("a b", "h"));
});

test("the nginx workers' group is read from the image by a throwaway container without network", () => {
  assert.deepEqual(imageGroupId("nginx:alpine", "nginx"), [
    "docker",
    "run",
    "--rm",
    "--network",
    "none",
    "--entrypoint",
    "id",
    "nginx:alpine",
    "-g",
    "nginx",
  ]);
});
