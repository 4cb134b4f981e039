// First statement, before any Date exists: every local-time expectation below is Berlin's
// (CET +01:00, CEST +02:00; 2026 springs forward Mar 29 02:00→03:00 and falls back Oct 25 03:00→02:00).
process.env.TZ = "Europe/Berlin";

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assertPlanKeepsSomething,
  type BackupRef,
  isoWeekKey,
  monthKey,
  planPrune,
  promotionsFor,
  RetentionError,
} from "../../../lib/backup/retention.ts";
import { ClawError, ExitCode } from "../../../lib/core/errors.ts";
import { formatBackupId, parseBackupId } from "../../../lib/core/vocabulary/backup-id.ts";
import { TIERS, type Tier } from "../../../lib/core/vocabulary/tiers.ts";
import { DEFAULT_POLICY, type RetentionPolicy } from "../../../lib/project/config.ts";

const DAY = 86_400_000;

const HOUR = 3_600_000;

const MIN = 60_000;

/** A local wall-clock time (months 1-based). */
const local = (y: number, mo: number, d: number, h = 2, mi = 0, s = 0): Date => new Date(y, mo - 1, d, h, mi, s);

const ref = (tier: Tier, time: Date): BackupRef => ({ tier, id: formatBackupId(time), time });

const ids = (refs: readonly BackupRef[]): string[] => refs.map((b) => `${b.tier}/${b.id}`);

test("the tests run in Europe/Berlin local time", () => {
  assert.equal(new Date(2026, 0, 15).getTimezoneOffset(), -60);
  assert.equal(new Date(2026, 6, 15).getTimezoneOffset(), -120);
});

test("tiers and the default policy are as documented", () => {
  assert.deepEqual(TIERS, ["daily", "weekly", "monthly"]);
  assert.deepEqual(DEFAULT_POLICY, { dailyDays: 7, weeklyDays: 30, monthlyDays: 365 });
});

test("ids format and parse local time, across month ends, year ends and leap days", () => {
  const table: Array<[Date, string]> = [
    [local(2024, 2, 15, 2, 0, 0), "20240215-020000"],
    [local(2024, 1, 31, 23, 59, 59), "20240131-235959"],
    [local(2024, 2, 1, 0, 0, 0), "20240201-000000"], // UTC is still Jan 31 23:00
    [local(2024, 2, 29, 12, 30, 5), "20240229-123005"], // leap day
    [local(2024, 3, 1, 0, 0, 0), "20240301-000000"],
    [local(2023, 2, 28, 23, 59, 59), "20230228-235959"],
    [local(2023, 3, 1, 0, 0, 0), "20230301-000000"],
    [local(2025, 12, 31, 23, 59, 59), "20251231-235959"],
    [local(2026, 1, 1, 0, 0, 0), "20260101-000000"],
  ];
  for (const [date, id] of table) {
    assert.equal(formatBackupId(date), id);
    assert.equal(parseBackupId(id)?.getTime(), date.getTime(), id);
  }
  // One second after the last second of January is the first of February.
  assert.equal(formatBackupId(new Date(local(2024, 1, 31, 23, 59, 59).getTime() + 1000)), "20240201-000000");
  assert.equal(formatBackupId(new Date(local(2024, 2, 28, 23, 59, 59).getTime() + 1000)), "20240229-000000");
  assert.equal(formatBackupId(new Date(local(2023, 2, 28, 23, 59, 59).getTime() + 1000)), "20230301-000000");
});

