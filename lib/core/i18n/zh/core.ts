/** 简体中文：lib/core 的消息（退出码、错误、提示、输出、锁）。 */
import type { core as en } from "../en/core.ts";

export const core: typeof en = {
  exit: {
    ok: { short: "成功", meaning: "完成" },
    failed: {
      short: "失败",
      meaning: "操作失败（消息会指出组件和原因）；恢复失败时会给出可撤销它的快照",
    },
    usage: { short: "用法错误", meaning: "用法错误：未知参数、参数不正确、序号超出范围、没有 TTY 可确认且未给 `-y`" },
    precondition: {
      short: "前提条件不满足（未做任何改动）",
      meaning:
        "前提条件不满足，未做任何改动：`.env.prod` 缺失/不安全/仍是占位值、Docker 未运行、某个服务未运行、磁盘空间不足、加密备份缺少密钥或密钥错误",
    },
    lockHeld: { short: "锁被占用", meaning: "另一个 claw-ops 进程持有锁（消息会说明是哪个、从何时起、哪个 pid）" },
    invalidBackup: {
      short: "备份无效",
      meaning: "备份无效：不是备份、已损坏或不完整（校验和、age 认证）、缺少组件、恢复演练与清单不符",
    },
    migrationsPending: {
      short: "有待执行的迁移",
      meaning: "migrate.mts --status：数据库落后于镜像（有待执行的修订）；未做任何改动",
    },
    databaseAhead: {
      short: "数据库版本超前",
      meaning: "migrate.mts：数据库处于此镜像不认识的修订（请部署产生该修订的镜像）；未做任何改动",
    },
    cancelled: { short: "已取消", meaning: "在提示处取消" },
    sep: "，",
    line: (p) => `退出码：${p.codes}。`,
  },
  errors: {
    usageHint: "使用 --help 查看所有参数",
    cancelled: "已取消",
    restoreMismatchHint: "恢复前拍摄的快照可以撤销它（见上方的撤销命令）",
    killedBy: (p) => `被 ${p.signal ?? "信号"} 终止`,
    exitStatus: (p) => `退出码 ${p.status}`,
    timedOut: (p) => `${p.signal}（超过 ${p.secs} 秒时限）`,
    commandFailed: (p) => `命令失败（${p.how}）：${p.command}${p.tail ? ` — ${p.tail}` : ""}`,
    andThen: (p) => `${p.primary}；随后又出错：${p.cleanup}`,
    emptyCommand: "命令为空",
  },
  prompts: {
    refuseNoTty: (p) => `拒绝在未确认的情况下${p.what}：没有可用于询问的 TTY`,
    refuseNoTtyHint: "加上 -y（--yes）再运行一次以确认",
    cancelledNothingChanged: (p) => `${p.what}：已取消，未做任何改动`,
    noTtyToChoose: "没有可用于选择的 TTY",
    noTtyToChooseHint: "请给出备份序号（见 --list）或 --backup <目录>",
    cancelledPlain: "已取消，未做任何改动",
    refuseWithoutYes: (p) => `没有 -y，拒绝${p.what}`,
    refuseWithoutYesHint: (p) => `加上 -y 再运行一次${p.tty ? "（还需要输入名称）" : ""}`,
    noTtyToAsk: (p) => `没有可用于询问的 TTY：${p.question}`,
    required: "必须填写",
    yes: "是",
    no: "否",
    typeToGoOn: (p) => `${p.question} 输入 ${p.expected} 以继续：`,
  },
  output: {
    stepStarted: (p) => `${p.title} …`,
    stepDone: (p) => `${p.title}：完成，用时 ${p.secs} 秒`,
    stepSpinnerDone: (p) => `${p.title}（${p.secs} 秒）`,
    stepFailed: (p) => `${p.title}：失败`,
  },
  lock: {
    cannotCreate: (p) => `无法在 ${p.dir} 中创建锁文件：${p.reason}`,
    cannotCreateHint: "请在项目目录中、以有写权限的用户运行",
    waited: (p) => `（已等待 ${p.time}）`,
    unreadable: (p) => `另一个 claw-ops 进程持有锁：${p.file} 无法读取，${p.age}前被修改${p.waited}`,
    unreadableHint: (p) => `请稍等一分钟再试；如果没有正在运行的 claw-ops，删除 ${p.file}`,
    elsewhere: "（它在另一台机器上运行：请到那里查看）",
    otherNamespace: "（它运行在另一个 PID 命名空间，或同名机器的另一次启动中，例如容器：无法从这里检查它的 pid）",
    held: (p) => `另一个 claw-ops 进程持有锁：${p.script}（${p.purpose}）pid ${p.pid}，主机 ${p.host}，开始于 ${p.since}${p.waited}`,
    heldHint: (p) => `请等待它结束${p.elsewhere}；如果该进程已不存在，删除 ${p.file}`,
    ms: (p) => `${p.n} 毫秒`,
    s: (p) => `${p.n} 秒`,
  },
};
