/** English messages of lib/backup/components (see ../index.ts for the rules). */

/** How a check of an in-place snapshot says that its data was never moved aside (see Component.unmoved). */
const UNMOVED = "not moved aside: the restore that took this snapshot died before replacing it, so the live data is this state";

/** What an uploads tree is counted in (the counts' keys, read as English words). */
type UploadsUnit = "files" | "dirs" | "symlinks" | "bytes";

export const components = {
  common: {
    /** An archive entry (its JSON-quoted path) and why it is refused. */
    entry: (p: { path: string; why: string }) => `${p.path}: ${p.why}`,
    /** Between the items of a list (file names, figures). */
    listSep: ", ",
    /** Between the first few differences of a check. */
    diffSep: "; ",
    none: "none",
    inArchiveTwice: "in the archive twice",
    useAnotherBackup: "use another backup (see --list)",
    unmoved: UNMOVED,
    /** An in-place snapshot (its name) whose data was never moved aside. */
    unmovedAt: (p: { what: string }) => `${p.what} ${UNMOVED}`,
  },
  config: {
    why: {
      nul: "a NUL byte in its name",
      absolute: "an absolute path",
      oddSegment: "a `..`, `.` or empty name in its path",
      tooLong: "a name too long to write",
      notConfigDir: "a directory config backups are not made of",
      notRegular: (p: { type: string }) => `a ${p.type} entry (only regular files are restored)`,
      notConfigFile: "not a file config backups are made of",
      beneathFile: "beneath a file of the archive",
      fileWithEntriesBeneath: "a file, and the archive has entries beneath it",
    },
    notReadable: (p: { file: string; code: string }) => `config: ${p.file} is not a readable tar archive (${p.code})`,
    refusedEntry: (p: { file: string; entry: string }) => `config: ${p.file} holds an entry a config restore must not write: ${p.entry}`,
    cannotUnpack: (p: { file: string; code: string }) => `config: could not unpack ${p.file} into a scratch directory (${p.code})`,
    noCounts: "config: the manifest record has no counts",
    filesNotWhole: "config: the manifest's counts.files is not a whole number",
    countDiffers: (p: { files: number; want: number }) => `config: archive holds ${p.files} files, the manifest ${p.want}`,
    rootUnresolved: (p: { root: string; code: string }) => `config: the project directory ${p.root} cannot be resolved (${p.code})`,
    cannotInspect: (p: { sub: string; code: string; rel: string }) =>
      `config: cannot inspect ${p.sub} in the project (${p.code}), so ${p.rel} cannot be restored safely`,
    isDirectory: (p: { rel: string }) => `config: ${p.rel} is a directory in the project; the backup holds a file there`,
    danglingLink: (p: { sub: string; code: string }) =>
      `config: ${p.sub} is a symlink that does not resolve (${p.code}: a loop or a missing target); a restore would write through it`,
    linkOutside: (p: { sub: string; real: string; root: string }) =>
      `config: ${p.sub} is a symlink to ${p.real}, outside the project ${p.root}; a restore would write through it`,
    linkHint: "replace the link with a real directory, or leave config out (--skip-config)",
    notDirectory: (p: { sub: string; rel: string }) => `config: ${p.sub} is not a directory in the project, so ${p.rel} cannot be restored`,
    cannotWrite: (p: { rel: string; code: string }) => `config: could not write ${p.rel} (${p.code})`,
    cannotScratch: (p: { root: string; code: string }) => `config: cannot make a scratch directory under ${p.root}/backups (${p.code})`,
    envRefused: (p: { why: string }) => `config: the backup's .env.prod would be refused by today's checks (${p.why})`,
    envRefusedHint: "roll back the rest with rollback.mts --backup <dir> --skip-config, then fix .env.prod by hand",
    noFiles: (p: { root: string }) => `config: no configuration file found in ${p.root}`,
    drillDiffer: (p: { files: number; changed: string }) => `${p.files} files extract cleanly; differ from the live ones: ${p.changed}`,
    drillEqual: (p: { files: number }) => `${p.files} files extract cleanly; all equal the live ones`,
    restored: (p: { files: string }) => `config: restored ${p.files}`,
    noneDiffered: "config: no file differed",
  },
  postgres: {
    noDump: "postgres: no dump file in the manifest",
    countDiff: (p: { table: string; expected: string | number; got: string | number }) => `${p.table}: expected ${p.expected}, got ${p.got}`,
    halfSwapped: (p: { db: string }) =>
      `postgres: database ${p.db} was left half-swapped by a restore that died; put back as it was before that restore`,
    keptByDead: (p: { kept: string }) => `postgres: what a restore that died had swapped out is kept as its in-place snapshot: ${p.kept}`,
    leftovers: (p: { leftovers: string }) =>
      `postgres: ${p.leftovers} left by a restore that died (the state before it); drop when no longer needed: DROP DATABASE …`,
    cannotDecode: "postgres: pg_restore cannot decode the data in the dump",
    dumpDamaged: "the dump is damaged",
    dumpFailed: (p: { reason: string }) => `postgres: pg_dump failed: ${p.reason}`,
    dumpFailedHint: "is the postgres service running? docker compose ps postgres",
    cannotRead: (p: { file: string }) => `postgres: pg_restore cannot read ${p.file}`,
    cannotReadHint: "the dump is damaged; use another backup",
    drillFailed: (p: { reason: string }) => `postgres: the dump does not restore into a fresh database: ${p.reason}`,
    drillCountsDiffer: (p: { diffs: string }) => `postgres: restored row counts differ from the manifest: ${p.diffs}`,
    drilled: (p: { tables: number; rows: number }) => `restored into a throwaway database: ${p.tables} tables, ${p.rows} rows, as in the manifest`,
    keptGone: (p: { kept: string }) => `postgres: the in-place snapshot ${p.kept} is no longer in the server`,
    restoredCountsDiffer: (p: { diffs: string }) => `restored row counts differ from the backup: ${p.diffs}`,
    swapCountsDiffer: (p: { diffs: string }) => `row counts after the swap differ: ${p.diffs}`,
    keptDiffers: (p: { kept: string; diffs: string }) => `postgres: the in-place snapshot ${p.kept} differs from its record: ${p.diffs}`,
    keptOk: (p: { kept: string; tables: number; rows: number }) => `kept in place as ${p.kept}: ${p.tables} tables, ${p.rows} rows, as recorded`,
  },
  redis: {
    bgsaveRefused: (p: { reply: string }) => `redis: BGSAVE was not accepted: ${p.reply}`,
    bgsaveFailed: "redis: BGSAVE failed (rdb_last_bgsave_status:err)",
    bgsaveFailedHint: "check disk space and `docker compose logs redis`",
    bgsaveSlow: "redis: BGSAVE did not finish in time",
    copyBad: "redis: the copied RDB does not pass redis-check-rdb",
    noRdb: "redis: no RDB in the manifest",
    checkFailed: (p: { file: string; keys: number; want: number | undefined }) =>
      `redis: ${p.file} fails redis-check-rdb or holds ${p.keys} keys instead of ${p.want}`,
    cannotLoad: (p: { file: string; reason: string }) => `redis: a fresh redis-server cannot load ${p.file}: ${p.reason}`,
    loadedDiffer: (p: { loaded: number; want: number | undefined }) =>
      `redis: a fresh redis-server loaded ${p.loaded} keys, the manifest says ${p.want}`,
    drilled: (p: { loaded: number; dbs: number; keys: number | undefined; expires: number }) =>
      `loaded by a throwaway redis-server: ${p.loaded} keys in ${p.dbs} db(s) (manifest ${p.keys}, ${p.expires} with a TTL)`,
    stagedDiffer: (p: { keys: string; want: number }) => `the staged data holds ${p.keys} keys; the backup ${p.want}`,
    restoredDiffer: (p: { keys: number; want: number }) => `restored ${p.keys} keys; the backup holds ${p.want}`,
    keptOk: (p: { kept: string; files: number; bytes: number; keys: number }) =>
      `kept in place as ${p.kept}: ${p.files} files / ${p.bytes} bytes (${p.keys} keys when kept), as recorded`,
  },
  milvus: {
    notSnapshot: (p: { file: string }) => `milvus: ${p.file} is not a valid etcd snapshot`,
    snapshotDiffers: (p: { file: string }) => `milvus: ${p.file} hash or revision differs from the manifest`,
    etcdDrillFailed: (p: { file: string; reason: string }) => `milvus: ${p.file} does not restore into a fresh etcd: ${p.reason}`,
    etcdKeysDiffer: (p: { file: string; keys: number; want: number | undefined }) =>
      `milvus: a fresh etcd restored from ${p.file} holds ${p.keys} keys, the manifest ${p.want}`,
    /** `which`: "MinIO" or "Milvus". */
    archiveDiffers: (p: { which: string; files: number; bytes: number; wantFiles: number | undefined; wantBytes: number | undefined }) =>
      `milvus: the ${p.which} archive gives ${p.files} files / ${p.bytes} bytes, the manifest ${p.wantFiles} / ${p.wantBytes}`,
    drilled: (p: { keys: number; minioFiles: number; minioBytes: number; milvusFiles: number; milvusBytes: number }) =>
      `etcd restored and started in a throwaway container with ${p.keys} keys; MinIO started ready on ${p.minioFiles} files / ${p.minioBytes} bytes; Milvus volume ${p.milvusFiles} files / ${p.milvusBytes} bytes: all as in the manifest`,
    /** `which`: "MinIO" or "Milvus". */
    volume: (p: { which: string }) => `${p.which} volume`,
    etcdKeysAfter: (p: { keys: number; want: number | undefined }) => `etcd holds ${p.keys} keys after restore, the backup ${p.want}`,
    keptPart: (p: { part: string; files: number; bytes: number }) => `${p.part} ${p.files} files / ${p.bytes} bytes`,
    keptPartUnmoved: (p: { part: string }) => `${p.part} not moved aside (live is this state)`,
    keptOk: (p: { kept: string; parts: string; keys: number | undefined }) =>
      `kept in place as ${p.kept} in the etcd, MinIO and Milvus volumes: ${p.parts}, as recorded (${p.keys} etcd keys when kept)`,
  },
  volume: {
    noDataVolume: (p: { service: string }) => `service ${p.service} has no named data volume in the compose file`,
    drillFailed: (p: { service: string; reason: string }) => `${p.service}: the volume archive does not extract and start cleanly: ${p.reason}`,
    badArchiveName: (p: { name: string }) => `unexpected archive name ${p.name}`,
    stageRefused: (p: { service: string; reason: string }) => `${p.service}: ${p.reason}; the live data is untouched`,
    keptDataGone: "the snapshot's data is gone; use another backup",
    stageFailed: (p: { service: string; reason: string }) =>
      `${p.service}: staging the restored data failed: ${p.reason}; the live data is untouched`,
    keptUnreadable: (p: { service: string; kept: string; reason: string }) =>
      `${p.service}: could not read the in-place snapshot ${p.kept}: ${p.reason}`,
    keptGone: (p: { what: string }) => `${p.what}: the in-place snapshot is no longer in the volume`,
    keptNoFingerprint: (p: { what: string }) =>
      `${p.what}: the in-place snapshot has no recorded fingerprint (the restore that made it died while moving the data aside)`,
    keptChanged: (p: { what: string; files: number; bytes: number; wantFiles: number; wantBytes: number }) =>
      `${p.what}: the in-place snapshot holds ${p.files} files / ${p.bytes} bytes, not the ${p.wantFiles} / ${p.wantBytes} it was made with, or its files changed`,
    statsDiffer: (p: { what: string; files: number; bytes: number; wantFiles: number | undefined; wantBytes: number | undefined }) =>
      `${p.what} holds ${p.files} files / ${p.bytes} bytes after restore, the backup ${p.wantFiles} / ${p.wantBytes}`,
  },
  uploads: {
    cannotInspect: (p: { dir: string; code: string }) => `uploads: cannot inspect ${p.dir} (${p.code})`,
    danglingLink: (p: { dir: string; code: string }) =>
      `uploads: ${p.dir} is a symlink that does not resolve (${p.code}: a loop or a missing target)`,
    danglingLinkHint: "point the link at the uploads directory, or leave uploads out (--skip-uploads)",
    /** `target`: where the link points, when dir is one. */
    notDirectory: (p: { dir: string; target: string | undefined }) =>
      `uploads: ${p.dir}${p.target === undefined ? "" : ` (-> ${p.target})`} is not a directory`,
    unsafe: {
      nul: "a NUL byte in the name",
      absolute: "absolute path",
      escapes: "path escapes the directory",
      nameTooLong: (p: { max: number }) => `a name longer than ${p.max} bytes`,
      pathTooLong: "a path too long to extract",
      linkWithoutTarget: "link without target",
      hardLinkEscapes: "hard link escapes the directory",
      symlinkAbsolute: "symlink to an absolute path",
      symlinkDotDot: "symlink with `..` in its target",
      unsupportedType: (p: { type: string }) => `unsupported entry type ${p.type}`,
      secondTop: "a second top entry",
      topNotDirectory: (p: { type: string }) => `the top entry is a ${p.type}, not a directory`,
      noTopFirst: "the archive does not start with its top directory (./)",
      parentMissing: (p: { parent: string }) => `its directory ${p.parent} is not an earlier entry of the archive`,
      beneathSymlink: (p: { parent: string }) => `beneath ${p.parent}, a symlink of the archive`,
      beneathFile: (p: { parent: string }) => `beneath ${p.parent}, a file of the archive`,
      badHardLink: "a hard link to something that is not an earlier file of the archive",
      empty: "the archive holds no entry, not even its top directory (./)",
      more: (p: { n: number }) => `… and ${p.n} more`,
    },
    /** A figure of an uploads tree: `what` is the counts' key and, in English, its unit. */
    count: (p: { n: number | undefined; what: UploadsUnit }) => `${p.n} ${p.what}`,
    archivedNothing: (p: { dir: string; files: number; symlinks: number; dirs: number }) =>
      `uploads: the archive of ${p.dir} holds nothing, but the directory holds ${p.files} files, ${p.symlinks} symlinks and ${p.dirs} directories`,
    noCounts: "uploads: the manifest record has no counts",
    countNotWhole: (p: { key: string }) => `uploads: the manifest's counts.${p.key} is not a whole number`,
    scratchNameClash: "uploads: the archive holds an entry named like a scratch directory of this restore; the live uploads are untouched",
    moveAsidePartly: (p: { code: string; old: string }) => `uploads: could not move the live uploads aside (${p.code}); some of them are in ${p.old}`,
    moveAsideUndone: (p: { code: string }) => `uploads: could not move the live uploads aside (${p.code}); they are as they were`,
    moveInFailed: (p: { real: string; code: string; old: string }) =>
      `uploads: could not move the restored uploads into ${p.real} (${p.code}); the previous ones are in ${p.old}`,
    moveInFailedHint: "the snapshot taken before the restore undoes it (see the undo line above)",
    movedBack: (p: { name: string }) => `moved back what ${p.name} held`,
    notOurs: (p: { name: string }) =>
      `${p.name} left alone: not a directory but a link (the uploads directory is writable by the app's containers: never followed)`,
    finishedSwap: (p: { name: string }) => `finished the swap of ${p.name}`,
    notATag: (p: { tag: string }) => `internal: ${p.tag} is not a snapshot tag`,
    notReadable: (p: { file: string; reason: string }) => `uploads: ${p.file} is not a readable tar archive (${p.reason})`,
    unsafeEntry: (p: { entry: string; more: number }) => `uploads: unsafe archive entry ${p.entry}${p.more > 0 ? ` (${p.more} more)` : ""}`,
    archiveHolds: (p: { count: string; want: number }) => `uploads: archive holds ${p.count}, the manifest ${p.want}`,
    notExtracting: (p: { reason: string }) => `uploads: the archive does not extract cleanly (${p.reason})`,
    /** One figure that differs: what was extracted, what the manifest says. */
    vsManifest: (p: { count: string; want: number }) => `${p.count} (manifest ${p.want})`,
    extracted: (p: { figures: string }) => `uploads: extracted ${p.figures}`,
    drilled: (p: { files: number; dirs: number; symlinks: number; bytes: number }) =>
      `extracted into a scratch directory: ${p.files} files, ${p.dirs} directories, ${p.symlinks} symlinks, ${p.bytes} bytes, as in the manifest`,
    halfSwapped: (p: { what: string }) => `uploads: a restore that died left them half-swapped: ${p.what}`,
    extractionFailed: (p: { reason: string }) => `uploads: extraction failed (${p.reason}); the live uploads are untouched`,
    settleFailed: (p: { code: string }) =>
      `uploads: could not set owners and modes of the extracted uploads (${p.code}); the live uploads are untouched`,
    extractedUntouched: (p: { figures: string }) => `uploads: extracted ${p.figures}; the live uploads are untouched`,
    nothingStaged: "uploads: nothing was staged for this restore",
    keptGone: (p: { kept: string }) => `uploads: the in-place snapshot ${p.kept} is gone`,
    /** One figure that differs: what the in-place snapshot holds, what was recorded. */
    vsRecorded: (p: { count: string; want: number }) => `${p.count} (recorded ${p.want})`,
    keptDiffers: (p: { kept: string | undefined; figures: string }) => `uploads: the in-place snapshot ${p.kept} holds ${p.figures}`,
    keptOk: (p: { kept: string | undefined; files: number; dirs: number; symlinks: number; bytes: number }) =>
      `kept in place as ${p.kept}: ${p.files} files, ${p.dirs} directories, ${p.symlinks} symlinks, ${p.bytes} bytes, as recorded`,
  },
};