test("anything not exactly YYYYMMDD-HHMMSS naming a real local time is not an id", () => {
  for (const id of [
    "20230229-020000", // 2023 is not a leap year
    "20241301-020000", // month 13
    "20240001-020000", // month 0
    "20240431-020000", // April 31
    "20240100-020000", // day 0
    "20240215-250000", // 25:00
    "20240215-240000", // 24:00
    "20240215-026000", // minute 60
    "20240215-020060", // second 60
    "20240215-02000",
    "2024021-020000",
    "20240215020000",
    "20240215_020000",
    "20240215-020000 ",
    " 20240215-020000",
    "2024-02-15-020000",
    "+20240215-020000",
    "20240215-0200O0",
    "",
    "latest",
    "２０２４0215-020000", // full-width digits are not \d
  ]) {
    assert.equal(parseBackupId(id), undefined, JSON.stringify(id));
  }
  assert.ok(parseBackupId("20240229-000000"), "2024-02-29 exists");
});

test("ISO week keys use the ISO week-year, in local time", () => {
  const table: Array<[Date, string]> = [
    [local(2020, 12, 31), "2020-W53"],
    [local(2021, 1, 1), "2020-W53"],
    [local(2021, 1, 3, 23, 59, 59), "2020-W53"], // Sunday
    [local(2021, 1, 4, 0, 0, 0), "2021-W01"], // Monday, though UTC is still Sunday Jan 3 23:00
    [local(2024, 12, 29), "2024-W52"],
    [local(2024, 12, 30), "2025-W01"],
    [local(2025, 1, 1), "2025-W01"],
    [local(2026, 11, 23), "2026-W48"],
    [local(2026, 12, 31), "2026-W53"],
    [local(2027, 1, 1), "2026-W53"],
    [local(2027, 1, 4), "2027-W01"],
    [local(2026, 3, 29, 3, 30), "2026-W13"], // the DST Sunday
    [local(2026, 3, 30, 0, 30), "2026-W14"],
  ];
  for (const [date, key] of table) assert.equal(isoWeekKey(date), key, date.toString());
});

test("month keys use the local calendar month", () => {
  assert.equal(monthKey(local(2024, 1, 31, 23, 59, 59)), "2024-01");
  assert.equal(monthKey(local(2024, 2, 1, 0, 0, 0)), "2024-02"); // UTC: 2024-01-31T23:00Z
  assert.equal(monthKey(local(2024, 2, 29)), "2024-02");
  assert.equal(monthKey(local(2026, 11, 30)), "2026-11");
  assert.equal(monthKey(local(2026, 12, 31, 23, 30)), "2026-12");
});

test("DST spring forward: 2026-03-29 02:30 local does not exist", () => {
  assert.equal(parseBackupId("20260329-023000"), undefined);
  assert.equal(parseBackupId("20260329-020000"), undefined);
  assert.equal(parseBackupId("20260329-025959"), undefined);
  const before = parseBackupId("20260329-015959");
  const after = parseBackupId("20260329-030000");
  assert.ok(before && after);
  assert.equal(after.getTime() - before.getTime(), 1000, "01:59:59 CET and 03:00:00 CEST are one second apart");
  // No instant formats into the gap.
  for (let t = before.getTime(); t <= after.getTime(); t += 1000) assert.doesNotMatch(formatBackupId(new Date(t)), /^20260329-02/);
});

test("DST fall back: ids round-trip around 2026-10-25, and the repeated hour shares its ids", () => {
  const start = Date.UTC(2026, 9, 24, 22, 0); // 2026-10-25 00:00 CEST
  const end = Date.UTC(2026, 9, 25, 4, 0); // 2026-10-25 05:00 CET
  for (let t = start; t <= end; t += 5 * MIN) {
    const id = formatBackupId(new Date(t));
    const back = parseBackupId(id);
    assert.ok(back, id);
    assert.equal(formatBackupId(back), id, "id → date → id is exact");
    const inRepeatedHour = t >= Date.UTC(2026, 9, 25, 0, 0) && t < Date.UTC(2026, 9, 25, 2, 0);
    if (inRepeatedHour) assert.ok(back.getTime() === t || back.getTime() === t - HOUR, id);
    else assert.equal(back.getTime(), t, `date → id → date is exact outside the repeated hour (${id})`);
  }
  // 02:30 CEST and 02:30 CET: one hour apart, one id. Only the manifest's instant tells them apart.
  const first = new Date(Date.UTC(2026, 9, 25, 0, 30));
  const second = new Date(Date.UTC(2026, 9, 25, 1, 30));
  assert.equal(formatBackupId(first), "20261025-023000");
  assert.equal(formatBackupId(second), "20261025-023000");
  assert.equal(parseBackupId("20261025-023000")?.getTime(), first.getTime(), "an ambiguous id names its first occurrence");
});

