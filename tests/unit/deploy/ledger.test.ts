import assert from "node:assert/strict";
import { appendFileSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseJsonLines } from "../../../lib/core/jsonl.ts";
import {
  appendLedger,
  currentRelease,
  formatReleases,
  imagesToPrune,
  LEDGER_FILE,
  ledgerPath,
  newReleaseId,
  parseLedger,
  type ReleaseRecord,
  readLedger,
  rollbackTarget,
  shortHash,
  tagsToKeep,
  unfinishedRelease,
} from "../../../lib/deploy/ledger.ts";
import { deploySettings } from "../../../lib/project/config.ts";
import { tmp } from "../helpers.ts";

const IMAGE = "ghcr.io/claw/backend";

function rel(id: string, tag: string, result: ReleaseRecord["result"], extra: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return { id, kind: "deploy", tag, image: IMAGE, startedAt: `2026-01-01T00:00:00.000Z`, result, ...extra };
}

const lines = (...ls: unknown[]) => ls.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n");

test("the ledger lives in releases/ledger.jsonl and keeps the images of 5 releases by default", () => {
  assert.equal(LEDGER_FILE, "releases/ledger.jsonl");
  assert.equal(ledgerPath("/srv/claw"), "/srv/claw/releases/ledger.jsonl");
  assert.equal(deploySettings(() => undefined, {}).keepReleases, 5, "DEPLOY_KEEP_RELEASES unset");
});

test("parseLedger merges the lines of one release by id, later fields winning, in the order releases started", () => {
  const text = lines(
    { id: "r1", kind: "deploy", tag: "1.0", image: IMAGE, startedAt: "2026-01-01T00:00:00.000Z", result: "started" },
    { id: "r1", phase: "backup" },
    { id: "r2", kind: "deploy", tag: "1.1", image: IMAGE, startedAt: "2026-01-02T00:00:00.000Z", result: "started" },
    { id: "r1", phase: "done", result: "succeeded", durationMs: 1200 },
    { id: "r2", phase: "rollout" },
    "",
  );
  assert.deepEqual(parseLedger(text), {
    releases: [
      {
        id: "r1",
        kind: "deploy",
        tag: "1.0",
        image: IMAGE,
        startedAt: "2026-01-01T00:00:00.000Z",
        result: "succeeded",
        phase: "done",
        durationMs: 1200,
      },
      { id: "r2", kind: "deploy", tag: "1.1", image: IMAGE, startedAt: "2026-01-02T00:00:00.000Z", result: "started", phase: "rollout" },
    ],
    skipped: 0,
  });
});

test("parseLedger skips and counts a torn last line and garbage lines; blank lines are not counted", () => {
  const good = { id: "r1", kind: "deploy", tag: "1.0", image: IMAGE, startedAt: "2026-01-01T00:00:00.000Z", result: "started" };
  const text = lines(good, "not json", "42", "null", '["r1"]', '{"id":7,"tag":"x","startedAt":"y"}', "   ", '{"id":"r1","result":"succ');
  const { releases, skipped } = parseLedger(text);
  assert.equal(skipped, 6);
  assert.deepEqual(releases, [good]);
  assert.deepEqual(parseLedger(""), { releases: [], skipped: 0 });
});

test("parseLedger skips an update line for an id it has not seen start (no tag or startedAt)", () => {
  const text = lines(
    { id: "ghost", result: "succeeded" },
    { id: "ghost2", tag: "1.0" },
    { id: "r1", kind: "deploy", tag: "1.0", image: IMAGE, startedAt: "2026-01-01T00:00:00.000Z", result: "started" },
  );
  const { releases, skipped } = parseLedger(text);
  assert.equal(skipped, 2);
  assert.deepEqual(
    releases.map((r) => r.id),
    ["r1"],
  );
});

