/** 简体中文：`npm run demo` / `npm run smoke` 的消息。 */
import type { demo as en } from "../en/demo.ts";

export const demo: typeof en = {
  removedAll: "已删除所有 clawtest-* 容器、网络和卷",
  imagesReady: (p) => `镜像已就绪，用时 ${p.secs} 秒（重新构建：${p.rebuilt || "无"}）`,
  tearingDown: "正在拆除技术栈 …",
  deploying: (p) => `正在用 scripts/deploy.mts 从 ${p.dir} 部署 ${p.name} …`,
  deployFailed: (p) => `deploy.mts 失败（退出码 ${p.status}）；正在拆除技术栈`,
  deployed: (p) => `技术栈已部署且健康，用时 ${p.secs} 秒`,
  opsComment: (p) => `${p.ops} <脚本> [参数]：对演示技术栈运行一个 claw-ops 脚本。`,
  banner: (p) => `
CLAW.AI 演示技术栈“${p.name}”已启动（项目目录 ${p.dir}）：
  https://localhost:${p.port}/health     -> ${p.health}
  https://localhost:${p.port}/grafana/   Grafana（替身）
  https://localhost:${p.port}/flower/    Flower，基本认证用户“${p.flowerUser}”（密码见 ${p.dir}/.env.prod）
  http://127.0.0.1:9090                Prometheus
  http://127.0.0.1:3000                Grafana     http://127.0.0.1:3100  Loki
  http://127.0.0.1:9001 / :9002        MinIO API / 控制台
对它运行脚本：
  ${p.ops} deploy --status
  ${p.ops} backup
  ${p.ops} rollback --list
  ${p.ops} migrate --status
`,
  pressEnter: "按回车键停止并删除演示技术栈 … ",
  noTty: "没有 TTY：技术栈保持运行；之后用 `npm run demo:down` 删除（项目目录留在临时目录中）",
  smoke: {
    check: (p) => `${p.ok ? "通过" : "失败"} ${p.name}（${p.secs} 秒）${p.detail ? `：${p.detail}` : ""}`,
    passed: (p) => `冒烟测试通过：${p.n} 项检查，用时 ${p.secs} 秒`,
    failed: (p) => `冒烟测试失败：${p.n} 项检查中 ${p.failed} 项失败，用时 ${p.secs} 秒`,
    names: {
      deploy: "deploy.mts",
      health: "经 nginx 访问 GET /health",
      backup: "backup.mts",
      verify: "backup.mts --verify",
      migrate: "migrate.mts --status",
      down: "拆除",
    },
  },
};
