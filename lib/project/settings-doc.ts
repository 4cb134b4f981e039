/**
 * What the table of settings says to people: the README's settings table (generated between
 * two marker comments) and the check that templates/.env.prod.example documents every
 * setting with its default. Pure text in, text or findings out.
 */
import { parse } from "dotenv";
import type { Setting } from "./setting-types.ts";
import { SETTINGS } from "./settings.ts";

export const TABLE_START = "<!-- settings:start -->";
export const TABLE_END = "<!-- settings:end -->";

const cell = (s: string) => s.replace(/\|/g, "\\|");

function defaultCell(s: Setting): string {
  if (s.required) return s.type === "password" ? "required (init-env generates it)" : "required";
  if (s.default !== undefined) return `\`${s.default}\``;
  return s.derivedDefault ?? "unset";
}

/** Pure: the README's settings table, one row per setting in the table's order. */
export function settingsTable(settings: readonly Setting[] = SETTINGS): string {
  const rows = settings.map((s) =>
    [`\`${s.name}\``, cell(s.shape), cell(defaultCell(s)), s.secret ? "yes" : "", s.shell ? "yes" : "", s.sections.join(", "), cell(s.doc)].join(
      " | ",
    ),
  );
  return [
    "| setting | type | default | secret | shell | read by | what it is |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r} |`),
  ].join("\n");
}

/** Pure: a README with the text between the settings markers replaced by the generated table; undefined without the markers. */
export function withSettingsTable(readme: string, settings: readonly Setting[] = SETTINGS): string | undefined {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) return undefined;
  return `${readme.slice(0, start + TABLE_START.length)}\n${settingsTable(settings)}\n${readme.slice(end)}`;
}

export interface TemplateFinding {
  key: string;
  /**
   * missing: no `KEY=` line; undocumented: no comment above it in its paragraph; default: its
   * value is not the default (a required key: empty; one without a default of its own: set);
   * derived: the paragraph does not name the key its default follows.
   */
  problem: "missing" | "undocumented" | "default" | "derived";
}

/** Pure: where the template (text of templates/.env.prod.example) disagrees with the table. */
export function templateFindings(template: string, settings: readonly Setting[] = SETTINGS): TemplateFinding[] {
  const values = parse(template);
  const lines = template.split(/\r?\n/);
  const findings: TemplateFinding[] = [];
  for (const s of settings) {
    const at = lines.findIndex((l) => l.startsWith(`${s.name}=`));
    if (at < 0) {
      findings.push({ key: s.name, problem: "missing" });
      continue;
    }
    const paragraph: string[] = [];
    for (let i = at - 1; i >= 0 && lines[i]!.trim() !== ""; i--) paragraph.push(lines[i]!);
    const comments = paragraph.filter((l) => l.startsWith("#")).join("\n");
    if (comments === "") findings.push({ key: s.name, problem: "undocumented" });
    const value = values[s.name] ?? "";
    const expected = s.required ? value !== "" : value === (s.default ?? "");
    if (!expected) findings.push({ key: s.name, problem: "default" });
    const follows = /`([A-Z][A-Z0-9_]*)`/.exec(s.derivedDefault ?? "")?.[1];
    if (follows && !new RegExp(`\\b${follows}\\b`).test(comments)) findings.push({ key: s.name, problem: "derived" });
  }
  return findings;
}