test("appendLedger appends one JSON line each time, in a 0700 dir and a 0600 file, and readLedger reads them merged", () => {
  const root = tmp("ledger");
  assert.deepEqual(readLedger(root), { releases: [], skipped: 0 });
  appendLedger(root, { id: "r1", kind: "deploy", tag: "1.0", image: IMAGE, startedAt: "2026-01-01T00:00:00.000Z", result: "started" });
  appendLedger(root, { id: "r1", phase: "images" });
  appendLedger(root, { id: "r1", result: "succeeded" });
  const file = join(root, "releases/ledger.jsonl");
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(root, "releases")).mode & 0o777, 0o700);
  assert.equal(
    readFileSync(file, "utf8"),
    [
      '{"id":"r1","kind":"deploy","tag":"1.0","image":"ghcr.io/claw/backend","startedAt":"2026-01-01T00:00:00.000Z","result":"started"}',
      '{"id":"r1","phase":"images"}',
      '{"id":"r1","result":"succeeded"}',
      "",
    ].join("\n"),
  );
  assert.deepEqual(readLedger(root), {
    releases: [{ id: "r1", kind: "deploy", tag: "1.0", image: IMAGE, startedAt: "2026-01-01T00:00:00.000Z", result: "succeeded", phase: "images" }],
    skipped: 0,
  });
});

test("hardening row 11: the ledger keeps an error and phase notes without a database's row values or e-mail addresses", () => {
  const root = tmp("ledger-pii");
  const pg = 'ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=(alice@example.com) already exists.';
  appendLedger(root, {
    id: "r1",
    result: "failed",
    error: `migrations: ${pg}`,
    phases: [
      { name: "images", ms: 10, result: "ok" },
      { name: "migrations", ms: 20, result: "failed", note: "seed: user bob@example.com: DETAIL:  Failing row contains (2, null, bob@example.com)." },
    ],
  });
  assert.deepEqual(parseJsonLines(readFileSync(ledgerPath(root), "utf8")).rows, [
    {
      id: "r1",
      result: "failed",
      error:
        'migrations: ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=([REDACTED]) already exists.',
      phases: [
        { name: "images", ms: 10, result: "ok" },
        { name: "migrations", ms: 20, result: "failed", note: "seed: user <email>: DETAIL:  Failing row contains ([REDACTED])." },
      ],
    },
  ]);
});

test("a line appended after a torn last line is read: the torn one alone is lost", {}, () => {
  const root = tmp("ledger");
  appendLedger(root, { id: "r1", kind: "deploy", tag: "1.0", image: IMAGE, startedAt: "2026-01-01T00:00:00.000Z", result: "succeeded" });
  appendFileSync(ledgerPath(root), '{"id":"r2","kind":"deploy","tag":"1.1","ima');
  appendLedger(root, { id: "r3", kind: "deploy", tag: "1.2", image: IMAGE, startedAt: "2026-01-03T00:00:00.000Z", result: "started" });
  appendLedger(root, { id: "r3", result: "succeeded" });
  const { releases, skipped } = readLedger(root);
  assert.equal(skipped, 1);
  assert.deepEqual(
    releases.map((r) => [r.id, r.result]),
    [
      ["r1", "succeeded"],
      ["r3", "succeeded"],
    ],
  );
});

test("currentRelease is the newest release that succeeded, whatever came after it", () => {
  const a = rel("a", "1.0", "succeeded");
  const b = rel("b", "1.1", "succeeded", { kind: "rollback-release" });
  assert.equal(currentRelease([a, b, rel("c", "1.2", "failed"), rel("d", "1.3", "rolled-back"), rel("e", "1.4", "started")]), b);
  assert.equal(currentRelease([rel("x", "1.0", "failed")]), undefined);
  assert.equal(currentRelease([]), undefined);
});

