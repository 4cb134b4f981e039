/**
 * Fuzz: random manifest records and random tar archives (odd structure, odd entry kinds,
 * odd names, damaged bytes) fed to the config and uploads components' verify, check, drill
 * and restore in a scratch project, with odd live trees (links out, loops, files where
 * directories belong). Every call must succeed or throw a ClawError subclass (verify only
 * InvalidBackupError, check only that or PreconditionError), and nothing outside what the
 * call may touch changes: not the canary and sibling directories next to the project, not
 * the parent's listing, not the backup directory, not the project's own files outside the
 * component's area. Reproducible: FUZZ_SEED=<seed> [FUZZ_CASES=<n>] [FUZZ_ONLY=<case>].
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as tar from "tar";
import type { Component } from "../../../../lib/backup/components/component.ts";
import { config } from "../../../../lib/backup/components/config.ts";
import { CONFIG_FILE } from "../../../../lib/backup/components/config-archive.ts";
import { UPLOADS_FILE, uploads } from "../../../../lib/backup/components/uploads.ts";
import { summarise } from "../../../../lib/backup/components/uploads-archive.ts";
import type { ComponentRecord } from "../../../../lib/backup/manifest.ts";
import { ClawError, InvalidBackupError, PreconditionError } from "../../../../lib/core/errors.ts";
import { ctxFor, ROOT, tmp } from "../../helpers.ts";
import { type CraftEntry, type CraftType, craftEntry } from "./tar-craft.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20240601) >>> 0;
const CASES = Number(process.env.FUZZ_CASES ?? 1000);
const ONLY = process.env.FUZZ_ONLY === undefined ? undefined : Number(process.env.FUZZ_ONLY);
const IS_ROOT = process.getuid?.() === 0;

// ---- a seeded PRNG (mulberry32) and what is drawn from it ---------------------------------

type Rng = () => number;
function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const caseSeed = (i: number) => (SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;

class Draw {
  constructor(readonly r: Rng) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  weighted<T>(xs: ReadonlyArray<readonly [number, T]>): T {
    let n = this.r() * xs.reduce((s, [w]) => s + w, 0);
    for (const [w, x] of xs) {
      n -= w;
      if (n < 0) return x;
    }
    return xs[xs.length - 1]![1];
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
}

// ---- the scratch world ---------------------------------------------------------------------

const base = tmp("fuzz");
const project = join(base, "project");
const backup = join(base, "backup");
const canary = join(base, "canary");
const sibling = join(base, "sibling");
const composeText = readFileSync(join(ROOT, "docker-compose.prod.yml"));

function put(root: string, rel: string, text: string | Buffer): void {
  mkdirSync(join(root, rel, ".."), { recursive: true });
  writeFileSync(join(root, rel), text);
}
for (const d of [canary, sibling]) {
  put(d, "secret", "must never change\n");
  put(d, "nested/deeper/file", "nor this\n");
}

const CONFIG_LIVE = [
  "normal",
  "conf.d->canary",
  "nginx->../canary",
  "conf.d loop",
  ".env.prod->canary",
  "nginx.conf is a dir",
  "conf.d dangling",
  "grafana is a file",
  "conf.d->prometheus",
] as const;
const UPLOADS_LIVE = ["normal", "->data/real", "->/abs/data/real", "dangling", "loop", "a file", "missing", "owned 1234 setgid"] as const;

/** The project as a fresh copy, with one odd live tree. */
function resetProject(live: string): void {
  rmSync(project, { recursive: true, force: true });
  put(project, ".env.prod", "POSTGRES_DB=claw_ai\n");
  put(project, "docker-compose.prod.yml", composeText);
  put(project, "nginx/nginx.conf", "events {}\n");
  put(project, "nginx/ssl/privkey.pem", "KEY\n");
  put(project, "prometheus/prometheus.yml", "global: {}\n");
  put(project, "scripts/backup.mts", "// code run as root\n");
  put(project, ".git/hooks/pre-commit", "#!/bin/sh\n");
  mkdirSync(join(project, "backups"));
  const up = join(project, "uploads");
  const real = join(project, "data", "real");
  const fill = (d: string) => {
    put(d, "a.txt", "a");
    put(d, "sub/b.txt", "bb");
  };
  switch (live) {
    case "conf.d->canary":
      symlinkSync(canary, join(project, "nginx/conf.d"));
      break;
    case "nginx->../canary":
      rmSync(join(project, "nginx"), { recursive: true });
      symlinkSync("../canary", join(project, "nginx"));
      break;
    case "conf.d loop":
      symlinkSync("conf.d", join(project, "nginx/conf.d"));
      break;
    case ".env.prod->canary":
      rmSync(join(project, ".env.prod"));
      symlinkSync(join(canary, "secret"), join(project, ".env.prod"));
      break;
    case "nginx.conf is a dir":
      rmSync(join(project, "nginx/nginx.conf"));
      mkdirSync(join(project, "nginx/nginx.conf"));
      break;
    case "conf.d dangling":
      symlinkSync("gone", join(project, "nginx/conf.d"));
      break;
    case "grafana is a file":
      put(project, "grafana", "not a dir");
      break;
    case "conf.d->prometheus":
      symlinkSync("../prometheus", join(project, "nginx/conf.d"));
      break;
    case "->data/real":
    case "->/abs/data/real":
      fill(real);
      symlinkSync(live === "->data/real" ? "data/real" : real, up);
      break;
    case "dangling":
      symlinkSync("data/gone", up);
      break;
    case "loop":
      symlinkSync("uploads", up);
      break;
    case "a file":
      put(project, "uploads", "not a dir");
      break;
    case "missing":
      break;
    case "owned 1234 setgid":
      fill(up);
      if (IS_ROOT) chownSync(up, 1234, 1234);
      chmodSync(up, 0o2775);
      break;
  }
  if (live === "normal" || !(UPLOADS_LIVE as readonly string[]).includes(live)) fill(up);
}

