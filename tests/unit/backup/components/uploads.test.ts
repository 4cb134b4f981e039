import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as tar from "tar";
import { summarise, UPLOADS_FILE, unsafeReason, uploads } from "../../../../lib/backup/components/uploads.ts";
import type { ComponentRecord } from "../../../../lib/backup/manifest.ts";
import { ctxFor, tmp, tree, write } from "../../helpers.ts";

test("archive entries that would land outside the extraction directory are named unsafe", () => {
  const cases: Array<[string, string, string | undefined, string | undefined]> = [
    ["/etc/passwd", "File", undefined, "absolute path"],
    ["../x", "File", undefined, "path escapes the directory"],
    ["a/../../x", "File", undefined, "path escapes the directory"],
    ["..", "Directory", undefined, "path escapes the directory"],
    ["l", "SymbolicLink", "/etc/passwd", "symlink to an absolute path"],
    ["sub/l", "SymbolicLink", "../../x", "symlink with `..` in its target"],
    ["sub/l", "SymbolicLink", "..", "symlink with `..` in its target"],
    ["l", "SymbolicLink", "..", "symlink with `..` in its target"],
    ["sub/l", "SymbolicLink", "../x", "symlink with `..` in its target"],
    ["./sub/l", "SymbolicLink", "x/y", undefined],
    ["l", "SymbolicLink", "sub/deeper/file", undefined],
    ["l", "SymbolicLink", undefined, "link without target"],
    ["h", "Link", "../x", "hard link escapes the directory"],
    ["h", "Link", "/etc/shadow", "hard link escapes the directory"],
    ["h", "Link", "sub/f", undefined],
    ["dev/null", "CharacterDevice", undefined, "unsupported entry type CharacterDevice"],
    ["fifo", "FIFO", undefined, "unsupported entry type FIFO"],
    ["./photo.jpg", "File", undefined, undefined],
    ["./", "Directory", undefined, undefined],
    ["sub/", "Directory", undefined, undefined],
  ];
  for (const [path, type, link, want] of cases) {
    assert.equal(unsafeReason(path, type, link), want, `${type} ${path} -> ${link}`);
  }
});

function uploadsTree(): { root: string; live: string } {
  const root = tmp("proj");
  const live = join(root, "uploads");
  write(live, "line\nbreak.txt", "abc");
  write(live, "résumé-文件.pdf", "12345");
  write(live, "sub/private.bin", "xy", 0o640);
  utimesSync(join(live, "sub/private.bin"), new Date("2020-01-02T03:04:05Z"), new Date("2020-01-02T03:04:05Z"));
  symlinkSync("../résumé-文件.pdf".slice(3), join(live, "sub/link")); // links may only point down
  write(live, `${"long-name-".repeat(15)}.txt`, "");
  return { root, live };
}

test("an uploads archive made with node-tar is summarised: any name survives, links are not followed", async () => {
  const { live } = uploadsTree();
  const file = join(tmp("arch"), "u.tar");
  await tar.c({ cwd: live, file, portable: false, follow: false } as tar.TarOptionsWithAliasesFile, ["."]);
  assert.deepEqual(await summarise(file), { files: 4, dirs: 2, symlinks: 1, bytes: 10, unsafe: [] });
  const seen: Record<string, { type: string; mode?: number; mtime?: Date; linkpath?: string }> = {};
  await tar.t({
    file,
    onReadEntry: (e) => {
      seen[e.path] = { type: e.type, mode: e.mode, mtime: e.mtime, linkpath: e.linkpath };
    },
  });
  assert.ok(seen["./line\nbreak.txt"]);
  assert.ok(seen["./résumé-文件.pdf"]);
  assert.equal(seen["./sub/private.bin"]?.mode, 0o640);
  assert.equal(seen["./sub/private.bin"]?.mtime?.toISOString(), "2020-01-02T03:04:05.000Z");
  assert.equal(seen["./sub/link"]?.linkpath, "résumé-文件.pdf");
});