test("age is measured between true instants, not ids, across DST", () => {
  const policy: RetentionPolicy = { dailyDays: 7, weeklyDays: 30, monthlyDays: 365 };
  // Spring: 7 days of wall clock, but only 6 d 23 h 30 min of real time: kept.
  const springOld = ref("daily", local(2026, 3, 22, 3, 0)); // 02:00Z (CET)
  const springNow = local(2026, 3, 29, 3, 30); // 01:30Z (CEST); the id gap would say 7 d 30 min
  let plan = planPrune([springOld, ref("daily", local(2026, 3, 29, 3, 0))], policy, springNow);
  assert.deepEqual(ids(plan.remove), []);
  // Autumn: 6 d 23 h 30 min of wall clock, but 7 d 30 min of real time: expired.
  const autumnOld = ref("daily", local(2026, 10, 18, 3, 0)); // 01:00Z (CEST)
  const autumnNow = new Date(Date.UTC(2026, 9, 25, 1, 30)); // 02:30 CET, the second 02:30
  assert.equal(formatBackupId(autumnNow), "20261025-023000");
  plan = planPrune([autumnOld, ref("daily", local(2026, 10, 25, 1, 0))], policy, autumnNow);
  assert.deepEqual(ids(plan.remove), ["daily/20261018-030000"]);
  // Two backups with the same id in the repeated hour have different ages.
  const a: BackupRef = { tier: "daily", id: "20261018-023000", time: new Date(Date.UTC(2026, 9, 18, 0, 30)) };
  // (the newer one is not in the future at either `now`: a future backup protects nothing)
  const newer: BackupRef = { tier: "daily", id: "20261025-020000", time: new Date(Date.UTC(2026, 9, 25, 0, 0)) };
  assert.deepEqual(ids(planPrune([a, newer], policy, new Date(Date.UTC(2026, 9, 25, 0, 29))).remove), []); // 6 d 23 h 59 min
  assert.deepEqual(ids(planPrune([a, newer], policy, new Date(Date.UTC(2026, 9, 25, 0, 30))).remove), ["daily/20261018-023000"]);
});

test("a backup exactly N policy days old is expired; one millisecond younger is kept", () => {
  const t = local(2026, 6, 1, 2, 0);
  const old = ref("daily", t);
  const newest = ref("daily", local(2026, 6, 8, 2, 0));
  assert.deepEqual(ids(planPrune([old, newest], DEFAULT_POLICY, new Date(t.getTime() + 7 * DAY)).remove), ["daily/20260601-020000"]);
  assert.deepEqual(ids(planPrune([old, newest], DEFAULT_POLICY, new Date(t.getTime() + 7 * DAY - 1)).remove), []);
});

test("each tier has its own age limit, and hard-linked copies are judged per tier", () => {
  const now = local(2026, 6, 30, 2, 5);
  const backups = [
    ref("daily", local(2026, 6, 1)),
    ref("weekly", local(2026, 6, 1)),
    ref("monthly", local(2026, 6, 1)), // 29 d
    ref("daily", local(2026, 5, 25)),
    ref("weekly", local(2026, 5, 25)), // 36 d
    ref("monthly", local(2025, 7, 1)), // 364 d
    ref("monthly", local(2025, 6, 1)), // 394 d
    ref("daily", local(2026, 6, 30)),
    ref("weekly", local(2026, 6, 29)),
    ref("monthly", local(2026, 6, 1, 2, 0, 1)),
  ];
  const plan = planPrune(backups, DEFAULT_POLICY, now);
  assert.deepEqual(ids(plan.remove), ["daily/20260601-020000", "daily/20260525-020000", "weekly/20260525-020000", "monthly/20250601-020000"]);
  assert.deepEqual(ids(plan.keep), [
    "weekly/20260601-020000",
    "monthly/20260601-020000",
    "monthly/20250701-020000",
    "daily/20260630-020000",
    "weekly/20260629-020000",
    "monthly/20260601-020001",
  ]);
  assert.equal(plan.keep.length + plan.remove.length, backups.length);
});

