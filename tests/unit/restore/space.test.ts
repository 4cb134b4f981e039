import assert from "node:assert/strict";
import { test } from "node:test";
import type { ComponentRecord, Manifest } from "../../../lib/backup/manifest.ts";
import { HEADROOM, restoreNeeds, shortOfSpace } from "../../../lib/restore/space.ts";

const rec = (name: ComponentRecord["name"], artifacts: ComponentRecord["artifacts"], counts: Record<string, number> = {}): ComponentRecord => ({
  name,
  status: "ok",
  startedAt: "",
  finishedAt: "",
  durationMs: 0,
  artifacts,
  tools: {},
  counts,
  notes: [],
});
const manifest = (encrypted: boolean): Manifest => {
  const a = (file: string, bytes: number, plainBytes: number) =>
    encrypted
      ? { file: `${file}.age`, bytes, sha256: "x", plain: { file, bytes: plainBytes, sha256: "y" } }
      : { file, bytes: plainBytes, sha256: "y" };
  return {
    format: "claw-ops-backup",
    version: 1,
    id: "20260101-000000",
    createdAt: "",
    finishedAt: "",
    host: "h",
    release: { image: "i", tag: "t" },
    composeProject: null,
    ...(encrypted ? { encryption: { scheme: "age" as const, recipients: ["age1x"] } } : {}),
    components: {
      postgres: rec("postgres", [a("postgres-claw_ai.dump.zst", 100, 100), a("postgres-globals.sql", 1, 1)]),
      redis: rec("redis", [a("redis.rdb", 20, 20)]),
      milvus: rec("milvus", [a("etcd.snapshot", 5, 5), a("minio.tar", 300, 300), a("milvus.tar", 50, 50)], {
        "minio:bytes": 290,
        "milvus:bytes": 45,
      }),
      uploads: rec("uploads", [a("uploads.tar.zst", 400, 400)], { bytes: 1000, files: 3 }),
      config: rec("config", [a("config.tar", 2, 2)]),
    },
  };
};

test("hardening row 5: a restore needs its staged copies where they are staged, the decrypted copy and the copied snapshot in the backups directory", () => {
  const all = ["postgres", "redis", "milvus", "uploads", "config"] as const;
  const inPlace = ["postgres", "redis", "milvus", "uploads"] as const;
  // Plaintext, snapshots kept in place: only config is copied; the live database (5000) is bigger than its dump.
  assert.deepEqual(restoreNeeds(manifest(false), all, inPlace, 5000), { backups: 2, uploads: 1000, docker: 5000 + 20 + 5 + 290 + 45 });
  // Encrypted, nothing kept in place: every plaintext decrypted once and every component copied once.
  const plain = 101 + 20 + 355 + 400 + 2;
  assert.deepEqual(restoreNeeds(manifest(true), all, [], 0), { backups: 2 * plain, uploads: 1000, docker: 101 - 1 + 20 + 5 + 290 + 45 });
  // Only what is restored counts.
  assert.deepEqual(restoreNeeds(manifest(false), ["uploads"], ["uploads"], 0), { backups: 0, uploads: 1000, docker: 0 });
});

test("hardening row 5: places on one file system add up; only a file system short of room (with headroom) is reported", () => {
  const need = { backups: 100, uploads: 100, docker: 100 };
  const one = [
    { place: "backups" as const, path: "/srv/claw/backups", dev: 1, free: 250 },
    { place: "uploads" as const, path: "/srv/claw", dev: 1, free: 250 },
    { place: "docker" as const, path: "/var/lib/docker", dev: 2, free: 1000 },
  ];
  assert.ok(200 * HEADROOM <= 250);
  assert.deepEqual(shortOfSpace(one, need), [], "200 of 250 on the shared file system fits");
  assert.deepEqual(shortOfSpace(one, { ...need, uploads: 200 }), [
    { places: ["backups", "uploads"], path: "/srv/claw/backups", need: 300, free: 250 },
  ]);
  assert.deepEqual(
    shortOfSpace(one, { backups: 0, uploads: 0, docker: 990 }),
    [{ places: ["docker"], path: "/var/lib/docker", need: 990, free: 1000 }],
    "5 % headroom",
  );
  assert.deepEqual(shortOfSpace(one, { backups: 0, uploads: 0, docker: 0 }), [], "nothing needed, nothing short");
});