test("the uploads component backs up, verifies and restores a tree exactly (names, modes, mtimes, symlinks)", async () => {
  const { root, live } = uploadsTree();
  const dir = tmp("bk");
  const ctx = ctxFor(root, dir);
  const res = await uploads.backup(ctx);
  assert.deepEqual(res.counts, { files: 4, dirs: 2, symlinks: 1, bytes: 10 });
  assert.equal(statSync(join(dir, UPLOADS_FILE)).mode & 0o777, 0o600);
  const rec: ComponentRecord = { name: "uploads", status: "ok", startedAt: "", finishedAt: "", durationMs: 0, ...res };
  await uploads.verify(ctx, rec);
  const before = tree(live);
  rmSync(join(live, "sub"), { recursive: true });
  write(live, "added-after-backup.txt", "gone after restore");
  await uploads.restore(ctx, rec);
  assert.deepEqual(tree(live), before);
  assert.equal(statSync(join(live, "sub/private.bin")).mode & 0o777, 0o640);
  assert.equal(statSync(join(live, "sub/private.bin")).mtime.toISOString(), "2020-01-02T03:04:05.000Z");
  assert.deepEqual(readdirSync(root).sort(), ["uploads"]);
});

test("the uploads drill extracts into a scratch dir under backups/, finds the manifest's counts and removes it", async () => {
  const { root } = uploadsTree();
  const dir = tmp("bk");
  const ctx = ctxFor(root, dir);
  const res = await uploads.backup(ctx);
  const rec: ComponentRecord = { name: "uploads", status: "ok", startedAt: "", finishedAt: "", durationMs: 0, ...res };
  assert.match(await uploads.drill(ctx, rec), /4 files, 2 directories, 1 symlinks, 10 bytes, as in the manifest/);
  assert.deepEqual(readdirSync(join(root, "backups")), [], "the scratch directory is gone");
});

test("the uploads verify refuses an archive whose counts differ from the manifest", async () => {
  const { root } = uploadsTree();
  const dir = tmp("bk");
  const ctx = ctxFor(root, dir);
  const res = await uploads.backup(ctx);
  const rec: ComponentRecord = {
    name: "uploads",
    status: "ok",
    startedAt: "",
    finishedAt: "",
    durationMs: 0,
    ...res,
    counts: { ...res.counts, files: 5 },
  };
  await assert.rejects(uploads.verify(ctx, rec), /uploads: archive holds 4 files, the manifest 5/);
});

test("an archive with a symlink out of the tree or an absolute path is reported unsafe", async () => {
  const d = tmp("mal");
  mkdirSync(join(d, "tree"));
  symlinkSync("../../etc", join(d, "tree", "etc"));
  const rel = join(d, "rel.tar");
  await tar.c({ cwd: join(d, "tree"), file: rel, portable: false, follow: false } as tar.TarOptionsWithAliasesFile, ["."]);
  assert.deepEqual((await summarise(rel)).unsafe, ['"./etc": symlink with `..` in its target']);

  write(d, "abs/secret", "s");
  const abs = join(d, "abs.tar");
  await tar.c({ file: abs, preservePaths: true } as tar.TarOptionsWithAliasesFile, [join(d, "abs/secret")]);
  assert.deepEqual((await summarise(abs)).unsafe, [`${JSON.stringify(join(d, "abs/secret"))}: absolute path`]);
});

test("a symlink that escapes through another symlink of the archive is reported unsafe", async () => {
  const d = tmp("chain");
  mkdirSync(join(d, "tree", "d"), { recursive: true });
  symlinkSync("..", join(d, "tree", "d", "a"));
  symlinkSync("d/a/../secret", join(d, "tree", "l"));
  const file = join(d, "chain.tar");
  await tar.c({ cwd: join(d, "tree"), file, portable: false, follow: false } as tar.TarOptionsWithAliasesFile, ["."]);
  // Proof that the pair escapes: extracted beside a "secret", l reads it.
  write(d, "x/secret", "outside");
  mkdirSync(join(d, "x", "uploads"));
  await tar.x({ file, cwd: join(d, "x", "uploads"), strict: true, preservePaths: false });
  assert.equal(readFileSync(join(d, "x", "uploads", "l"), "utf8"), "outside");
  assert.notDeepEqual((await summarise(file)).unsafe, []);
});