test("the newest backup of each tier is kept even when expired", () => {
  const now = local(2026, 6, 30, 2, 0);
  const backups = [
    ref("daily", local(2026, 1, 1)),
    ref("daily", local(2026, 1, 2)),
    ref("weekly", local(2025, 11, 3)),
    ref("weekly", local(2025, 11, 10)),
    ref("monthly", local(2024, 1, 1)),
    ref("monthly", local(2024, 2, 1)),
  ];
  const plan = planPrune(backups, DEFAULT_POLICY, now);
  assert.deepEqual(ids(plan.keep), ["daily/20260102-020000", "weekly/20251110-020000", "monthly/20240201-020000"]);
  assert.deepEqual(ids(plan.remove), ["daily/20260101-020000", "weekly/20251103-020000", "monthly/20240101-020000"]);
  // A lone, ancient backup is the newest of its tier.
  assert.deepEqual(ids(planPrune([ref("daily", local(2020, 1, 1))], DEFAULT_POLICY, now).keep), ["daily/20200101-020000"]);
});

test("clock moved back: a backup from the future is kept, and ages are still judged for the rest", () => {
  const now = local(2026, 3, 10, 2, 5); // the clock was reset from June to March
  const future = ref("daily", local(2026, 6, 1));
  const futureOld = ref("daily", local(2026, 5, 1)); // not the newest, but still after now
  const recent = ref("daily", local(2026, 3, 9));
  const expired = ref("daily", local(2026, 3, 1));
  const plan = planPrune([future, futureOld, recent, expired], DEFAULT_POLICY, now);
  assert.deepEqual(ids(plan.keep), ["daily/20260601-020000", "daily/20260501-020000", "daily/20260309-020000"]);
  assert.deepEqual(ids(plan.remove), ["daily/20260301-020000"]);
});

test("no backups: nothing to remove, no refusal", () => {
  assert.deepEqual(planPrune([], DEFAULT_POLICY, local(2026, 1, 1)), { remove: [], keep: [] });
});

test("a plan that would remove every backup is refused", () => {
  const backups = [ref("daily", local(2026, 1, 1)), ref("weekly", local(2026, 1, 1))];
  const everything = { remove: [...backups], keep: [] };
  assert.throws(
    () => assertPlanKeepsSomething(backups, everything),
    (e: unknown) => {
      assert.ok(e instanceof RetentionError && e instanceof ClawError, String(e));
      assert.equal(e.exitCode, ExitCode.failed);
      assert.match(e.message, /would remove all 2 backup/);
      return true;
    },
  );
  assertPlanKeepsSomething(backups, { remove: [backups[0]!], keep: [backups[1]!] });
  assertPlanKeepsSomething([], { remove: [], keep: [] });
  // planPrune itself never gets there: with everything long expired it still keeps the newest of each tier.
  const ancient = [ref("daily", local(2000, 1, 1)), ref("daily", local(2000, 1, 2)), ref("monthly", local(2000, 1, 1))];
  assert.deepEqual(ids(planPrune(ancient, DEFAULT_POLICY, local(2026, 1, 1)).keep), ["daily/20000102-020000", "monthly/20000101-020000"]);
});

