/**
 * The shape of lib/: files per folder, the biggest files, the longest functions. Used by the
 * size rule's unit test (tests/unit/architecture/size.test.ts) and printed by
 * `npx tsx tests/tools/structure.ts [--top N]` for a closing note's before/after.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

export const LIB = join(import.meta.dirname, "../../lib");
/** The size rule of issue 20: no file in lib/ over this many lines … */
export const MAX_FILE_LINES = 400;
/** … and no function over this many. */
export const MAX_FUNCTION_LINES = 60;

export interface FileSize {
  file: string;
  lines: number;
}
export interface FunctionSize {
  file: string;
  name: string;
  line: number;
  lines: number;
}

export function libFiles(dir = LIB): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

const lineCount = (text: string) => text.split("\n").length - (text.endsWith("\n") ? 1 : 0);

export function fileSizes(files = libFiles()): FileSize[] {
  return files.map((f) => ({ file: relative(join(LIB, ".."), f), lines: lineCount(readFileSync(f, "utf8")) }));
}

/** Every function, method, arrow function and function expression with a body, by its lines (first to last). */
export function functionSizes(files = libFiles()): FunctionSize[] {
  const out: FunctionSize[] = [];
  for (const f of files) {
    const src = ts.createSourceFile(f, readFileSync(f, "utf8"), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node, owner: string) => {
      let name = owner;
      if (ts.isFunctionLike(n) && "body" in n && n.body) {
        name = functionName(n, owner);
        const start = src.getLineAndCharacterOfPosition(n.getStart(src)).line;
        const end = src.getLineAndCharacterOfPosition(n.getEnd()).line;
        out.push({ file: relative(join(LIB, ".."), f), name, line: start + 1, lines: end - start + 1 });
      } else if (ts.isClassDeclaration(n) && n.name) name = n.name.text;
      ts.forEachChild(n, (c) => visit(c, name));
    };
    visit(src, "");
  }
  return out;
}

function functionName(n: ts.SignatureDeclaration, owner: string): string {
  const own = n.name && (ts.isIdentifier(n.name) || ts.isStringLiteral(n.name)) ? n.name.text : undefined;
  const parent = n.parent;
  const bound =
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && ts.isIdentifier(parent.name)
      ? parent.name.text
      : undefined;
  const name = own ?? bound ?? "(anonymous)";
  return owner && (ts.isMethodDeclaration(n) || ts.isPropertyAssignment(parent) || !own) ? `${owner}.${name}` : name;
}

export function folderCounts(files = libFiles()): Array<{ folder: string; files: number; lines: number }> {
  const m = new Map<string, { files: number; lines: number }>();
  for (const { file, lines } of fileSizes(files)) {
    const folder = file.split("/").slice(0, 2).join("/");
    const e = m.get(folder) ?? { files: 0, lines: 0 };
    m.set(folder, { files: e.files + 1, lines: e.lines + lines });
  }
  return [...m].map(([folder, e]) => ({ folder, ...e })).sort((a, b) => a.folder.localeCompare(b.folder));
}

if (process.argv[1]?.endsWith("structure.ts")) {
  const top = Number(process.argv[process.argv.indexOf("--top") + 1]) || 10;
  const files = libFiles();
  const sizes = fileSizes(files);
  const print = (s: string) => process.stdout.write(`${s}\n`);
  print(`lib/: ${files.length} files, ${sizes.reduce((a, s) => a + s.lines, 0)} lines`);
  for (const f of folderCounts(files)) print(`  ${f.folder.padEnd(14)} ${String(f.files).padStart(3)} files ${String(f.lines).padStart(6)} lines`);
  print(`\nbiggest files:`);
  for (const s of sizes.sort((a, b) => b.lines - a.lines).slice(0, top)) print(`  ${String(s.lines).padStart(5)}  ${s.file}`);
  print(`\nlongest functions:`);
  for (const s of functionSizes(files)
    .sort((a, b) => b.lines - a.lines)
    .slice(0, top))
    print(`  ${String(s.lines).padStart(5)}  ${s.name}  (${s.file}:${s.line})`);
}
