import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ageDecrypt, ageEncrypt, ageRecipientOf, ageVersion, encryptAndProve } from "../../../lib/commands/age.ts";
import { keygen, tmp } from "../helpers.ts";

test("age argv: recipients as -r (public keys only), the key only as an identity file path", () => {
  assert.deepEqual(ageEncrypt(["age1a", "age1b"]), ["age", "--encrypt", "-r", "age1a", "-r", "age1b"]);
  assert.deepEqual(ageDecrypt("/x/.identity"), ["age", "--decrypt", "-i", "/x/.identity"]);
});

test("age --version, and the recipient of a key read from stdin with age-keygen -y", () => {
  assert.deepEqual(ageVersion(), ["age", "--version"]);
  assert.deepEqual(ageRecipientOf(), ["age-keygen", "-y"]);
  assert.deepEqual(ageEncrypt([]), ["age", "--encrypt"]);
});

test("encrypt-and-prove is one bash pipeline with pipefail: the output, the identity file, then the recipients as -r", () => {
  assert.deepEqual(encryptAndProve(["age1a", "age1b"], "/k/.identity", "/b/x.dump.age"), [
    "bash",
    "-o",
    "pipefail",
    "-c",
    'umask 077; out=$1; id=$2; shift 2; age --encrypt "$@" | tee "$out" | age --decrypt -i "$id" > /dev/null',
    "claw-age",
    "/b/x.dump.age",
    "/k/.identity",
    "-r",
    "age1a",
    "-r",
    "age1b",
  ]);
});

test("encrypt-and-prove writes a private ciphertext that the key opens, and fails when the key does not open it", () => {
  const a = keygen();
  const b = keygen();
  const d = tmp("age");
  const identity = join(d, "a.key");
  writeFileSync(identity, `${a.key}\n`, { mode: 0o600 });
  const [bash, ...args] = encryptAndProve([a.recipient], identity, join(d, "x.age"));
  const ok = spawnSync(bash!, args, { input: "secret bytes" });
  assert.equal(ok.status, 0, ok.stderr.toString());
  assert.equal(statSync(join(d, "x.age")).mode & 0o777, 0o600);
  assert.ok(!readFileSync(join(d, "x.age")).includes("secret bytes"));
  const [age, ...dargs] = ageDecrypt(identity);
  assert.equal(spawnSync(age!, [...dargs, join(d, "x.age")], { encoding: "utf8" }).stdout, "secret bytes");
  const [, ...wrong] = encryptAndProve([b.recipient], identity, join(d, "y.age"));
  assert.notEqual(spawnSync(bash!, wrong, { input: "secret bytes" }).status, 0);
});
