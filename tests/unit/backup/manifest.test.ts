import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkManifest, hashFile, sha256File } from "../../../lib/backup/manifest.ts";
import { ExitCode, InvalidBackupError } from "../../../lib/core/errors.ts";
import { tmp } from "../helpers.ts";

test("file hashes read through one buffer equal the plain digest, whole or by byte range (inclusive end)", async () => {
  const root = tmp();
  const f = join(root, "blob");
  const data = Buffer.alloc(3 * (1 << 20) + 12345, 0);
  for (let i = 0; i < data.length; i += 4099) data[i] = i % 251;
  writeFileSync(f, data);
  assert.deepEqual(await sha256File(f), { sha256: createHash("sha256").update(data).digest("hex"), bytes: data.length });
  const part = await hashFile(f, "md5", 1 << 20, 2 * (1 << 20) + 99);
  assert.equal(
    part.hex,
    createHash("md5")
      .update(data.subarray(1 << 20, 2 * (1 << 20) + 100))
      .digest("hex"),
  );
  assert.equal(part.bytes, (1 << 20) + 100);
  assert.equal((await sha256File(join(root, "blob"))).bytes, data.length);
});

const H = "a".repeat(64);
/** A well-formed manifest of every component, to be broken one field at a time. */
function goodManifest(): Record<string, unknown> {
  const comp = (name: string, files: string[]) => ({
    name,
    status: "ok",
    startedAt: "2026-01-01T02:00:00.000Z",
    finishedAt: "2026-01-01T02:00:01.000Z",
    durationMs: 1000,
    artifacts: files.map((file) => ({ file, bytes: 10, sha256: H })),
    tools: {},
    counts: { files: 1 },
    notes: [],
  });
  return {
    format: "claw-ops-backup",
    version: 1,
    id: "20260101-020000",
    createdAt: "2026-01-01T02:00:00.000Z",
    finishedAt: "2026-01-01T02:00:05.000Z",
    host: "h",
    release: { image: "claw/app", tag: "1.0" },
    composeProject: null,
    components: {
      postgres: comp("postgres", ["postgres-claw_ai.dump.zst", "postgres-globals.sql"]),
      redis: comp("redis", ["redis.rdb"]),
      milvus: comp("milvus", ["etcd.snapshot", "minio-data.tar", "milvus-data.tar"]),
      uploads: comp("uploads", ["uploads.tar"]),
      config: comp("config", ["config.tar"]),
    },
  };
}

const rejects = (m: unknown, field: RegExp) => {
  assert.throws(
    () => checkManifest(m, "backups/daily/x/manifest.json"),
    (e: unknown) => {
      assert.ok(e instanceof InvalidBackupError, String(e));
      assert.equal(e.exitCode, ExitCode.invalidBackup);
      assert.match(e.message, field);
      return true;
    },
  );
};

test("a well-formed manifest passes the check unchanged", () => {
  const m = goodManifest();
  assert.deepEqual(checkManifest(m, "x"), m);
});

