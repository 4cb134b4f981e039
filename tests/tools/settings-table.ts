/**
 * `npm run docs:settings`: writes the README's settings table (between its settings marker
 * comments) from the table of settings in lib/project/settings.ts. A unit test fails while
 * the README's table differs from what this writes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TABLE_END, TABLE_START, withSettingsTable } from "../../lib/project/settings-doc.ts";

const README = join(import.meta.dirname, "../../README.md");
const before = readFileSync(README, "utf8");
const after = withSettingsTable(before);
if (after === undefined) {
  process.stderr.write(`README.md has no ${TABLE_START} … ${TABLE_END} section\n`);
  process.exit(1);
}
if (after !== before) writeFileSync(README, after);
process.stderr.write(after === before ? "README.md: settings table up to date\n" : "README.md: settings table written\n");
