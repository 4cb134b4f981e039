/** 简体中文：lib/migrate 的消息（规则见 ../index.ts）。 */
import { operatorCommand, SCRIPTS } from "../../vocabulary/scripts.ts";
import type { migrate as en } from "../en/migrate.ts";

/** 撤销本次运行的命令，作为提示的结尾。 */
const undo = (command: string) => `如需撤销：${command}`;
/** 有可恢复的备份时，接在提示后面的“；如需撤销：…”。 */
const undoSuffix = (command: string | null) => (command ? `；${undo(command)}` : "");
/** 失败的修订之前已应用了修订时的“（在它之前已应用：…）”。 */
const appliedBefore = (applied: string) => (applied ? `（在它之前已应用：${applied}）` : "");
/** 失败的 CONCURRENTLY 留下了 INVALID 索引时的“；留下的 INVALID 索引：…”。 */
const invalidIndexes = (invalid: string) => (invalid ? `；留下的 INVALID 索引：${invalid}（重试前请先删除它们）` : "");

export const migrate: typeof en = {
  engine: {
    driverDidNotRun: (p) => `迁移驱动未能在 ${p.backend} 镜像中运行：${p.reason}`,
    driverDidNotRunHint: "后端镜像需要带 alembic 和 sqlalchemy 的 python3，且工作目录中要有 alembic.ini",
    cannotReadState: (p) => `无法读取迁移状态：${p.error}`,
    createDatabaseHint: `先创建它：${operatorCommand(SCRIPTS.migrate, ["--init"])}`,
    isPostgresUpHint: "Postgres 是否在运行？查看 docker compose logs postgres",
    cannotRenderSql: (p) => `无法生成迁移的 SQL：${p.error}`,
    cannotCheckTables: (p) => `无法检查数据表：${p.error}`,
    badRevisionId: (p) => `后端镜像（或数据库）中有一个修订 ${p.id} 不是普通的修订 id（字母、数字、_）：在它进入文件、命令或 SQL 之前已拒绝`,
    badRevisionIdHint: "请检查镜像中的 alembic/versions（revision = ...）和数据库的 alembic_version 表",
  },
  state: {
    atHead: (p) => `数据库已是最新修订（head：${p.head}）`,
    pending: (p) => `${p.count} 个修订待执行：${p.current ?? "空数据库"} → ${p.head}（${p.pending}）`,
    ahead: (p) => `数据库版本超前于此镜像：它处于 ${p.unknown}，而此镜像不认识该修订`,
    multipleHeads: (p) => `镜像中有 ${p.count} 个 Alembic head（${p.heads}）：请合并这些 head`,
    noRevisions: "镜像中没有任何 Alembic 修订",
  },
  lint: {
    concurrentlyInTransaction: "在事务中执行 CONCURRENTLY 会立即失败：请把它放到单独的修订中，在事务之外执行（op.get_context().autocommit_block()）",
    squawkFailed: (p) => `squawk 运行失败：${p.why}`,
    notLintable: (p) => `${p.revision}：无法检查（${p.reason}）`,
    noFindings: (p) => `${p.revision}：未发现问题`,
    finding: (p) => `${p.revision}：${p.rule}${p.line ? `（第 ${p.line} 行）` : ""}：${p.message}`,
  },
  run: {
    postgresNotReady: (p) => `PostgreSQL（服务 ${p.service}，数据库 ${p.db}）在 ${p.secs} 秒内未能接受连接：${p.reason}`,
    postgresStartHint: (p) => `启动它：docker compose up -d ${p.service}`,
    pgIsReadyExit: (p) => `pg_isready 退出码 ${p.status}`,
    noSqlRendered: "未生成任何 SQL",
    strictWithoutSquawk: "MIGRATE_LINT=strict，但未安装 squawk：无法检查这些修订；未应用任何迁移",
    strictWithoutSquawkHint: "在 linux-x64 上 npm ci 会安装它（@squawk-cli/linux-x64），或设置 MIGRATE_LINT=warn",
    squawkMissing: "未安装 squawk（在 linux-x64 上 npm ci 会安装它：@squawk-cli/linux-x64）：只执行了 claw-ops 自己的检查规则",
    interrupted: (p) =>
      `一次迁移运行（${p.id}，开始于 ${p.startedAt}）在应用 ${p.pending || "其修订"} 时中断：Postgres 已回滚它当时所在的修订（DDL 是事务性的）；下面的状态就是数据库现在的内容`,
    interruptedRestore: (p) => `如果某个修订不是事务性的，请恢复它的迁移前备份：${p.command}`,
    commandDryRun: "已设置 MIGRATE_COMMAND：试运行需要 Alembic 的修订",
    unsetCommandHint: "取消设置 MIGRATE_COMMAND 以使用 Alembic",
    preMigrateBackupStep: "迁移前备份（postgres）",
    commandStep: (p) => `${p.command}（在后端镜像的一次性容器中运行）`,
    commandFailed: (p) => `MIGRATE_COMMAND 失败（退出码 ${p.status}）：${p.tail}`,
    commandFailedHint: (p) => (p.restore ? undo(p.restore) : "请查看上方它的输出"),
    stoppedContainers: (p) => `已停止中断的运行遗留下来的 ${p.n} 个迁移容器`,
    stateStep: "迁移状态",
    drift: (p) => `${p.file}（修订 ${p.revision}）在应用之后被修改过（sha256 ${p.applied} → ${p.now}）`,
    lintStep: (p) => `检查 ${p.n} 个待执行的修订`,
    strictFindings: (p) => `MIGRATE_LINT=strict：待执行的修订中有 ${p.n} 个检查问题；未应用任何迁移`,
    strictFindingsHint: "修正这些修订（见上方的检查结果），或设置 MIGRATE_LINT=warn",
    dryRunSql: (p) => `-- ${p.revision}：它要执行的 SQL\n${p.sql}`,
    upgradeStep: (p) => `alembic upgrade ${p.head}（逐个修订执行）`,
    tablesMissing: (p) => `已迁移到 ${p.current}，但缺少预期的数据表：${p.missing}`,
    tablesMissingHint: (p) => `请检查 MIGRATE_EXPECT_TABLES${p.restore ? `；要回到之前的状态：${p.restore}` : ""}`,
    applied: (p) => `已应用 ${p.applied}：数据库现在处于 ${p.current}`,
    mergeHeadsHint: (p) => `执行 alembic merge -m "merge heads" ${p.heads}，然后重新构建镜像`,
    aheadHint: "请部署产生该修订的镜像（deploy.mts --rollback-release 只回退代码，从不回退数据库结构）",
    noRevisionsHint: "后端镜像的工作目录中是否有 alembic.ini？",
    lockHeld: (p) =>
      `另一个迁移持有数据库的迁移锁（已等待 ${p.waited} 秒）${
        p.holder ? `：Postgres pid ${p.holder.pid}${p.holder.app ? `（${p.holder.app}）` : ""}，自 ${p.holder.since} 起连接` : ""
      }`,
    lockHeldHint: "等它完成，或调大 MIGRATE_LOCK_WAIT_S",
    lockTimeout: (p) => `修订 ${p.revision} 未能在 lock_timeout 内拿到所需的锁（尝试了 ${p.attempts} 次）${appliedBefore(p.applied)}：${p.error}`,
    lockTimeoutHint: (p) =>
      `有一个长事务占用着该表：在 pg_stat_activity 中找到它，或调大 MIGRATE_LOCK_TIMEOUT${invalidIndexes(p.invalid)}${undoSuffix(p.restore)}`,
    revisionFailed: (p) => `修订 ${p.revision} 执行失败${appliedBefore(p.applied)}；数据库现在处于 ${p.current || "无修订"}：${p.error}`,
    revisionFailedHint: (p) => `Postgres 已回滚该修订（DDL 是事务性的）${invalidIndexes(p.invalid)}${undoSuffix(p.restore)}`,
    driverFailed: (p) => `迁移驱动执行失败：${p.error}`,
    undoHint: (p) => undo(p.restore),
  },
  seed: {
    edited: (p) => `seeds/${p.name} 在执行之后被修改过（sha256 ${p.applied} → ${p.now}）：不会再次执行；请为这次改动新建一个种子文件`,
    step: (p) => `执行种子数据 ${p.name}`,
    failed: (p) => `seeds/${p.name} 执行失败（它的改动都未保留：在同一个事务中）：${p.tail}`,
    none: (p) => `${p.dir}/ 中没有种子文件`,
    summary: (p) => `种子数据：本次执行 ${p.applied} 个，之前已执行 ${p.unchanged} 个，执行后被修改 ${p.edited} 个`,
  },
  init: {
    databaseExists: (p) => `数据库 ${p.db} 已存在`,
    databaseCreated: (p) => `已创建数据库 ${p.db}`,
    extensionsPresent: (p) => `已具备的扩展：${p.extensions}`,
  },
  fresh: {
    question: (p) => `删除数据库 ${p.db} 并重建为空库？其中的所有数据都会丢失（会先做备份）。`,
    what: (p) => `删除数据库 ${p.db}`,
    backupStep: "--fresh 之前的备份（postgres）",
    restoreLine: (p) => `要找回原来的数据库：${p.command}`,
    dropCreateStep: (p) => `删除并重建 ${p.db}`,
  },
  cli: {
    modesConflict: (p) => `--${p.a} 和 --${p.b} 不能同时使用`,
    notWithMode: (p) => `--${p.flag} 只能用于迁移运行，不能与 --${p.mode} 一起使用`,
    readOnlyMode: (p) => `--${p.mode} 不做任何改动：不接受 --skip-backup、--dry-run 或 -y`,
    notRevisionId: (p) => `--rollback ${p.quoted} 不是 Alembic 修订 id`,
    rollbackNoDryRun: "--rollback 没有 --dry-run",
    seeRevisionsHint: "用 --status 查看修订",
    noDryRun: (p) => `--${p.flag} 没有 --dry-run`,
    freshNoSkipBackup: "--fresh 总会先做备份：它没有 --skip-backup",
    commandSet: (p) => `已设置 MIGRATE_COMMAND：--${p.mode} 需要 Alembic 的修订`,
    nothingToLint: "没有待执行的修订：无需检查",
    notInImage: (p) => `修订 ${p.revision} 不在此镜像中`,
    notBelow: (p) => `修订 ${p.revision} 并不低于数据库当前的修订（${p.current || "无"}）：没有可降级到的目标`,
    alreadyAt: (p) => `数据库已处于 ${p.revision}：无需降级`,
    downgradeQuestion: (p) => `把数据库从 ${p.from} 降级到 ${p.to}，撤销 ${p.undo}？它们添加的内容会被删除。`,
    downgradeWhat: "降级数据库",
    downgradeStep: (p) => `alembic downgrade ${p.revision}（降级数据库）`,
    downgraded: (p) => `已降级 ${p.applied}：数据库现在处于 ${p.current || "无修订"}`,
    strictFresh: "MIGRATE_LINT=strict：这些修订有检查问题（见 --lint）；数据库未被删除",
    strictFreshHint: "修正它们，或设置 MIGRATE_LINT=warn",
    initStep: "初始化：数据库和扩展",
    nothingToMigrate: "没有需要执行的迁移",
    dryRunDone: "试运行：未做任何改动",
    status: {
      currentAndHead: (p) => `当前：${p.current ?? "（空数据库）"}   最新（head）：${p.heads || "（无）"}`,
      pending: "待执行",
      current: "当前",
      applied: "已应用",
      row: (p) => `  ${p.label}  ${p.revision}  ${p.file}  ${p.doc}`,
      drift: (p) => `漂移：${p.file}（${p.revision}）在应用之后被修改过`,
    },
  },
};
