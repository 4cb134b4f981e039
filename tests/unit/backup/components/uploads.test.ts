import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";
import * as tar from "tar";
import { UPLOADS_FILE, uploads } from "../../../../lib/backup/components/uploads.ts";
import { summarise, unsafeReason } from "../../../../lib/backup/components/uploads-archive.ts";
import { keptUploadsDir } from "../../../../lib/backup/components/uploads-kept.ts";
import { recoverUploads } from "../../../../lib/backup/components/uploads-swap.ts";
import type { ComponentRecord } from "../../../../lib/backup/manifest.ts";
import { ClawError, ExitCode, InvalidBackupError, PreconditionError } from "../../../../lib/core/errors.ts";
import { componentRecord, ctxFor, rejectsWith, tmp, tree, write } from "../../helpers.ts";
import { type CraftEntry, craftTar } from "./tar-craft.ts";

const countsOf = (s: { files: number; dirs: number; symlinks: number; bytes: number }) => ({
  files: s.files,
  dirs: s.dirs,
  symlinks: s.symlinks,
  bytes: s.bytes,
});

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

// ---- linked live directories, crafted archives -----------------------------------------------

const recOf = (counts: Record<string, number>): ComponentRecord => componentRecord("uploads", counts);

/** root/uploads as a link (relative or absolute) to a real directory holding the usual tree. */
function linkedUploads(how: "relative" | "absolute"): { root: string; real: string; link: string } {
  const { root, live } = uploadsTree();
  const real = how === "relative" ? join(root, "data", "uploads-real") : join(tmp("disk"), "uploads-real");
  mkdirSync(join(real, ".."), { recursive: true });
  renameSync(live, real);
  symlinkSync(how === "relative" ? "data/uploads-real" : real, live);
  return { root, real, link: live };
}

for (const how of ["relative", "absolute"] as const) {
  test(`a live uploads that is ${how === "relative" ? "a relative" : "an absolute"} symlink is backed up through the link and restored into the real directory (the link stays)`, async () => {
    const { root, real, link } = linkedUploads(how);
    const dir = tmp("bk");
    const ctx = ctxFor(root, dir);
    const res = await uploads.backup(ctx);
    assert.deepEqual(res.counts, { files: 4, dirs: 2, symlinks: 1, bytes: 10 });
    const rec = recOf(res.counts);
    await uploads.verify(ctx, rec);
    await uploads.check!(ctx, rec);
    const before = tree(real);
    rmSync(join(real, "sub"), { recursive: true });
    write(real, "added-after-backup.txt", "gone after restore");
    await uploads.restore(ctx, rec);
    assert.equal(lstatSync(link).isSymbolicLink(), true, "the link stays a link");
    assert.equal(readlinkSync(link), how === "relative" ? "data/uploads-real" : real);
    assert.deepEqual(tree(real), before);
    assert.deepEqual(tree(link), before);
  });
}

test("a backup whose archive holds nothing while the live uploads hold something fails", async () => {
  const root = tmp("proj");
  mkdirSync(join(root, "uploads"));
  // node-tar leaves a FIFO out of the archive: the live directory holds one entry, the archive none.
  execFileSync("mkfifo", [join(root, "uploads", "pipe")]);
  await rejectsWith(uploads.backup(ctxFor(root, tmp("bk"))), ClawError, /uploads: the archive of .* holds nothing, but the directory holds 1 files/);
});

test("a live uploads symlink that does not resolve (dangling or a loop) or a file where the directory should be is refused by check() (exit 3)", async () => {
  const { root } = uploadsTree();
  const dir = tmp("bk");
  const ctx = ctxFor(root, dir);
  const rec = recOf((await uploads.backup(ctx)).counts);
  const live = join(root, "uploads");
  for (const make of [() => symlinkSync("gone", live), () => symlinkSync("uploads", live), () => writeFileSync(live, "a file")]) {
    rmSync(live, { recursive: true, force: true });
    make();
    const e = await rejectsWith(uploads.check!(ctx, rec), PreconditionError, /uploads: /);
    assert.equal(e.exitCode, ExitCode.precondition);
    await rejectsWith(uploads.backup(ctxFor(root, tmp("bk"))), PreconditionError);
  }
});

