/** English messages of lib/core: exit codes, errors, prompts, output, the lock (see ../index.ts). */
export const core = {
  exit: {
    ok: { short: "ok", meaning: "done" },
    failed: {
      short: "failed",
      meaning: "the operation failed (the message names the component and the reason); a restore that failed names the snapshot that undoes it",
    },
    usage: { short: "usage", meaning: "usage: unknown flag, bad argument, index out of range, no TTY to confirm on and no `-y`" },
    precondition: {
      short: "precondition (nothing touched)",
      meaning:
        "precondition, nothing was touched: `.env.prod` missing/unsafe/placeholder, Docker down, a service not running, not enough disk, no or the wrong key for an encrypted backup",
    },
    lockHeld: { short: "lock held", meaning: "another claw-ops run holds the lock (the message says which, since when, which pid)" },
    invalidBackup: {
      short: "invalid backup",
      meaning:
        "invalid backup: not a backup, corrupt or partial (checksum, age authentication), a component missing, a restore drill that does not match the manifest",
    },
    migrationsPending: {
      short: "migrations pending",
      meaning: "migrate.mts --status: the database is behind the image (revisions pending); nothing was changed",
    },
    databaseAhead: {
      short: "database ahead",
      meaning: "migrate.mts: the database is at a revision this image does not know (deploy the image that made it); nothing was changed",
    },
    cancelled: { short: "cancelled", meaning: "cancelled at a prompt" },
    sep: ", ",
    line: (p: { codes: string }) => `Exit codes: ${p.codes}.`,
  },
  errors: {
    usageHint: "run with --help to see the flags",
    cancelled: "cancelled",
    restoreMismatchHint: "the snapshot taken before the restore undoes it (see the undo line above)",
    killedBy: (p: { signal: string | undefined }) => `killed by ${p.signal ?? "a signal"}`,
    exitStatus: (p: { status: number }) => `exit ${p.status}`,
    timedOut: (p: { signal: string; secs: number }) => `${p.signal} (its ${p.secs} s time limit ran out)`,
    commandFailed: (p: { how: string; command: string; tail: string }) => `command failed (${p.how}): ${p.command}${p.tail ? ` — ${p.tail}` : ""}`,
    andThen: (p: { primary: string; cleanup: string }) => `${p.primary}; and then: ${p.cleanup}`,
    emptyCommand: "empty command",
  },
  prompts: {
    refuseNoTty: (p: { what: string }) => `refusing to ${p.what} without confirmation: no TTY to ask on`,
    refuseNoTtyHint: "run it again with -y (--yes) to confirm",
    cancelledNothingChanged: (p: { what: string }) => `${p.what}: cancelled, nothing was changed`,
    noTtyToChoose: "no TTY to choose on",
    noTtyToChooseHint: "give a backup index (see --list) or --backup <dir>",
    cancelledPlain: "cancelled, nothing was changed",
    refuseWithoutYes: (p: { what: string }) => `refusing to ${p.what} without -y`,
    refuseWithoutYesHint: (p: { tty: boolean }) => `run it again with -y${p.tty ? " (you will also type the name)" : ""}`,
    noTtyToAsk: (p: { question: string }) => `no TTY to ask on: ${p.question}`,
    required: "a value is needed",
    yes: "Yes",
    no: "No",
    typeToGoOn: (p: { question: string; expected: string }) => `${p.question} Type ${p.expected} to go on:`,
  },
  output: {
    stepStarted: (p: { title: string }) => `${p.title} …`,
    stepDone: (p: { title: string; secs: string }) => `${p.title}: done in ${p.secs}s`,
    stepSpinnerDone: (p: { title: string; secs: string }) => `${p.title} (${p.secs}s)`,
    stepFailed: (p: { title: string }) => `${p.title}: failed`,
  },
  lock: {
    cannotCreate: (p: { dir: string; reason: string }) => `cannot create the lock file in ${p.dir}: ${p.reason}`,
    cannotCreateHint: "run from the project directory, as a user that can write to it",
    waited: (p: { time: string }) => ` (waited ${p.time})`,
    unreadable: (p: { file: string; age: string; waited: string }) =>
      `another claw-ops run holds the lock: ${p.file} is unreadable and was modified ${p.age} ago${p.waited}`,
    unreadableHint: (p: { file: string }) => `wait a minute and try again; if no claw-ops run is active, remove ${p.file}`,
    elsewhere: " (it runs on another machine: check there)",
    otherNamespace:
      " (it runs in another PID namespace or boot of a machine named like this one, e.g. a container: its pid cannot be checked from here)",
    held: (p: { script: string; purpose: string; pid: number; host: string; since: string; waited: string }) =>
      `another claw-ops run holds the lock: ${p.script} (${p.purpose}) pid ${p.pid} on host ${p.host} since ${p.since}${p.waited}`,
    heldHint: (p: { elsewhere: string; file: string }) => `wait for it to finish${p.elsewhere}; if that process is gone, remove ${p.file}`,
    ms: (p: { n: number }) => `${p.n} ms`,
    s: (p: { n: number }) => `${p.n} s`,
  },
};