/** Every path under a directory with its kind, mode, owner and content hash (links not followed). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(dir, rel));
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(join(dir, r));
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.set(r, `link ${readlinkSync(join(dir, r))}`);
      else if (st.isDirectory()) {
        out.set(r, `dir ${meta}`);
        walk(r);
      } else if (st.isFile())
        out.set(
          r,
          `file ${meta} ${createHash("sha1")
            .update(readFileSync(join(dir, r)))
            .digest("hex")}`,
        );
      else out.set(r, `other ${meta}`);
    }
  };
  walk("");
  return out;
}

const outside = () => ({
  parent: readdirSync(base).sort().join("|"),
  canary: [...snapshot(canary)].join("\n"),
  sibling: [...snapshot(sibling)].join("\n"),
  backup: [...snapshot(backup)].join("\n"),
});

/** Paths whose snapshot differs (added, removed or changed). */
function changedPaths(a: Map<string, string>, b: Map<string, string>): string[] {
  const out = new Set<string>();
  for (const [k, v] of a) if (b.get(k) !== v) out.add(k);
  for (const k of b.keys()) if (!a.has(k)) out.add(k);
  return [...out].sort();
}

// ---- random archives and records -----------------------------------------------------------

const CONFIG_SEGS = ["nginx", "prometheus", "grafana", "loki", "ssl", "conf.d", "provisioning", "x.conf", "nginx.conf", "privkey.pem", "alerts.yml"];
const TOP_FILES = [
  ".env.prod",
  "docker-compose.prod.yml",
  "compose.yaml",
  "docker-compose.override.yml",
  "README.md",
  "scripts",
  ".git",
  "uploads",
  "backups",
];
const ODD = [
  "..",
  ".",
  "",
  "é文件",
  "line\nbreak",
  "sp ace",
  "-dash",
  "c:",
  "C:evil",
  "back\\slash",
  "..\\..",
  "x".repeat(300),
  "ü".repeat(130),
  "\u202ertl",
  "%2e%2e",
  "*?",
  ".claw-old-x",
  ".claw-restore-y",
  "a",
  "b",
  "sub",
];
const TYPES: ReadonlyArray<readonly [number, CraftType]> = [
  [45, "File"],
  [3, "OldFile"],
  [2, "ContiguousFile"],
  [20, "Directory"],
  [12, "SymbolicLink"],
  [8, "Link"],
  [3, "FIFO"],
  [3, "CharacterDevice"],
  [2, "BlockDevice"],
  [2, "GNUDumpDir"],
];
const MODES = [0o644, 0o600, 0o755, 0o4755, 0o2775, 0o1777, 0o7777, 0o000, 0o6711];
const IDS = [0, 0, 1000, 4242, 65534, 2097151];