test("an uploads restore masks setuid/setgid/sticky off every entry (the top dir too) and gives everything the owner of the live directory", async () => {
  const root = tmp("proj");
  const live = join(root, "uploads");
  mkdirSync(live, { mode: 0o750 });
  chownSync(live, 5001, 5002);
  const dir = tmp("bk");
  writeFileSync(
    join(dir, UPLOADS_FILE),
    craftTar([
      { path: "./", type: "Directory", mode: 0o7777, uid: 4242, gid: 4242 },
      { path: "./suid-root", body: "#!/bin/sh\n", mode: 0o4755, uid: 0, gid: 0 },
      { path: "./sgid/", type: "Directory", mode: 0o2775, uid: 7, gid: 7 },
      { path: "./sgid/f", body: "x", mode: 0o2644, uid: 7, gid: 7 },
      { path: "./sticky/", type: "Directory", mode: 0o1777, uid: 0 },
      { path: "./l", linkpath: "suid-root", uid: 9, gid: 9 },
    ]),
  );
  const ctx = ctxFor(root, dir);
  const rec = recOf({ files: 2, dirs: 3, symlinks: 1, bytes: 11 });
  await uploads.check!(ctx, rec);
  await uploads.restore(ctx, rec);
  for (const rel of [".", "suid-root", "sgid", "sgid/f", "sticky", "l"]) {
    const st = lstatSync(join(live, rel));
    assert.deepEqual([rel, st.uid, st.gid], [rel, 5001, 5002], `${rel} is owned like the live directory`);
    if (!st.isSymbolicLink()) assert.equal(st.mode & 0o7000, 0, `${rel}: no setuid/setgid/sticky (${(st.mode & 0o7777).toString(8)})`);
  }
  assert.equal(lstatSync(live).mode & 0o7777, 0o777);
  assert.equal(lstatSync(join(live, "suid-root")).mode & 0o7777, 0o755);
  assert.deepEqual(readdirSync(root), ["uploads"]);
  assert.deepEqual(readdirSync(live).sort(), ["l", "sgid", "sticky", "suid-root"]);
});

test("an uploads archive whose top entry is not a directory is refused by verify() and check() (exit 5)", async () => {
  for (const top of [
    { path: ".", linkpath: "sub" },
    { path: "./", linkpath: "sub" },
    { path: ".", body: "a file" },
  ] satisfies CraftEntry[]) {
    const root = tmp("proj");
    mkdirSync(join(root, "uploads"));
    const dir = tmp("bk");
    writeFileSync(join(dir, UPLOADS_FILE), craftTar([top, { path: "./sub/", type: "Directory" }]));
    const rec = recOf(countsOf(await summarise(join(dir, UPLOADS_FILE))));
    const ctx = ctxFor(root, dir);
    await rejectsWith(uploads.verify(ctx, rec), InvalidBackupError, /top/);
    const e = await rejectsWith(uploads.check!(ctx, rec), InvalidBackupError, /top/);
    assert.equal(e.exitCode, ExitCode.invalidBackup);
    await rejectsWith(uploads.restore(ctx, rec), InvalidBackupError);
    assert.deepEqual(readdirSync(join(root, "uploads")), []);
  }
});

test("uploads entries the restore could not extract (`..` anywhere, NUL, names over 255 bytes, a link to pass through, duplicates) are unsafe", async () => {
  const cases: Array<[CraftEntry[], RegExp]> = [
    [[{ path: "./a/../b", body: "x" }], /escapes/],
    [[{ path: `./${"x".repeat(256)}`, body: "x" }], /255 bytes/],
    [
      [
        { path: "./l", linkpath: "sub" },
        { path: "./sub/", type: "Directory" },
        { path: "./l/f", body: "x" },
      ],
      /symlink/,
    ],
    [
      [
        { path: "./f", body: "x" },
        { path: "./f", body: "y" },
      ],
      /twice/,
    ],
    [
      [
        { path: "./f", body: "x" },
        { path: "./f/g", body: "y" },
      ],
      /beneath/,
    ],
    [[{ path: "./h", type: "Link", linkpath: "./nothing" }], /hard link/],
    [[{ path: "./h", type: "Link", linkpath: "." }], /hard link/],
  ];
  assert.equal(unsafeReason("./a\0b", "File", undefined), "a NUL byte in the name");
  assert.equal(unsafeReason("./l", "SymbolicLink", "a\0b"), "a NUL byte in the name");
  assert.equal(unsafeReason("c:\\x", "File", undefined), "absolute path");
  for (const [entries, re] of cases) {
    const file = join(tmp("arch"), "u.tar");
    writeFileSync(file, craftTar([{ path: "./", type: "Directory" }, ...entries]));
    const s = await summarise(file);
    assert.ok(s.unsafe.length > 0, JSON.stringify(entries));
    assert.match(s.unsafe.join("\n"), re);
  }
});