test("a manifest with a wrong type, a null artifact or a missing field is 'not a valid backup' naming the field (exit 5, no TypeError)", () => {
  // biome-ignore lint/suspicious/noExplicitAny: each case breaks the manifest's shape on purpose
  const cases: Array<[(m: any) => void, RegExp]> = [
    [
      (m) => {
        m.components.uploads.artifacts = [];
      },
      /components\.uploads\.artifacts lack the file uploads\.tar/,
    ],
    [
      (m) => {
        m.components.config.artifacts[0].file = 42;
      },
      /components\.config\.artifacts\[0\]\.file must be a plain file name/,
    ],
    [
      (m) => {
        m.components.redis.artifacts[0] = null;
      },
      /components\.redis\.artifacts\[0\] must be an object/,
    ],
    [
      (m) => {
        delete m.release;
      },
      /release is missing/,
    ],
    [
      (m) => {
        m.release.tag = 1;
      },
      /release\.tag must be a string/,
    ],
    [
      (m) => {
        m.id = "../../etc";
      },
      /id must be YYYYMMDD-HHMMSS/,
    ],
    [
      (m) => {
        m.createdAt = "yesterday";
      },
      /createdAt must be a date/,
    ],
    [
      (m) => {
        m.components.redis.artifacts[0].sha256 = "abc";
      },
      /sha256 must be 64 hex digits/,
    ],
    [
      (m) => {
        m.components.redis.artifacts[0].bytes = -1;
      },
      /bytes must be a whole number/,
    ],
    [
      (m) => {
        m.components.config.artifacts.push({ file: "config.tar", bytes: 1, sha256: H });
      },
      /list the same file twice/,
    ],
    [
      (m) => {
        m.components.config.artifacts.push({ file: "backup.mts", bytes: 1, sha256: H });
      },
      /list "backup\.mts", which is not a config file/,
    ],
    [
      (m) => {
        m.components.redis.artifacts[0].file = "../redis.rdb";
      },
      /must be a plain file name/,
    ],
    [
      (m) => {
        m.components.redis.counts = { keys: "7" };
      },
      /counts must map names to numbers/,
    ],
    [
      (m) => {
        m.components.redis.name = "postgres";
      },
      /components\.redis\.name must be "redis"/,
    ],
    [
      (m) => {
        m.components.evil = m.components.redis;
      },
      /components\.evil is not a component/,
    ],
    [
      (m) => {
        m.components = {};
      },
      /components must list at least one component/,
    ],
    [
      (m) => {
        m.encryption = { scheme: "age", recipients: [] };
      },
      /artifacts\[0\]\.plain is missing for an encrypted backup/,
    ],
  ];
  for (const [breakIt, field] of cases) {
    const m = goodManifest();
    breakIt(m);
    rejects(m, field);
  }
  rejects([], /not a claw-ops backup manifest/);
  rejects(null, /not a claw-ops backup manifest/);
});

test("an in-place snapshot record names its data by the backup's own id only, holds no artifacts and exists only for the components that can keep in place", () => {
  const kept = () => {
    const m = goodManifest();
    // biome-ignore lint/suspicious/noExplicitAny: shaping the fixture
    const c = m.components as any;
    for (const name of ["postgres", "redis", "milvus", "uploads"]) {
      c[name].artifacts = [];
      c[name].kept = { tag: m.id };
    }
    return m;
  };
  assert.deepEqual(checkManifest(kept(), "x"), kept());
  const moved = kept();
  // biome-ignore lint/suspicious/noExplicitAny: shaping the fixture
  (moved.components as any).redis.kept.moved = true;
  assert.deepEqual(checkManifest(moved, "x"), moved);
  // biome-ignore lint/suspicious/noExplicitAny: each case breaks the record on purpose
  const cases: Array<[(m: any) => void, RegExp]> = [
    [
      (m) => (m.components.postgres.kept = { tag: "20250101-000000" }),
      /components\.postgres\.kept must be \{ tag: <the backup's id>, moved\?: true \}/,
    ],
    [(m) => (m.components.redis.kept = { tag: m.id, name: "claw_ai" }), /components\.redis\.kept must be/],
    [(m) => (m.components.milvus.kept = "yes"), /components\.milvus\.kept must be/],
    [(m) => (m.components.milvus.kept = { tag: m.id, moved: false }), /components\.milvus\.kept must be/],
    [(m) => (m.components.uploads.artifacts = [{ file: "uploads.tar", bytes: 1, sha256: H }]), /components\.uploads\.artifacts must be empty/],
    [
      (m) => {
        m.components.config.artifacts = [];
        m.components.config.kept = { tag: m.id };
      },
      /components\.config\.kept is not possible for config/,
    ],
  ];
  for (const [breakIt, field] of cases) {
    const m = kept();
    breakIt(m);
    rejects(m, field);
  }
});