function randomPath(d: Draw, kind: "config" | "uploads", earlier: string[]): string {
  if (earlier.length && d.chance(0.08)) return d.pick(earlier); // a duplicate
  const roll = d.r();
  if (roll < 0.04) return `${d.pick([canary, sibling, "/etc"])}/${d.pick(["pwned", "secret", "nested/x"])}`;
  if (roll < 0.08)
    return `${d.pick(["../", "../../", "./../", "a/../../"])}${d.pick(["canary/pwned", "sibling/secret", "project/scripts/backup.mts"])}`;
  const depth = 1 + d.int(4);
  const segs: string[] = [];
  for (let i = 0; i < depth; i++) {
    const pool =
      kind === "config" && i === 0
        ? d.weighted([
            [6, CONFIG_SEGS.slice(0, 4)],
            [3, TOP_FILES],
            [1, ODD],
          ] as const)
        : d.weighted([
            [5, CONFIG_SEGS],
            [4, ODD],
          ] as const);
    segs.push(d.pick(pool));
  }
  const prefix =
    kind === "uploads"
      ? d.weighted([
          [8, "./"],
          [1, ""],
          [1, "/"],
        ] as const)
      : d.weighted([
          [7, ""],
          [2, "./"],
          [1, "/"],
        ] as const);
  return `${prefix}${segs.join("/")}`;
}

/** Any entry kind, any path, any link target. */
function hostileEntry(d: Draw, kind: "config" | "uploads", entries: readonly CraftEntry[]): CraftEntry {
  const type = d.weighted(TYPES);
  const e: CraftEntry = {
    path: randomPath(
      d,
      kind,
      entries.map((x) => x.path),
    ),
    type,
    mode: d.pick(MODES),
    uid: d.pick(IDS),
    gid: d.pick(IDS),
  };
  if (type === "Directory" && d.chance(0.5) && !e.path.endsWith("/")) e.path += "/";
  if (type === "File" || type === "OldFile" || type === "ContiguousFile") e.body = d.bytes(d.int(48));
  if (type === "SymbolicLink" || type === "Link")
    e.linkpath = d.weighted([
      [5, entries.length ? d.pick(entries).path : "a"],
      [1, ".."],
      [1, "../canary/secret"],
      [1, join(canary, "secret")],
      [1, ""],
      [1, e.path],
      [2, d.pick(["sub", "a", "loop", "conf.d", "nginx.conf"])],
    ] as const);
  return e;
}

const GOOD_NAMES = ["a", "b.conf", "x.yml", "odd\nname.conf", "é文件.json", "sp ace", "-dash", "%2e%2e", "n".repeat(200), ".hidden", "*?"];

