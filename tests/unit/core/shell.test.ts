import assert from "node:assert/strict";
import { test } from "node:test";
import { SHELL_PLAIN, shellQuote } from "../../../lib/core/shell.ts";

test("a word sh reads literally is left as is", () => {
  for (const w of ["backups/daily/20240215-020000", "--identity", "user@host", "KEY=value", "a,b", "+1", "50%", "/usr/bin:/bin"])
    assert.equal(shellQuote(w), w);
});

test("any other word is single-quoted, a quote inside it as '\\''; the empty word is ''", () => {
  assert.equal(shellQuote("with space"), "'with space'");
  assert.equal(shellQuote("$HOME"), "'$HOME'");
  assert.equal(shellQuote("30 3 * * *"), "'30 3 * * *'");
  assert.equal(shellQuote("o'neil"), `'o'\\''neil'`);
  assert.equal(shellQuote(""), "''");
  assert.equal(shellQuote("é"), "'é'");
});

test("a narrower plain set quotes more, for a writer that needs it", () => {
  const narrow = /^[A-Za-z0-9_./:-]+$/;
  assert.equal(shellQuote("/srv/user@host", narrow), "'/srv/user@host'");
  assert.equal(shellQuote("/srv/user@host", SHELL_PLAIN), "/srv/user@host");
  assert.equal(shellQuote("/srv/app", narrow), "/srv/app");
});