test("an uploads record with wrong types is refused (exit 5), not a TypeError", async () => {
  const { root } = uploadsTree();
  const dir = tmp("bk");
  await uploads.backup(ctxFor(root, dir));
  for (const bad of [null, {}, { counts: null }, { counts: { files: "4", dirs: 2, symlinks: 1, bytes: 10 } }, { counts: { files: 4 } }]) {
    await rejectsWith(uploads.verify(ctxFor(root, dir), bad as unknown as ComponentRecord), InvalidBackupError);
    await rejectsWith(uploads.check!(ctxFor(root, dir), bad as unknown as ComponentRecord), InvalidBackupError);
  }
});

test("uploads with a symlink chain (latest -> current -> report.pdf) and hard links back up, drill and restore", async () => {
  const root = tmp("proj");
  const live = join(root, "uploads");
  write(live, "report.pdf", "pdf");
  write(live, "sub/deep.txt", "deep");
  symlinkSync("report.pdf", join(live, "current"));
  symlinkSync("current", join(live, "latest"));
  symlinkSync("sub", join(live, "sub-link"));
  symlinkSync("sub-link/deep.txt", join(live, "via-link"));
  linkSync(join(live, "report.pdf"), join(live, "sub/hard.pdf"));
  const dir = tmp("bk");
  const ctx = ctxFor(root, dir);
  const rec = recOf((await uploads.backup(ctx)).counts);
  assert.deepEqual(rec.counts, { files: 3, dirs: 2, symlinks: 4, bytes: 7 });
  await uploads.check!(ctx, rec);
  assert.match(await uploads.drill(ctx, rec), /4 symlinks/);
  const before = tree(live);
  rmSync(live, { recursive: true });
  mkdirSync(live);
  await uploads.restore(ctx, rec);
  assert.deepEqual(tree(live), before);
  assert.equal(statSync(join(live, "sub/hard.pdf")).ino, statSync(join(live, "report.pdf")).ino);
});

test("uploads left half-swapped by a killed restore: a move aside that did not finish is moved back, a complete one is finished, other staging removed", () => {
  const T = "20261201-120000";
  // Killed while moving the live uploads aside: the staged ones were not moved in yet.
  const a = tmp("proj");
  write(a, "uploads/kept.txt", "live");
  write(a, `${basename(keptUploadsDir(join(a, "uploads"), T))}.partial/moved.txt`, "live");
  write(a, `uploads/.claw-restore-${T}/new.txt`, "new");
  assert.deepEqual(recoverUploads(join(a, "uploads")).length, 1);
  assert.deepEqual(tree(join(a, "uploads")), ["kept.txt: live", "moved.txt: live"]);
  assert.ok(!existsSync(`${keptUploadsDir(join(a, "uploads"), T)}.partial`));
  // Killed while moving the staged ones in: the live ones are all in the snapshot.
  const b = tmp("proj");
  write(b, `${basename(keptUploadsDir(join(b, "uploads"), T))}/old.txt`, "old");
  write(b, "uploads/new1.txt", "new");
  write(b, `uploads/.claw-restore-${T}/new2.txt`, "new");
  write(b, "uploads/.claw-restore-20261130-100000/x", "abandoned");
  recoverUploads(join(b, "uploads"));
  assert.deepEqual(tree(join(b, "uploads")), ["new1.txt: new", "new2.txt: new"]);
  assert.deepEqual(tree(keptUploadsDir(join(b, "uploads"), T)), ["old.txt: old"]);
});

test("hardening row 1: a .claw-restore-<T> that a container planted as a link to a host directory is never followed: nothing moves, the link stays where it was", () => {
  const T = "20261201-120000";
  const p = tmp("proj");
  const victim = tmp("victim");
  write(victim, "id_rsa", "host secret");
  write(p, "uploads/a.txt", "live");
  write(p, `${basename(keptUploadsDir(join(p, "uploads"), T))}/old.txt`, "old");
  symlinkSync(victim, join(p, "uploads", `.claw-restore-${T}`));
  symlinkSync(victim, join(p, "uploads", ".claw-old-x"));
  const lines = recoverUploads(join(p, "uploads"));
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.ok(lines.every((l) => /left alone/.test(l)));
  assert.deepEqual(tree(victim), ["id_rsa: host secret"], "the host directory is untouched");
  assert.equal(lstatSync(join(p, "uploads", `.claw-restore-${T}`)).isSymbolicLink(), true);
  assert.ok(!existsSync(join(p, "uploads", "id_rsa")));
  assert.deepEqual(
    readdirSync(p).filter((n) => n.startsWith(".claw-recovering-")),
    [],
    "nothing is left beside the uploads",
  );
});