test("unfinishedRelease is the newest release only when it started or was interrupted", () => {
  const started = rel("c", "1.2", "started", { phase: "rollout" });
  const interrupted = rel("c", "1.2", "interrupted");
  assert.equal(unfinishedRelease([rel("a", "1.0", "succeeded"), started]), started);
  assert.equal(unfinishedRelease([rel("a", "1.0", "succeeded"), interrupted]), interrupted);
  assert.equal(unfinishedRelease([started, rel("a", "1.0", "succeeded")]), undefined);
  assert.equal(unfinishedRelease([rel("a", "1.0", "failed")]), undefined);
  assert.equal(unfinishedRelease([]), undefined);
});

test("rollbackTarget by default is the newest succeeded release before the current whose tag differs", () => {
  const r1 = rel("r1", "1.0", "succeeded");
  const r2 = rel("r2", "1.1", "succeeded");
  const r3 = rel("r3", "1.1", "failed");
  const r4 = rel("r4", "1.2", "rolled-back");
  const r5 = rel("r5", "1.2", "succeeded");
  const r6 = rel("r6", "1.2", "succeeded");
  assert.deepEqual(rollbackTarget([r1, r2, r3, r4, r5, r6]), { ok: true, release: r2 });
  // After going back, going back again returns to the release gone back from.
  const back = rel("r7", "1.1", "succeeded", { kind: "rollback-release" });
  assert.deepEqual(rollbackTarget([r1, r2, r5, back]), { ok: true, release: r5 });
});

test("rollbackTarget by default counts a release of another image with the same tag as different", () => {
  const r1 = rel("r1", "1.0", "succeeded", { image: "ghcr.io/claw/old-backend" });
  const r2 = rel("r2", "1.0", "succeeded");
  assert.deepEqual(rollbackTarget([r1, r2]), { ok: true, release: r1 });
});

test("rollbackTarget with an id returns that release when it once succeeded", () => {
  const r1 = rel("r1", "1.0", "succeeded");
  const r2 = rel("r2", "1.1", "succeeded");
  const r3 = rel("r3", "1.2", "succeeded");
  assert.deepEqual(rollbackTarget([r1, r2, r3], "r1"), { ok: true, release: r1 });
});

test("rollbackTarget with an id the ledger does not know is refused with a hint to --list-releases", () => {
  assert.deepEqual(rollbackTarget([rel("r1", "1.0", "succeeded")], "nope"), {
    ok: false,
    error: "no release nope in the ledger",
    hint: "see the releases with deploy.mts --list-releases",
  });
});

test("rollbackTarget with the id of a release that never served is refused, naming its result", () => {
  const releases = [rel("r1", "1.0", "succeeded"), rel("r2", "1.1", "failed"), rel("r3", "1.2", "rolled-back"), rel("r4", "1.3", "interrupted")];
  assert.deepEqual(rollbackTarget(releases, "r2"), {
    ok: false,
    error: "release r2 never served (it failed)",
    hint: "pick one whose result is succeeded",
  });
  assert.deepEqual(rollbackTarget(releases, "r3"), {
    ok: false,
    error: "release r3 never served (it rolled-back)",
    hint: "pick one whose result is succeeded",
  });
  assert.deepEqual(rollbackTarget(releases, "r4"), {
    ok: false,
    error: "release r4 never served (it interrupted)",
    hint: "pick one whose result is succeeded",
  });
});

test("rollbackTarget with only one release that served (or only one tag) has nothing to go back to", () => {
  assert.deepEqual(rollbackTarget([rel("r1", "1.0", "succeeded"), rel("r2", "1.1", "failed")]), {
    ok: false,
    error: "release r1 (1.0) is the only one that served",
    hint: "there is no previous release to go back to",
  });
  assert.deepEqual(rollbackTarget([rel("r1", "1.0", "succeeded"), rel("r2", "1.0", "succeeded")]), {
    ok: false,
    error: "release r2 (1.0) is the only one that served",
    hint: "there is no previous release to go back to",
  });
});

test("rollbackTarget with no succeeded release at all says to deploy one first", () => {
  const none = {
    ok: false,
    error: "no release has succeeded yet: there is nothing to go back to",
    hint: "deploy one first: deploy.mts --tag <release>",
  };
  assert.deepEqual(rollbackTarget([]), none);
  assert.deepEqual(rollbackTarget([rel("r1", "1.0", "failed")]), none);
});

