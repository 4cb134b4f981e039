// Architecture rules for claw-ops, checked by `npm run lint:arch`
// (depcruise lib scripts --config .dependency-cruiser.cjs). Every rule is an error: any violation fails the run.
//
// Layers of lib/, lowest first. A module may import its own layer and the layers below it, never a layer above.
// Layers on the same level are siblings and must not import each other. migrate sits below deploy: a deploy's
// migration phase runs the migrate engine.
/** @type {string[][]} */
const LAYERS = [["core"], ["commands"], ["infra"], ["project"], ["backup"], ["restore"], ["migrate"], ["deploy"], ["cli"]];

const ALL_LAYERS = LAYERS.flat();
const folders = (names) => `^lib/(${names.join("|")})/`;
const NODE_BUILTIN = (names) => `^(node:)?(${names.join("|")})(/|$)`;
const ZX = "(^|/)node_modules/zx/|^zx(/|$)"; // resolved into node_modules, or the bare name if it is not installed

const layerRules = LAYERS.flatMap((level, i) => {
  const above = LAYERS.slice(i + 1).flat();
  return level.flatMap((layer) => [
    ...(above.length === 0
      ? []
      : [
          {
            name: `${layer}-imports-nothing-above`,
            comment: `lib/${layer} is layer ${i + 1} of ${LAYERS.length}; it may import only its own layer or lower ones (${LAYERS.slice(0, i + 1).flat().join(", ")}), not ${above.join(", ")}.`,
            severity: "error",
            from: { path: folders([layer]) },
            to: { path: folders(above) },
          },
        ]),
    ...level
      .filter((sibling) => sibling !== layer)
      .map((sibling) => ({
        name: `${layer}-does-not-import-sibling-${sibling}`,
        comment: `lib/${layer} and lib/${sibling} are on the same layer; they must not import each other (move what they share into a lower layer).`,
        severity: "error",
        from: { path: folders([layer]) },
        to: { path: folders([sibling]) },
      })),
  ]);
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "Circular dependencies in lib/ or scripts/ are not allowed (type-only imports count too).",
      severity: "error",
      from: { path: "^(lib|scripts)/" },
      to: { circular: true },
    },
    ...layerRules,
    {
      name: "lib-module-outside-any-layer",
      comment: `Every module in lib/ lives in one of the layer folders (${ALL_LAYERS.join(", ")}); a module outside them escapes the layer rules.`,
      severity: "error",
      from: {},
      to: { path: "^lib/", pathNot: folders(ALL_LAYERS) },
    },
    {
      name: "commands-import-only-core-errors-and-secret",
      comment:
        "lib/commands modules are pure argv builders: from lib/core they may import only errors.ts, secret.ts, the message catalogues (i18n/: lookups, no I/O) and the domain vocabulary (vocabulary/: names, patterns, pure).",
      severity: "error",
      from: { path: "^lib/commands/" },
      to: { path: "^lib/core/", pathNot: "^lib/core/((errors|secret)\\.ts|i18n/|vocabulary/)" },
    },
    {
      name: "vocabulary-does-no-io",
      comment: "lib/core/vocabulary holds the domain's words (names, patterns, their parse and format): pure, which is why lib/commands may import it.",
      severity: "error",
      from: { path: "^lib/core/vocabulary/" },
      to: { path: [NODE_BUILTIN(["child_process", "fs"]), ZX] },
    },
    {
      name: "commands-do-no-io",
      comment: "lib/commands modules are pure argv builders: no node:child_process, node:fs or zx (they build argv, lib/core/exec.ts runs it).",
      severity: "error",
      from: { path: "^lib/commands/" },
      to: { path: [NODE_BUILTIN(["child_process", "fs"]), ZX] },
    },
    {
      name: "scripts-import-only-cli",
      comment: "scripts/*.mts are thin entry points: they may import only lib/cli/** and node builtins.",
      severity: "error",
      from: { path: "^scripts/" },
      to: { pathNot: "^lib/cli/", dependencyTypesNot: ["core"] },
    },
    {
      name: "only-cli-prints-results",
      comment: "A --json run's document is printed by the CLI only (lib/cli/result.ts); lib/ below it returns outcomes, and scripts/ call the CLI.",
      severity: "error",
      from: { pathNot: "^lib/cli/" },
      to: { path: "^lib/cli/result\\.ts$" },
    },
    {
      name: "only-exec-imports-zx",
      comment: "Only lib/core/exec.ts may import zx (tests/ and bench/ are not checked by this rule).",
      severity: "error",
      from: { path: "^(lib|scripts)/", pathNot: "^lib/core/exec\\.ts$" },
      to: { path: ZX },
    },
    {
      name: "only-exec-imports-child-process",
      comment: "In lib/, only lib/core/exec.ts may import node:child_process; everything else runs processes through it.",
      severity: "error",
      from: { path: "^lib/", pathNot: "^lib/core/exec\\.ts$" },
      to: { path: NODE_BUILTIN(["child_process"]) },
    },
    {
      name: "no-imports-of-tests-or-bench",
      comment: "lib/ and scripts/ must never import tests/ or bench/ (the other way round is fine).",
      severity: "error",
      from: { path: "^(lib|scripts)/" },
      to: { path: "^(tests|bench)/" },
    },
    {
      name: "no-unresolvable-imports",
      comment: "An import that does not resolve would silently escape every rule above.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Do not descend into packages; they still appear as dependencies (so the zx rules see them).
    doNotFollow: { path: "node_modules" },
    // Keep `import type` and type-only re-exports in the graph: a type import from a higher layer is still a layer violation.
    tsPreCompilationDeps: true,
    // The project's tsconfig (NodeNext, allowImportingTsExtensions) so `./x.ts` imports resolve like tsc resolves them.
    tsConfig: { fileName: "tsconfig.json" },
    // Also catch process.getBuiltinModule("node:child_process") and friends.
    detectProcessBuiltinModuleCalls: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
      extensions: [".ts", ".mts", ".cts", ".d.ts", ".js", ".mjs", ".cjs", ".json"],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
