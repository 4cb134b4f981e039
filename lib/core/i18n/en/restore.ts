/** English messages of lib/restore (see ../index.ts for the rules). */
import { operatorCommand, SCRIPTS } from "../../vocabulary/scripts.ts";
export const restore = {
  plan: {
    notEncrypted: (p: { id: string }) =>
      `backup ${p.id} is not encrypted, but this set-up encrypts its backups (BACKUP_AGE_RECIPIENTS / BACKUP_ENCRYPTION_KEY)`,
    notEncryptedHint: "if you know it is a backup made before encryption was turned on, pass --allow-plaintext",
    /** The labels of the printed plan, padded to one column by displayWidth. */
    labels: {
      backup: "backup:",
      restore: "restore:",
      leaveAsIs: "leave as is:",
      config: "config:",
      release: "release:",
      stopStart: "stop/start:",
      snapshot: "snapshot:",
    },
    backup: (p: { id: string; dir: string }) => `${p.id} (${p.dir})`,
    backupEncrypted: (p: { id: string; dir: string }) => `${p.id} (${p.dir}), encrypted (age): the key fits`,
    nothing: "nothing",
    none: "none",
    configRestored: "restored (.env.prod, compose, nginx, prometheus, grafana, loki)",
    configNotRestored: "not restored",
    releaseChanges: (p: { from: string; to: string }) => `${p.from} -> ${p.to}`,
    releaseUnchanged: (p: { from: string }) => `${p.from} (unchanged)`,
    /** The restored .env.prod holds another CLAW_AI_TAG than the live one. */
    releaseSwitch: (p: { from: string; to: string }) => `this switches the release from ${p.from} to ${p.to}`,
    snapshot: (p: { tier: string }) =>
      `backups/${p.tier}/<now> first, holding everything that will be overwritten (data kept in place, renamed, where it can be)`,
  },
  flow: {
    checking: "checking the backup (manifest and checksums)",
    confirmRollback: (p: { components: string; id: string }) => `Roll back ${p.components} to ${p.id}? Current data will be replaced.`,
    confirmRestore: (p: { components: string; id: string }) => `Restore ${p.components} to ${p.id}? Current data will be replaced.`,
    /** What confirmOrRefuse refuses or cancels. */
    whatRollback: "roll back",
    whatRestore: "restore",
    finishingKeepsUndo: "the undo record (rollback.mts --undo) keeps the snapshot the interrupted run took: the state before it",
    /** Each component's result, as the summary shows it (the --json results keep the English values). */
    results: {
      restored: "restored",
      skipped: "skipped",
      failed: "failed",
      notReached: "not reached",
    },
    backendDown: (p: { secs: string }) => `backend down for ${p.secs} s (stopped → healthy again)`,
    stateBefore: (p: { event: "restore" | "rollback"; snapshot: string; command: string }) =>
      `the state before this ${p.event} is in ${p.snapshot}; undo with ${p.command}`,
    done: (p: { event: "restore" | "rollback"; id: string }) => `${p.event} from ${p.id} done`,
  },
  apply: {
    removedOneOffs: (p: { count: number }) => `removed ${p.count} one-off container(s) left by a run that was killed`,
    snapshotStep: (p: { tier: string }) => `snapshot of the current state (${p.tier})`,
    snapshotStepInPlace: (p: { tier: string; kept: string }) => `snapshot of the current state (${p.tier}; ${p.kept} kept in place)`,
    undoWith: (p: { command: string }) => `undo with: ${p.command}`,
    nginxUnchecked: (p: { message: string }) => `could not check which backend nginx serves: ${p.message}`,
    recordNotWritten: (p: { message: string }) => `the restore is done, but its record (backups/restore-run.json) could not be updated: ${p.message}`,
    adopted: (p: { components: string; id: string }) => `${p.components}: kept in ${p.id}, the snapshot of a restore that died before replacing them`,
    unmoved: (p: { component: string; why: string }) => `${p.component}: ${p.why}: nothing to restore`,
    prepareStep: (p: { component: string }) => `prepare ${p.component} (beside the live data)`,
    restoreStep: (p: { component: string }) => `restore ${p.component}`,
    freezeStep: (p: { component: string }) => `stop ${p.component} and record it (in-place snapshot)`,
    startStep: (p: { services: string }) => `start ${p.services}`,
    /** The placeholder of --identity in a printed command. */
    ageKeyFile: "<your age key file>",
  },
  undo: {
    nothingToUndo: "there is no rollback or restore to undo yet",
    nothingToUndoHint: "see the snapshots with --list",
    notReadable: (p: { file: string }) => `${p.file} is not readable`,
    namesNoSnapshot: (p: { file: string }) => `${p.file} does not name a snapshot`,
    pickYourselfHint: "pick the snapshot yourself: rollback.mts --backup backups/pre-rollback/<id> -y (see --list)",
  },
  space: {
    notEnough: (p: { path: string; places: string; needMB: number; freeMB: number }) =>
      `not enough free space on the file system of ${p.path} (${p.places}): this restore needs about ${p.needMB} MB there, ${p.freeMB} MB is free; nothing was touched`,
    notEnoughHint:
      "free space there (old snapshots: backup.mts --prune; `docker system df` shows Docker's use), or restore fewer components (--skip-*), then run it again",
    place: { backups: "backups: decrypted copy and snapshot", uploads: "the uploads' staged copy", docker: "Docker's volumes: the staged data" },
  },
  runLock: {
    toFinish: (p: { command: string }) => `to finish it: ${p.command}`,
    deployGoBack: `to go back to the release that served before it instead: ${operatorCommand(SCRIPTS.deploy, ["--rollback-release"])}`,
    migrateStatus: `run ${operatorCommand(SCRIPTS.migrate, ["--status"])}: it says where the database is and what is pending`,
    diedBeforeSnapshot: "it died before its safety snapshot was complete (or before it was confirmed): the live data was not touched",
    finishAgain: (p: { event: "restore" | "rollback" }) => `to finish it, run the same ${p.event} again, naming the backup by its directory`,
    undoInstead: (p: { command: string }) => `to undo it instead: ${p.command}`,
    undoInsteadEncrypted: (p: { command: string }) =>
      `to undo it instead: ${p.command} (add --identity <your age key file> unless .env.prod holds BACKUP_ENCRYPTION_KEY)`,
    previousDied: (p: { script: string; purpose: string; pid: number; startedAt: string }) =>
      `a previous ${p.script} run (${p.purpose}, pid ${p.pid}, started ${p.startedAt}) died before it finished; its lock was recovered`,
  },
  cli: {
    rollback: {
      listTakesNoFlag: (p: { flag: string }) => `--list takes no ${p.flag}`,
      listTakesNoIndex: "--list takes no index",
      indexAndBackup: "give either an index or --backup <dir>, not both",
      undoTakesNoTarget: "--undo names its own snapshot: give no index and no --backup",
      allSkipped: "nothing to roll back: all five --skip-* flags were given",
      undoTakesNoSkips: "--undo restores what its snapshot holds: it takes no --skip-* flags",
      indexNotNumber: (p: { given: string }) => `backup index must be a number, got ${p.given}`,
      seeIndexes: "see the indexes with --list",
      noBackups: "there are no backups yet",
      noBackupsHint: "take one with backup.mts",
      indexOutOfRange: (p: { index: number; count: number }) => `no backup with index ${p.index} (there are ${p.count})`,
      pickQuestion: "Roll back to which backup?",
      pickLabel: (p: { index: number; id: string; tiers: string }) => `${p.index}. ${p.id} (${p.tiers})`,
      pickHint: (p: { size: string; release: string; components: string }) => `${p.size}, ${p.release}, ${p.components}`,
      missingComponent: (p: { id: string; components: string }) => `backup ${p.id} has no ${p.components} component`,
      missingComponentHint: (p: { flag: string }) => `roll back the rest with --${p.flag}`,
    },
  },
};