test("tagsToKeep holds the distinct tags of the newest N succeeded releases plus alsoKeep", () => {
  const releases = [
    rel("r1", "0.9", "succeeded"),
    rel("r2", "1.0", "succeeded"),
    rel("r3", "1.1", "succeeded"),
    rel("r4", "1.2", "failed"),
    rel("r5", "1.1", "succeeded"),
    rel("r6", "1.3", "succeeded"),
  ];
  assert.deepEqual(tagsToKeep(releases, 2), new Set(["1.3", "1.1"]));
  assert.deepEqual(tagsToKeep(releases, 3), new Set(["1.3", "1.1", "1.0"]));
  assert.deepEqual(tagsToKeep(releases, 2, ["1.2", "1.3"]), new Set(["1.2", "1.3", "1.1"]));
  assert.deepEqual(tagsToKeep(releases, 10), new Set(["1.3", "1.1", "1.0", "0.9"]));
  assert.deepEqual(tagsToKeep([], 5, ["x"]), new Set(["x"]));
});

test("imagesToPrune removes only ledger-known tags of that image that are not kept and no container uses", () => {
  const releases = [
    rel("r1", "1.0", "succeeded"),
    rel("r2", "1.1", "failed"),
    rel("r3", "1.2", "succeeded"),
    rel("o", "0.1", "succeeded", { image: "other/img" }),
  ];
  const local = [
    { ref: `${IMAGE}:1.0`, id: "aaaaaaaaaaaa" }, // known, not kept, unused: pruned
    { ref: `${IMAGE}:1.1`, id: "bbbbbbbbbbbb" }, // known (a failed deploy pulled it), unused: pruned
    { ref: `${IMAGE}:1.2`, id: "cccccccccccc" }, // kept
    { ref: `${IMAGE}:hotfix`, id: "dddddddddddd" }, // never deployed by claw-ops: stays
    { ref: `${IMAGE}-tools:1.0`, id: "eeeeeeeeeeee" }, // another repository with the same prefix
    { ref: "other/img:0.1", id: "ffffffffffff" }, // another image the ledger knows
    { ref: `${IMAGE}:<none>`, id: "999999999999" },
  ];
  assert.deepEqual(imagesToPrune(releases, IMAGE, local, new Set(), new Set(["1.2"])), [`${IMAGE}:1.0`, `${IMAGE}:1.1`]);
});

test("imagesToPrune compares image ids by their first 12 hex, with or without sha256:", () => {
  const releases = [rel("r1", "1.0", "succeeded"), rel("r2", "1.1", "succeeded"), rel("r3", "1.2", "succeeded")];
  const full = (c: string) => `sha256:${c.repeat(64)}`;
  // docker image ls prints 12 hex; docker inspect {{.Image}} prints sha256:<64 hex>.
  const local = [
    { ref: `${IMAGE}:1.0`, id: "aaaaaaaaaaaa" },
    { ref: `${IMAGE}:1.1`, id: full("b") },
    { ref: `${IMAGE}:1.2`, id: "cccccccccccc" },
  ];
  const inUse = new Set([full("a"), "bbbbbbbbbbbb"]);
  assert.deepEqual(imagesToPrune(releases, IMAGE, local, inUse, new Set()), [`${IMAGE}:1.2`]);
  assert.deepEqual(imagesToPrune(releases, IMAGE, local, new Set([full("c").slice(7)]), new Set(["1.0"])), [`${IMAGE}:1.1`]);
});

