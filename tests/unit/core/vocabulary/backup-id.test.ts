// First statement, before any Date exists: local time is Berlin's (CET +01:00, CEST +02:00), so
// local and UTC differ and a local-time id is told apart from a UTC one.
process.env.TZ = "Europe/Berlin";

import assert from "node:assert/strict";
import { test } from "node:test";
import { BACKUP_ID_SOURCE, compareBackupIds, formatBackupId, isBackupId, parseBackupId } from "../../../../lib/core/vocabulary/backup-id.ts";

test("a backup id formats a date as YYYYMMDD-HHMMSS in the server's local time and parses back to it", () => {
  const d = new Date(2024, 1, 15, 2, 3, 4); // 2024-02-15 02:03:04 CET = 01:03:04 UTC
  assert.equal(formatBackupId(d), "20240215-020304");
  assert.equal(parseBackupId("20240215-020304")?.getTime(), d.getTime());
});

test("a log file's stamp is the same shape in UTC", () => {
  const d = new Date(Date.UTC(2024, 0, 31, 23, 59, 59)); // 2024-02-01 00:59:59 in Berlin
  assert.equal(formatBackupId(d, "utc"), "20240131-235959");
  assert.equal(formatBackupId(d), "20240201-005959");
});

test("formatting refuses an invalid date and a year outside 0000-9999", () => {
  assert.throws(() => formatBackupId(new Date(Number.NaN)), RangeError);
  assert.throws(() => formatBackupId(new Date(Date.UTC(10_000, 5, 1))), RangeError);
  assert.throws(() => formatBackupId(new Date(Date.UTC(10_000, 5, 1)), "utc"), RangeError);
  assert.equal(formatBackupId(new Date("0005-06-01T12:00:00Z"), "utc"), "00050601-120000");
});

test("isBackupId checks the shape only; parseBackupId also wants a real local time", () => {
  for (const id of ["20240215-020304", "99991231-235959", "20241399-999999"]) assert.ok(isBackupId(id), id);
  for (const id of ["", "20240215020304", "20240215-02030", "x20240215-020304", "20240215-020304\n", "20240215-020304.partial"])
    assert.equal(isBackupId(id), false, JSON.stringify(id));
  assert.equal(parseBackupId("20241399-999999"), undefined);
});

test("the id's source embeds in a larger pattern; isBackupId matches one whole id", () => {
  const line = new RegExp(`^KEPT (${BACKUP_ID_SOURCE})$`, "gm");
  assert.deepEqual(
    [..."KEPT 20240215-020304\nKEPT nope\nKEPT 20240216-000000".matchAll(line)].map((m) => m[1]),
    ["20240215-020304", "20240216-000000"],
  );
  assert.ok(isBackupId("20240215-020304"));
  assert.equal(isBackupId("a-20240215-020304"), false);
});

test("ids compare in the order of the wall-clock times they name", () => {
  const ids = ["20240215-020304", "20231231-235959", "20240215-020303", "20240301-000000"];
  assert.deepEqual([...ids].sort(compareBackupIds), ["20231231-235959", "20240215-020303", "20240215-020304", "20240301-000000"]);
  assert.equal(compareBackupIds("20240215-020304", "20240215-020304"), 0);
});