test("planPrune refuses a nonsensical policy or an invalid now", () => {
  const b = [ref("daily", local(2026, 1, 1))];
  for (const bad of [
    { ...DEFAULT_POLICY, dailyDays: 0 },
    { ...DEFAULT_POLICY, weeklyDays: -1 },
    { ...DEFAULT_POLICY, monthlyDays: 1.5 },
    { ...DEFAULT_POLICY, dailyDays: NaN },
  ]) {
    assert.throws(() => planPrune(b, bad, local(2026, 1, 2)), RetentionError);
  }
  assert.throws(() => planPrune(b, DEFAULT_POLICY, new Date(NaN)), RetentionError);
});

test("Monday's run failed: Tuesday's backup is promoted to weekly, Wednesday's is not", () => {
  // 2026-11-23 is a Monday (2026-W48); the week before is W47, month November already covered.
  const existing = [
    ref("daily", local(2026, 11, 20)),
    ref("daily", local(2026, 11, 21)),
    ref("daily", local(2026, 11, 22)),
    ref("weekly", local(2026, 11, 16)),
    ref("monthly", local(2026, 11, 1)),
  ];
  const tuesday = ref("daily", local(2026, 11, 24));
  assert.deepEqual(promotionsFor(tuesday, existing), ["weekly"]);
  const afterTuesday = [...existing, tuesday, { ...tuesday, tier: "weekly" as const }];
  assert.deepEqual(promotionsFor(ref("daily", local(2026, 11, 25)), afterTuesday), []);
  // A daily backup in the week does not count as the week's weekly.
  assert.deepEqual(promotionsFor(ref("daily", local(2026, 11, 25)), [...existing, tuesday]), ["weekly"]);
});

test("the week turns at local Monday 00:00, not at UTC midnight", () => {
  const existing = [ref("weekly", local(2021, 1, 3, 23, 0)), ref("monthly", local(2021, 1, 1))]; // Sunday, 2020-W53
  assert.deepEqual(promotionsFor(ref("daily", local(2021, 1, 3, 23, 59, 59)), existing), []);
  assert.deepEqual(promotionsFor(ref("daily", local(2021, 1, 4, 0, 30)), existing), ["weekly"]); // 2021-01-03T23:30Z
});

test("the first backup of a new month is promoted to monthly", () => {
  // 2026-10-01 is a Thursday in 2026-W40, whose Monday (Sep 28) already has a weekly.
  const existing = [ref("daily", local(2026, 9, 30)), ref("weekly", local(2026, 9, 28)), ref("monthly", local(2026, 9, 1))];
  const oct1 = ref("daily", local(2026, 10, 1, 0, 0, 0)); // UTC: Sep 30 22:00
  assert.deepEqual(promotionsFor(oct1, existing), ["monthly"]);
  const after = [...existing, oct1, { ...oct1, tier: "monthly" as const }];
  assert.deepEqual(promotionsFor(ref("daily", local(2026, 10, 2)), after), []);
  assert.deepEqual(promotionsFor(ref("daily", local(2026, 9, 30, 23, 59, 59)), existing), []);
  // The very first backup, or a Monday that is also the 1st, gets both.
  assert.deepEqual(promotionsFor(ref("daily", local(2026, 1, 1)), []), ["weekly", "monthly"]);
  assert.deepEqual(promotionsFor(ref("daily", local(2026, 6, 1)), [ref("weekly", local(2026, 5, 25)), ref("monthly", local(2026, 5, 1))]), [
    "weekly",
    "monthly",
  ]);
});