/** An archive the component could have written: right paths, right kinds, odd names and modes. */
function plausibleEntries(d: Draw, kind: "config" | "uploads"): CraftEntry[] {
  const out: CraftEntry[] = [];
  const seen = new Set<string>();
  const add = (e: CraftEntry) => {
    const key = e.path.replace(/^\.\//, "").replace(/\/$/, "");
    if (
      seen.has(key) ||
      [...seen].some(
        (k) => key.startsWith(`${k}/`) && !out.find((o) => o.path.replace(/^\.\//, "").replace(/\/$/, "") === k && o.type === "Directory"),
      )
    )
      return;
    seen.add(key);
    out.push(e);
  };
  const meta = () => ({ mode: d.pick(MODES), uid: d.pick(IDS), gid: d.pick(IDS) });
  if (kind === "config") {
    const dirs = ["nginx", "nginx/conf.d", "prometheus", "grafana/provisioning", "grafana/dashboards", "loki"];
    for (let n = 1 + d.int(8); n > 0; n--) {
      const roll = d.r();
      if (roll < 0.15)
        add({
          path: d.pick([".env.prod", "docker-compose.prod.yml", "compose.yaml", "docker-compose.override.yml"]),
          body: d.bytes(d.int(40)),
          ...meta(),
        });
      else if (roll < 0.25) add({ path: `${d.pick(dirs)}/`, type: "Directory", ...meta() });
      else add({ path: `${d.chance(0.2) ? "./" : ""}${d.pick(dirs)}/${d.pick(GOOD_NAMES)}`, body: d.bytes(d.int(40)), ...meta() });
    }
    return out;
  }
  out.push({ path: "./", type: "Directory", ...meta() });
  const dirs = ["."];
  const files: string[] = [];
  for (let n = d.int(10); n > 0; n--) {
    const parent = d.pick(dirs);
    const path = `${parent}/${d.pick(GOOD_NAMES)}${d.chance(0.3) ? d.int(9) : ""}`;
    const roll = d.r();
    const before = out.length;
    if (roll < 0.25) add({ path: `${path}/`, type: "Directory", ...meta() });
    else if (roll < 0.4) add({ path, linkpath: d.pick([...files, "a", "missing"]).replace(/^\.\//, ""), ...meta() });
    else if (roll < 0.5 && files.length) add({ path, type: "Link", linkpath: d.pick(files), ...meta() });
    else add({ path, body: d.bytes(d.int(40)), ...meta() });
    if (out.length > before) {
      const e = out[out.length - 1]!;
      if (e.type === "Directory") dirs.push(path);
      if (e.type === undefined || e.type === "File") files.push(path);
    }
  }
  return out;
}

interface Generated {
  bytes: Buffer | "missing" | "a directory";
  shape: string;
  entries: CraftEntry[];
}

function randomArchive(d: Draw, kind: "config" | "uploads"): Generated {
  const shape = d.weighted([
    [45, "plausible"],
    [27, "entries"],
    [8, "truncated"],
    [6, "flipped bytes"],
    [4, "no end blocks"],
    [5, "random bytes"],
    [2, "empty"],
    [2, "missing"],
    [1, "a directory"],
  ] as const);
  if (shape === "missing" || shape === "a directory") return { bytes: shape, shape, entries: [] };
  if (shape === "random bytes") return { bytes: d.bytes(d.int(3000)), shape, entries: [] };
  if (shape === "empty") return { bytes: Buffer.alloc(d.pick([0, 512, 1024, 10240])), shape, entries: [] };
  const entries: CraftEntry[] = shape === "plausible" ? plausibleEntries(d, kind) : [];
  const parts: Buffer[] = [];
  if (shape === "plausible") {
    // At most one hostile entry, somewhere in an otherwise good archive.
    if (d.chance(0.3)) entries.splice(d.int(entries.length + 1), 0, hostileEntry(d, kind, entries));
  } else if (kind === "uploads" && d.chance(0.85)) {
    const top: CraftEntry = d.chance(0.9)
      ? { path: d.pick(["./", ".", "./"]), type: "Directory", mode: d.pick(MODES), uid: d.pick(IDS), gid: d.pick(IDS) }
      : { path: d.pick(["./", "."]), type: d.pick(["SymbolicLink", "File", "Link", "FIFO"] as const), linkpath: d.pick(["sub", "..", "/", canary]) };
    entries.push(top);
  }
  for (let n = shape === "plausible" ? 0 : d.int(12); n > 0; n--) entries.push(hostileEntry(d, kind, entries));
  for (const e of entries) parts.push(craftEntry(e, d.chance(0.02) ? d.pick(["Z", "V", "M", "S", "D", "K", "L", "x", "g", "9"]) : undefined));
  if (shape !== "no end blocks") parts.push(Buffer.alloc(1024));
  let bytes = Buffer.concat(parts);
  if (shape === "truncated") bytes = bytes.subarray(0, d.int(bytes.length + 1));
  if (shape === "flipped bytes") {
    bytes = Buffer.from(bytes);
    for (let k = 1 + d.int(5); k > 0 && bytes.length; k--) bytes[d.int(bytes.length)] = d.int(256);
  }
  return { bytes, shape, entries };
}

/** What a plausible manifest says about the archive: its real counts, or off by one, or a record of the wrong shape. */
async function randomRecord(d: Draw, kind: "config" | "uploads", file: string): Promise<ComponentRecord> {
  const real = async (): Promise<Record<string, number>> => {
    if (kind === "uploads") {
      const s = await summarise(file);
      return { files: s.files, dirs: s.dirs, symlinks: s.symlinks, bytes: s.bytes };
    }
    let files = 0;
    await tar.t({ file, onReadEntry: (e) => void (e.type !== "Directory" && files++) });
    return { files };
  };
  const counts: Record<string, number> = await real().catch(() => ({ files: d.int(5), dirs: d.int(3), symlinks: d.int(2), bytes: d.int(100) }));
  const roll = d.r();
  let rec: unknown;
  if (roll < 0.6) rec = { counts };
  else if (roll < 0.75) {
    const k = d.pick(Object.keys(counts));
    rec = { counts: { ...counts, [k]: counts[k]! + d.pick([-1, 1]) } };
  } else
    rec = d.pick([
      null,
      undefined,
      {},
      5,
      "config",
      { counts: null },
      { counts: "3" },
      { counts: [] },
      { counts: { ...counts, files: String(counts.files) } },
      { counts: { ...counts, files: Number.NaN } },
      { counts: { ...counts, files: 1.5 } },
      { counts: { ...counts, files: -1 } },
      { counts: { ...counts, files: 1e20 } },
      { counts: { files: counts.files } },
    ]);
  if (rec === null || typeof rec !== "object") return rec as ComponentRecord;
  return {
    name: kind,
    status: "ok",
    startedAt: "",
    finishedAt: "",
    durationMs: 0,
    artifacts: [],
    tools: {},
    notes: [],
    ...(rec as object),
  } as unknown as ComponentRecord;
}

// ---- the oracle ----------------------------------------------------------------------------

type Op = "verify" | "check" | "drill" | "restore";
const OPS: readonly Op[] = ["verify", "check", "drill", "restore"];

/** May this project path change during a restore of this component? */
function mayChange(kind: "config" | "uploads", rel: string): boolean {
  if (kind === "uploads") return rel === "uploads" || rel.startsWith("uploads/") || rel.startsWith("data/real/") || rel === "data/real";
  // Written out here, not taken from the code under test.
  return (
    /^(\.env\.prod|(docker-)?compose[^/]*\.ya?ml|nginx|prometheus|grafana|loki|(nginx|prometheus|grafana|loki)\/.+)$/s.test(rel) &&
    !/^nginx\/ssl(\/|$)/.test(rel)
  );
}

/** The scratch names the components make (the archive may hold look-alikes, such as `.claw-old-x`). */
const SCRATCH = /(^|\/)(\.claw-new-\d+-[0-9a-f]{12}|\.claw-(restore|old)-[A-Za-z0-9]{6})$|^backups\/\.tmp-/;

const stats = { calls: 0, outcomes: new Map<string, number>() };
const count = (k: string) => stats.outcomes.set(k, (stats.outcomes.get(k) ?? 0) + 1);

/** The project as the last case left it: reset only when the live tree differs from a fresh one. */
const fresh = new Map<string, string>();
let left: { live: string; tree: string } | undefined;
function freshProject(live: string): void {
  if (left?.live === live && left.tree === fresh.get(live)) return;
  resetProject(live);
  if (!fresh.has(live)) fresh.set(live, [...snapshot(project)].join("\n"));
}

async function runCase(kind: "config" | "uploads", i: number): Promise<void> {
  const seed = caseSeed(kind === "config" ? i : i + 1_000_000);
  const d = new Draw(mulberry32(seed));
  const live = d.weighted(
    kind === "config" ? CONFIG_LIVE.map((l, k) => [k === 0 ? 5 : 1, l] as const) : UPLOADS_LIVE.map((l, k) => [k === 0 ? 5 : 1, l] as const),
  );
  const comp: Component = kind === "config" ? config : uploads;
  const gen = randomArchive(d, kind);
  const file = join(backup, kind === "config" ? CONFIG_FILE : UPLOADS_FILE);
  rmSync(backup, { recursive: true, force: true });
  mkdirSync(backup);
  if (gen.bytes === "a directory") mkdirSync(file);
  else if (gen.bytes !== "missing") writeFileSync(file, gen.bytes);
  const rec = await randomRecord(d, kind, file);
  freshProject(live);
  const ctx = ctxFor(project, backup, { compose: { up: async () => {} } });
  const where = () =>
    `FUZZ_SEED=${SEED} FUZZ_ONLY=${i} (${kind} case ${i}, case seed ${seed}), live tree "${live}", archive ${gen.shape}: ${JSON.stringify(
      gen.entries.map((e) => [e.path, e.type, e.linkpath]),
    ).slice(0, 1500)}, record ${JSON.stringify(rec)?.slice(0, 300)}`;
  const passed = new Set<Op>();
  const before = outside();
  let inside = snapshot(project);
  for (const op of OPS) {
    let error: unknown;
    try {
      await comp[op]!(ctx, rec);
    } catch (e) {
      error = e;
    }
    stats.calls++;
    if (error === undefined) passed.add(op);
    // What verify passes extracts; what check passes restores: no refusal after the snapshot.
    if (op === "drill" && passed.has("verify") && error !== undefined)
      assert.fail(`verify passed but the drill failed: ${(error as Error).message}\n  at ${where()}`);
    if (op === "restore" && passed.has("check") && error !== undefined)
      assert.fail(`check passed but the restore failed: ${(error as Error).message}\n  at ${where()}`);
    count(`${kind} ${op} ${error === undefined ? "ok" : ((error as Error)?.constructor?.name ?? typeof error)}`);
    if (error !== undefined) {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      assert.ok(error instanceof ClawError, `${op} threw a raw ${(error as Error)?.name}: ${detail}\n  at ${where()}`);
      if (op === "verify") assert.ok(error instanceof InvalidBackupError, `verify threw ${detail}\n  at ${where()}`);
      if (op === "check")
        assert.ok(error instanceof InvalidBackupError || error instanceof PreconditionError, `check threw ${detail}\n  at ${where()}`);
    }
    assert.deepEqual(outside(), before, `${op} changed something outside the project\n  at ${where()}`);
    const after = snapshot(project);
    const changed = changedPaths(inside, after);
    const leftovers = [...after.keys()].filter((k) => SCRATCH.test(k));
    assert.deepEqual(leftovers, [], `${op} left scratch files\n  at ${where()}`);
    if (op !== "restore") assert.deepEqual(changed, [], `${op} changed the live project\n  at ${where()}`);
    const forbidden = changed.filter((p) => !mayChange(kind, p));
    assert.deepEqual(forbidden, [], `${op} changed project files a ${kind} restore must not touch\n  at ${where()}`);
    left = { live, tree: [...after].join("\n") };
    inside = after;
    if (op === "restore" && error === undefined) {
      const written = changed.map((p) => [p, after.get(p)?.split(" ")] as const).filter(([, v]) => v && v[0] !== "link");
      const special = written.filter(([, v]) => Number.parseInt(v![1]!, 8) & 0o7000).map(([p]) => p);
      assert.deepEqual(special, [], `restore wrote setuid/setgid/sticky modes\n  at ${where()}`);
      if (IS_ROOT && kind === "uploads") {
        const owner = live === "owned 1234 setgid" ? "1234:1234" : "0:0";
        const foreign = written.filter(([, v]) => v![2] !== owner).map(([p, v]) => `${p} ${v![2]}`);
        assert.deepEqual(foreign, [], `restore kept owners from the archive\n  at ${where()}`);
      }
    }
  }
}

test(`fuzz: random records and archives through config and uploads verify/check/drill/restore (seed ${SEED}, ${CASES} cases each)`, async (t) => {
  const start = Date.now();
  for (const kind of ["config", "uploads"] as const) {
    for (let i = 0; i < CASES; i++) {
      if (ONLY !== undefined && i !== ONLY) continue;
      await runCase(kind, i);
    }
  }
  t.diagnostic(`${2 * CASES} archives, ${stats.calls} calls in ${Date.now() - start} ms`);
  for (const [k, v] of [...stats.outcomes].sort()) t.diagnostic(`${k}: ${v}`);
  for (const kind of ["config", "uploads"])
    assert.ok(
      ONLY !== undefined || (stats.outcomes.get(`${kind} restore ok`) ?? 0) > CASES / 10,
      `enough ${kind} cases get through to a real restore`,
    );
});