test("formatReleases is a table newest first with * on the release that serves and the phase of one that did not finish", () => {
  const releases = [
    rel("20260101-100000", "1.0", "succeeded", {
      phase: "done",
      durationMs: 61234,
      preDeployBackup: "backups/pre-deploy/20260101-100000",
      migrationHead: "abc123",
    }),
    rel("20260102-100000", "1.1", "rolled-back", { phase: "rollout", durationMs: 5000, preDeployBackup: null, migrationHead: null }),
    rel("20260103-100000", "0.9", "started", { kind: "rollback-release", phase: "images" }),
  ];
  assert.equal(
    formatReleases(releases),
    [
      "   RELEASE          KIND              TAG  RESULT                 TIME   PRE-DEPLOY BACKUP                   MIGRATION",
      "   20260103-100000  rollback-release  0.9  started (images)",
      "   20260102-100000                    1.1  rolled-back (rollout)  5.0s",
      "*  20260101-100000                    1.0  succeeded              61.2s  backups/pre-deploy/20260101-100000  abc123",
    ].join("\n"),
  );
});

test("formatReleases of an empty ledger says so and how to deploy", () => {
  assert.equal(formatReleases([]), "no releases yet (the ledger is empty): deploy one with deploy.mts");
});

test("rollbackTarget after a deploy that died mid-way goes back to the release that served before it, not one further", () => {
  const r1 = rel("r1", "1.0", "succeeded");
  const r2 = rel("r2", "1.1", "succeeded");
  assert.deepEqual(rollbackTarget([r1, r2, rel("r3", "1.2", "started")]), { ok: true, release: r2 });
  assert.deepEqual(rollbackTarget([r1, r2, rel("r3", "1.2", "interrupted")]), { ok: true, release: r2 });
  // Only one release ever served: after an interrupted deploy, going back is going back to it.
  assert.deepEqual(rollbackTarget([r1, rel("r2", "1.1", "started")]), { ok: true, release: r1 });
  // A deploy that failed cleanly (the old release served throughout): back means the one before.
  assert.deepEqual(rollbackTarget([r1, r2, rel("r3", "1.2", "failed")]), { ok: true, release: r1 });
});

test("hardening row 10: a ledger line whose tag breaks the tag rule is a damaged line: never a rollback target, never a tag kept or removed", () => {
  const good = { id: "20260101-000000", tag: "1.0.0", image: "claw/backend", startedAt: "2026-01-01T00:00:00Z", result: "succeeded" };
  const forged = { ...good, id: "20260102-000000", tag: "1.0 --all", startedAt: "2026-01-02T00:00:00Z" };
  const slash = { ...good, id: "20260103-000000", tag: "../x", startedAt: "2026-01-03T00:00:00Z" };
  const later = { id: good.id, tag: ["x"] };
  const { releases, skipped } = parseLedger([good, forged, slash, later].map((l) => JSON.stringify(l)).join("\n"));
  assert.deepEqual(
    releases.map((r) => r.tag),
    ["1.0.0"],
  );
  assert.equal(skipped, 3);
});

test("a release id is the local time as YYYYMMDD-HHMMSS, zero-padded", () => {
  assert.equal(newReleaseId(new Date(2026, 0, 2, 3, 4, 5), new Set()), "20260102-030405");
  assert.equal(newReleaseId(new Date(2026, 11, 31, 23, 59, 59), new Set()), "20261231-235959");
});

test("a release id taken in the ledger gets -2, then -3", () => {
  const now = new Date(2026, 2, 1, 12, 0, 0);
  assert.equal(newReleaseId(now, new Set(["20260301-120000"])), "20260301-120000-2");
  assert.equal(newReleaseId(now, new Set(["20260301-120000", "20260301-120000-2"])), "20260301-120000-3");
  assert.equal(newReleaseId(now, new Set(["20260301-120000-2"])), "20260301-120000");
});

test("shortHash is the first 16 hex of the sha256, the same for a string and its bytes", () => {
  assert.equal(shortHash(""), "e3b0c44298fc1c14");
  assert.equal(shortHash("abc"), "ba7816bf8f01cfea");
  assert.equal(shortHash(Buffer.from("abc")), "ba7816bf8f01cfea");
});