test("a simulated year of nightly backups ends with 7 daily, 4 weekly and 12 monthly", () => {
  let set: BackupRef[] = [];
  let weeklyPromotions = 0;
  let monthlyPromotions = 0;
  for (let i = 0; i < 365; i++) {
    // 02:00 local every night. On 2025-03-30, 02:00 does not exist and the Date lands on 03:00 CEST.
    const time = local(2025, 1, 1 + i, 2, 0);
    const daily = ref("daily", time);
    const promoted = promotionsFor(daily, set);
    weeklyPromotions += promoted.includes("weekly") ? 1 : 0;
    monthlyPromotions += promoted.includes("monthly") ? 1 : 0;
    set.push(daily, ...promoted.map((tier) => ({ ...daily, tier })));
    const plan = planPrune(set, DEFAULT_POLICY, new Date(time.getTime() + 5 * MIN));
    const removed = new Set(plan.remove);
    set = set.filter((b) => !removed.has(b));
    // Tonight's backup survives in every tier it was written to.
    for (const tier of ["daily", ...promoted])
      assert.ok(
        set.some((b) => b.tier === tier && b.id === daily.id),
        `${tier}/${daily.id}`,
      );
  }
  const last = set.filter((b) => b.tier === "daily").at(-1);
  assert.equal(last?.id, "20251231-020000");
  // Every night is the first of its ISO week only on Mondays, plus 2025-01-01 (a Wednesday in
  // 2025-W01): 1 + the 52 Mondays from Jan 6 to Dec 29 (Dec 29 opens 2026-W01). One per month.
  assert.equal(weeklyPromotions, 53);
  assert.equal(monthlyPromotions, 12);

  const tier = (t: Tier) => set.filter((b) => b.tier === t).map((b) => b.id);
  // Daily, at 2025-12-31 02:05 CET: Dec 25–31 are 0–6 days (+5 min) old; Dec 24 turned exactly
  // 7 d 5 min old tonight and went. (No DST in December, so wall clock and instants agree.)
  assert.deepEqual(tier("daily"), [
    "20251225-020000",
    "20251226-020000",
    "20251227-020000",
    "20251228-020000",
    "20251229-020000",
    "20251230-020000",
    "20251231-020000",
  ]);
  // Weekly: the Mondays of December are Dec 1, 8, 15, 22, 29. Dec 1 02:00 is exactly 30 d 5 min
  // old tonight (both CET), so it expired (>= 30 days); Dec 8 is 23 d old. So 4, not 5.
  assert.deepEqual(tier("weekly"), ["20251208-020000", "20251215-020000", "20251222-020000", "20251229-020000"]);
  // Monthly: the 1st of each month, Jan 1 to Dec 1. 2025 is a common year, so Jan 1 02:00 is
  // 364 d 5 min old on Dec 31 (both CET): under 365 days, kept. Nothing earlier exists, so 12.
  assert.deepEqual(
    tier("monthly"),
    Array.from({ length: 12 }, (_, m) => `2025${String(m + 1).padStart(2, "0")}01-020000`),
  );
  assert.equal(set.length, 7 + 4 + 12);
});

test("around the spring DST change the daily tier briefly holds 8 backups, because ages are real", () => {
  // 2025-03-31 02:05 CEST is 00:05Z; 2025-03-24 02:00 CET is 01:00Z: 6 d 23 h 5 min, not yet 7 days.
  const days = Array.from({ length: 8 }, (_, i) => ref("daily", local(2025, 3, 24 + i)));
  const plan = planPrune(days, DEFAULT_POLICY, local(2025, 3, 31, 2, 5));
  assert.deepEqual(ids(plan.remove), []);
  assert.equal(days[6]?.id, "20250330-030000", "02:00 did not exist on 2025-03-30");
});

test("a backup dated in the future is kept, listed apart, and does not take the newest's protection from the real dailies", () => {
  const now = local(2026, 6, 20, 3, 0);
  const real = [ref("daily", local(2026, 6, 9)), ref("daily", local(2026, 6, 10))]; // 10 and 11 days old: the newest real one stays
  const planted = ref("daily", local(2027, 1, 1));
  const plan = planPrune([...real, planted], DEFAULT_POLICY, now);
  assert.deepEqual(ids(plan.remove), ["daily/20260609-020000"]);
  assert.deepEqual(ids(plan.keep), ["daily/20260610-020000", "daily/20270101-020000"]);
  assert.deepEqual(ids(plan.future ?? []), ["daily/20270101-020000"]);
  assert.equal(planPrune(real, DEFAULT_POLICY, now).future, undefined);
});
