/** English messages of lib/deploy (see ../index.ts for the rules). */
import { operatorCommand, SCRIPTS } from "../../vocabulary/scripts.ts";

/** deploy.mts with `args`, as a hint names it. */
const deployCommand = (...args: string[]) => operatorCommand(SCRIPTS.deploy, args);

export const deploy = {
  containers: {
    /** `what` of the readiness errors: the release a container runs. */
    releaseWhat: (p: { version: string }) => `release ${p.version}`,
    gone: "gone",
    noCheck: "no check",
    stoppedBeforeHealthy: (p: { what: string; name: string; state: string }) =>
      `${p.what}: container ${p.name} stopped (${p.state}) before it was healthy`,
    failedHealthCheck: (p: { what: string; name: string; secs: number; check: string; last: string }) =>
      `${p.what}: container ${p.name} failed its health check for ${p.secs} s (${p.check}): ${p.last}`,
    logsHint: (p: { name: string }) => `see \`docker logs ${p.name}\`; the release that served before keeps serving`,
    healthLogLine: (p: { code: number; output: string }) => `health check: exit ${p.code}: ${p.output}`,
    lastLogLines: (p: { n: number }) => `last ${p.n} log lines:`,
  },
  images: {
    cannotPull: (p: { ref: string; why: string }) => `cannot pull ${p.ref}: ${p.why}`,
    cannotPullHint: "check the tag and `docker login`; nothing was stopped",
    pullRetry: (p: { ref: string; attempt: number; left: number; message: string }) =>
      `pull of ${p.ref} failed (attempt ${p.attempt}, ${p.left} left): ${p.message}`,
    cannotRemove: (p: { ref: string; reason: string }) => `could not remove image ${p.ref}: ${p.reason}`,
  },
  ledger: {
    noSuchRelease: (p: { id: string }) => `no release ${p.id} in the ledger`,
    noSuchReleaseHint: "see the releases with deploy.mts --list-releases",
    neverServed: (p: { id: string; result: string }) => `release ${p.id} never served (it ${p.result})`,
    neverServedHint: "pick one whose result is succeeded",
    nothingSucceeded: "no release has succeeded yet: there is nothing to go back to",
    nothingSucceededHint: "deploy one first: deploy.mts --tag <release>",
    onlyOne: (p: { id: string; tag: string }) => `release ${p.id} (${p.tag}) is the only one that served`,
    onlyOneHint: "there is no previous release to go back to",
    /** --list-releases */
    empty: "no releases yet (the ledger is empty): deploy one with deploy.mts",
    head: {
      release: "RELEASE",
      kind: "KIND",
      tag: "TAG",
      result: "RESULT",
      time: "TIME",
      backup: "PRE-DEPLOY BACKUP",
      migration: "MIGRATION",
    },
    /** The RESULT cell of a release that did not succeed, with the phase it was in. */
    resultInPhase: (p: { result: string; phase: string }) => `${p.result} (${p.phase})`,
    seconds: (p: { secs: string }) => `${p.secs}s`,
  },
  plan: {
    headDeploy: (p: { ref: string; id: string }) => `deploy ${p.ref} as release ${p.id}`,
    headDeployFirst: (p: { ref: string; id: string }) => `deploy ${p.ref} as release ${p.id} (first deploy)`,
    headDeployServing: (p: { ref: string; id: string; tag: string; previous: string }) =>
      `deploy ${p.ref} as release ${p.id} (serving now: ${p.tag}, release ${p.previous})`,
    headBack: (p: { ref: string; id: string }) => `go back to ${p.ref} as release ${p.id}`,
    headBackServing: (p: { ref: string; id: string; tag: string }) => `go back to ${p.ref} as release ${p.id} (serving now: ${p.tag})`,
    skipped: (p: { why: string }) => `skipped: ${p.why}`,
    preflight: "Docker, Compose, .env.prod, compose config, free disk, ports, images, hooks, TLS plan",
    preDeployHook: "run hooks/pre-deploy (a failure stops the deploy here, nothing changed)",
    noPreDeployHook: "no hooks/pre-deploy",
    tlsNoPlan: (p: { domain: string }) => `the certificate in nginx/ssl for ${p.domain}`,
    images: (p: { pull: string; build: string }) => [p.pull ? `pull ${p.pull}` : "", p.build ? `build ${p.build}` : ""].filter(Boolean).join("; "),
    imagesHere: (p: { ref: string }) => `every image is on this host (${p.ref} included)`,
    infrastructure: (p: { services: string }) => `up and healthy, never recreating the app: ${p.services}`,
    backup: (p: { components: string }) =>
      `${p.components} to backups/pre-deploy/ through the backup engine (kept by the snapshot policy: the newest DEPLOY_KEEP_BACKUPS or BACKUP_SNAPSHOT_KEEP, and any younger than BACKUP_SNAPSHOT_DAYS)`,
    noData: "a first deploy: there is no data yet",
    migrations: (p: { ref: string }) =>
      `the migrate engine (alembic upgrade head, lint, advisory lock) in one-off containers of ${p.ref}, before the new code serves`,
    neverDowngrades: "going back never downgrades the schema",
    releaseConfig: (p: { tag: string }) => `.env.prod CLAW_AI_TAG=${p.tag}`,
    releaseConfigSame: (p: { tag: string }) => `.env.prod already says ${p.tag}`,
    nginxFirst: "start nginx in front of the new backend",
    nginxUpdate: "up to date before the switch (left running when unchanged)",
    noNginx: "no nginx service",
    /** One entry per service the rollout changes, by its strategy (switch, overlap, recreate). */
    rollout: (p: { steps: ReadonlyArray<{ service: string; strategy: string }> }) =>
      p.steps
        .map(
          (s) =>
            `${s.service} (${s.strategy === "switch" ? "beside the old, then nginx switched" : s.strategy === "overlap" ? "new beside old, old finish their tasks" : "old stops, then new starts"})`,
        )
        .join(", "),
    noRollout: "no service runs the backend's image",
    health: (p: { tag: string }) => `every service healthy, /health through nginx reports ${p.tag}`,
    ledgerDeploy: (p: { tag: string; id: string }) => `record release ${p.tag} as ${p.id} in releases/ledger.jsonl`,
    ledgerBack: (p: { tag: string; id: string }) => `record back to release ${p.tag} as ${p.id} in releases/ledger.jsonl`,
    pruneImages: (p: { image: string }) => `older pre-deploy backups, and ${p.image} tags older than the kept releases (never volumes)`,
    postDeployHook: "run hooks/post-deploy",
    noPostDeployHook: "no hooks/post-deploy",
  },
  preflight: {
    portPublished: (p: { port: number; service: string; container: string; project: string | undefined }) =>
      `port ${p.port} (${p.service}) is published by container ${p.container}${p.project ? ` of compose project ${p.project}` : ""}, not by this stack`,
    portPublishedHint: "stop that container, or set another port in .env.prod (HTTP_PORT / HTTPS_PORT for nginx)",
    portBusy: (p: { address: string; service: string }) => `port ${p.address} (${p.service}) is in use by another program on this host`,
    portBusyHint: (p: { port: number }) => `find it with \`ss -ltnp 'sport = :${p.port}'\` and stop it, or choose another port in .env.prod`,
    composeInvalid: (p: { reason: string }) => `the compose file is not valid: ${p.reason}`,
    composeInvalidHint: "check it with `docker compose -f docker-compose.prod.yml config`",
    lowDisk: (p: { path: string; free: number; min: number }) =>
      `not enough free disk under ${p.path}: ${p.free} MB, a deploy needs ${p.min} MB (images, the pre-deploy backup)`,
    lowDiskHint: "free space (old backups: backup.mts --prune; unused images: docker image prune) or set DEPLOY_MIN_FREE_MB",
    hookNotExecutable: (p: { hook: string }) => `hooks/${p.hook} exists but is not executable`,
    hookNotExecutableHint: (p: { hook: string }) => `chmod +x hooks/${p.hook} (or remove it)`,
    notPullable: (p: { ref: string; why: string }) => `image ${p.ref} is not on this host and cannot be pulled: ${p.why}`,
    checkTagHint: "check the tag (--tag) and CLAW_AI_IMAGE",
    checkRegistryHint: "check the registry is reachable and `docker login`",
  },
  rollout: {
    notInCompose: (p: { service: string }) => `service ${p.service} is not in the compose file`,
    alreadyRunsOn: (p: { service: string; container: string; ref: string }) => `${p.service}: ${p.container} already runs this release (${p.ref})`,
    alreadyRuns: (p: { service: string; ref: string }) => `${p.service}: already runs this release (${p.ref})`,
    pinStep: (p: { container: string }) => `nginx pinned to ${p.container} (the release that serves)`,
    removingStray: (p: { n: number; names: string }) =>
      `removing ${p.n} backend container(s) nginx does not serve (left by an interrupted deploy?): ${p.names}`,
    startBesideStep: (p: { service: string }) => `start the new ${p.service} beside the old`,
    expectedOne: (p: { service: string; n: number }) => `expected one new ${p.service} container, Compose started ${p.n}`,
    cannotRemove: (p: { container: string; reason: string }) => `could not remove ${p.container}: ${p.reason}`,
    cannotPointAtService: (p: { reason: string }) => `could not point nginx at the service: ${p.reason}`,
    healthyOwnStep: (p: { container: string }) => `${p.container}: healthy (its own healthcheck)`,
    switchStep: (p: { container: string }) => `nginx → ${p.container} (nginx -t, graceful reload)`,
    healthReportsStep: (p: { version: string }) => `GET /health through nginx reports ${p.version}`,
    switchingBack: (p: { container: string }) => `switching back: nginx → ${p.container}`,
    cannotPointBack: (p: { error: string; container: string; reason: string }) =>
      `${p.error}; and nginx could not be pointed back at ${p.container}: ${p.reason}`,
    cannotPointBackHint: `both containers run: fix nginx, then ${deployCommand("--status")}`,
    drainStep: "old nginx workers finish their requests",
    stopOldStep: (p: { service: string; container: string }) => `stop the old ${p.service} (${p.container})`,
    atRestStep: "nginx → the service (at rest)",
    reportsVersion: (p: { got: string }) => `it reports version ${p.got}`,
    notJson: "it answered something that is not JSON",
    curlExit: (p: { status: number; tail: string }) => `curl exit ${p.status}: ${p.tail}`,
    wrongVersion: (p: { version: string; last: string }) => `/health through nginx does not report ${p.version}: ${p.last}`,
    nginxLogsHint: "see `docker compose logs nginx`",
    drainTimeout: (p: { secs: number }) =>
      `nginx workers still finish requests after ${p.secs} s: stopping the old backend anyway (its own grace period follows)`,
    startNewStep: (p: { n: number; service: string }) => `start ${p.n} new ${p.service} beside the old`,
    newHealthyStep: (p: { service: string; n: number }) => `${p.service}: the new container${p.n === 1 ? "" : "s"} healthy`,
    cannotRemoveNew: (p: { service: string; reason: string }) => `could not remove the new ${p.service}: ${p.reason}`,
    stopOldTasksStep: (p: { service: string; grace: number }) => `stop the old ${p.service} (SIGTERM: running tasks finish, up to ${p.grace} s)`,
    recreateStep: (p: { service: string }) => `recreate ${p.service} (the old one stops first: a singleton)`,
    didNotStart: (p: { service: string }) => `${p.service} did not start`,
    composeLogsHint: (p: { service: string }) => `see \`docker compose logs ${p.service}\``,
    healthyStep: (p: { service: string }) => `${p.service}: healthy`,
  },
  tlsPhase: {
    noDomain: "no domain for the TLS certificate: DOMAIN (or DEPLOY_DOMAIN) is empty",
    noDomainHint: "set DOMAIN in .env.prod, or deploy with --skip-ssl",
    step: (p: { action: string }) => `TLS: ${p.action}`,
    reloaded: "nginx reloaded with the new certificate",
    renewal: (p: { hook: string; hookChanged: boolean; cronChanged: boolean }) =>
      `renewal: ${p.hook}${p.hookChanged ? " (written)" : ""}; cron line ${p.cronChanged ? "installed" : "already there"}`,
  },
  tls: {
    notCertificate: (p: { file: string }) => `${p.file} is missing or not a PEM certificate`,
    notYetValid: (p: { at: string }) => `not valid before ${p.at}`,
    expired: (p: { at: string }) => `expired on ${p.at}`,
    noKey: (p: { file: string }) => `${p.file} is missing or not an unencrypted PEM private key`,
    wrongKey: (p: { key: string; cert: string }) => `${p.key} is not the key of ${p.cert}`,
    otherName: (p: { names: string; domain: string | undefined }) => `issued for ${p.names}, not for ${p.domain}`,
    domainHint: "set DOMAIN in .env.prod to the host name clients use (no scheme, port, path or wildcard)",
    domainEmpty: "DOMAIN is empty: there is no name to serve HTTPS for",
    notHostName: (p: { domain: string }) => `DOMAIN '${p.domain}' is not a host name`,
    ipAddress: (p: { domain: string }) => `${p.domain} is an IP address, not a host name`,
    localName: (p: { domain: string }) => `${p.domain} is a local name`,
    placeholder: (p: { domain: string }) => `${p.domain} is the template's placeholder`,
    reservedName: (p: { domain: string }) => `${p.domain} is a reserved example, test or private name`,
    notQualified: (p: { domain: string }) => `${p.domain} is not a fully qualified public name`,
    emailHint: "set DEPLOY_EMAIL to an address you read: Let's Encrypt sends expiry notices there",
    notEmail: (p: { email: string }) => `DEPLOY_EMAIL '${p.email}' is not an e-mail address`,
    noMailDomain: (p: { email: string; host: string }) => `DEPLOY_EMAIL '${p.email}' is at a domain that receives no mail (${p.host})`,
    noEmailKeep: "DEPLOY_EMAIL is not set (set it and deploy again to replace this certificate with a trusted one)",
    emailNeeded: (p: { domain: string }) => `Let's Encrypt can issue a certificate for ${p.domain}, but DEPLOY_EMAIL is not set`,
    emailNeededHint:
      "set DEPLOY_EMAIL to an address you read (expiry notices go there), or deploy with --skip-ssl and put your own certificate in nginx/ssl",
    planKeep: (p: { selfSigned: boolean; dir: string; domain: string; days: number }) =>
      `TLS: keep the ${p.selfSigned ? "self-signed " : ""}certificate in ${p.dir} for ${p.domain} (${p.days} days left)`,
    planCertbot: (p: { mode: string; domain: string; lineage: string; dir: string }) =>
      `TLS: certbot (${p.mode}) for ${p.domain}, copied from ${p.lineage} into ${p.dir}`,
    planSelfSigned: (p: { domain: string; days: number; dir: string; reason: string }) =>
      `TLS: a self-signed certificate for ${p.domain} (${p.days} days) in ${p.dir}: ${p.reason}`,
    ineligible: (p: { why: string; dir: string }) =>
      `${p.why}; set DOMAIN in .env.prod to the public host name, or put your own certificate in ${p.dir}`,
    noCertbot: "certbot is not installed (apt-get install certbot, then deploy again)",
    resolvesElsewhere: (p: { domain: string; addresses: string; dir: string }) =>
      `${p.domain} resolves to ${p.addresses}, not only to addresses of this host; point its A/AAAA records at this host and deploy again (behind NAT, put a certificate in ${p.dir} yourself)`,
    doesNotResolve: (p: { domain: string; dir: string }) =>
      `${p.domain} does not resolve; point its A/AAAA records at this host and deploy again (behind NAT, put a certificate in ${p.dir} yourself)`,
    selfSignedWarning: (p: { domain: string; dir: string; why: string }) =>
      `!!! SELF-SIGNED certificate for ${p.domain}: browsers and API clients will reject HTTPS until a trusted one is in ${p.dir}. Certbot was not used: ${p.why} !!!`,
    renewNext: "`certbot renew` (cron) should renew it: check with `certbot renew --dry-run`",
    replaceNext: "replace it before then",
    expiresSoon: (p: { dir: string; days: number; at: string | undefined; next: string }) =>
      `the certificate in ${p.dir} expires in ${p.days} day${p.days === 1 ? "" : "s"} (${p.at}): ${p.next}`,
    replacingPair: (p: { dir: string; problems: readonly string[] }) => `replacing the pair in ${p.dir}: ${p.problems.join("; ")}`,
    replacingSelfSigned: (p: { dir: string }) => `replacing the self-signed certificate in ${p.dir}`,
    keptValid: (p: { dir: string; domain: string }) => `${p.dir} already holds a valid pair for ${p.domain}: not overwritten`,
    opensslHint: "openssl must be installed (apt-get install openssl)",
    wroteSelfSigned: (p: { domain: string; days: number; dir: string }) =>
      `wrote a self-signed certificate for ${p.domain} (${p.days} days) to ${p.dir}`,
    certbotWebrootHint: (p: { domain: string; webroot: string }) =>
      `nginx must serve http://${p.domain}/.well-known/acme-challenge/ from ./${p.webroot} (mounted at /var/www/certbot) and port 80 must reach this host from the internet, and certbot must run as root; or deploy with --skip-ssl`,
    certbotStandaloneHint:
      "port 80 must be free on this host and reach it from the internet, and certbot must run as root; or deploy with --skip-ssl",
    installedLetsEncrypt: (p: { domain: string; dir: string }) => `installed the Let's Encrypt certificate for ${p.domain} in ${p.dir}`,
    cannotServe: (p: { domain: string; problems: readonly string[] }) =>
      `the new certificate for ${p.domain} cannot be served: ${p.problems.join("; ")}`,
    nothingReplacedHint: (p: { dir: string }) => `nothing in ${p.dir} was replaced`,
    lineBreakInHook: (p: { value: string }) => `cannot write a line break into the renewal hook: ${p.value}`,
    installedHook: (p: { hook: string }) => `installed the certbot renewal hook ${p.hook}`,
    crontab: (p: { line: string }) => `crontab: ${p.line}`,
  },
  run: {
    checkDnsEmpty: "--check-dns: DOMAIN (or DEPLOY_DOMAIN) is empty",
    checkDnsEmptyHint: "set DOMAIN in .env.prod",
    checkDnsElsewhere: (p: { domain: string; addresses: string }) => `--check-dns: ${p.domain} resolves to ${p.addresses}, not only to this host`,
    checkDnsNone: (p: { domain: string }) => `--check-dns: ${p.domain} does not resolve`,
    checkDnsHint: "point its A/AAAA records at this host (behind NAT: deploy without --check-dns)",
    preflightStep: "preflight: compose config, disk, ports, hooks, images, TLS",
    imageGone: (p: { tag: string }) => `the image of release ${p.tag} is no longer on this host: it will be pulled`,
    afterFailed: (p: { phase: string; reason: string }) => `${p.phase} failed (the release serves): ${p.reason}`,
    backupsPruned: (p: { list: string }) => `pre-deploy backups pruned: ${p.list}`,
    imagesRemoved: (p: { list: string }) => `removed old release images: ${p.list}`,
    phaseSkipped: (p: { phase: string; why: string }) => `${p.phase}: skipped (${p.why})`,
    deployFailed: (p: { tag: string; reason: string }) => `deploy of ${p.tag} failed: ${p.reason}`,
    envReset: (p: { tag: string }) => `.env.prod: CLAW_AI_TAG=${p.tag} (the release that serves)`,
    nextRolledBack: (p: { tag: string }) => `fix the cause, then deploy again: ${deployCommand("--tag", p.tag)}`,
    nextStatus: (p: { previous: string | undefined }) =>
      `see ${deployCommand("--status")}; to go back: ${deployCommand("--rollback-release", ...(p.previous ? [p.previous] : []))}`,
    nextUnchanged: (p: { tag: string }) => `nothing that serves was changed; fix the cause and run ${deployCommand("--tag", p.tag)} again`,
    servingNow: (p: { serving: string }) => `serving now: ${p.serving}`,
    next: (p: { next: string }) => `next: ${p.next}`,
    servingNothing: "nothing (the backend does not run)",
    serving: (p: { tag: string; container: string; running: number }) =>
      `${p.tag} (container ${p.container}${p.running > 1 ? `; ${p.running} backend containers run` : ""})`,
    rollingBack: (p: { tag: string; services: string }) => `rolling back automatically to ${p.tag}: ${p.services}`,
    rollbackStep: (p: { tag: string }) => `automatic rollback to ${p.tag}`,
    rollbackServiceFailed: (p: { service: string; reason: string }) => `rolling ${p.service} back failed: ${p.reason}`,
    /** The revision a database had before migrations when it had none. */
    emptyHead: "empty",
    migratedNoBackup: (p: { from: string; to: string }) =>
      `migrations moved the database from ${p.from} to ${p.to}, and there is no pre-deploy backup to go back to`,
    restoreQuestion: (p: { dir: string }) => `Restore the database from ${p.dir} (writes since the backup are lost)?`,
    restoreWhat: "restore",
    migratedRestoreWith: (p: { from: string; to: string; command: string }) =>
      `migrations moved the database from ${p.from} to ${p.to}; the old release runs on it. To restore it: ${p.command}`,
    databaseRestored: (p: { dir: string }) => `the database was restored from ${p.dir}`,
    restoreFailed: (p: { reason: string; command: string }) => `restoring the database failed: ${p.reason}; retry with: ${p.command}`,
    hookFailed: (p: { hook: string; status: number; last: string }) => `hooks/${p.hook} failed (exit ${p.status}): ${p.last}`,
    hookFailedHint: "fix the hook; nothing was changed",
    backupWithout: (p: { list: string }) => `pre-deploy backup without ${p.list}: not running`,
    backupDone: (p: { id: string; components: string }) => `pre-deploy backup ${p.id} (${p.components})`,
    pullStep: (p: { ref: string }) => `pull ${p.ref}`,
    buildStep: (p: { services: string }) => `build ${p.services}`,
    infraUpStep: (p: { n: number }) => `up: ${p.n} infrastructure services`,
    infraHealthyStep: "infrastructure healthy",
    notRunning: (p: { list: string }) => `not running: ${p.list}`,
    allHealthyStep: "every service healthy",
    /** The summary table's header. */
    summaryPhase: "phase",
    summarySeconds: "seconds",
    summaryResult: "result",
    summaryNote: (p: { result: string; note: string }) => `${p.result}: ${p.note}`,
    interrupted: (p: { id: string; tag: string; phase: string; previous: string | null | undefined }) =>
      `release ${p.id} (${p.tag}) did not finish: its deploy died during "${p.phase}"${p.previous ? `; ${p.previous} served before it` : ""}`,
    interruptedNext: (p: { canGoBack: boolean }) =>
      `this run brings the stack to one release: the containers nginx does not serve are removed first${p.canGoBack ? `; to go back instead: ${deployCommand("--rollback-release")}` : ""}`,
  },
  cli: {
    modesConflict: (p: { a: string; b: string }) => `--${p.a} and --${p.b} cannot be combined`,
    unexpectedArgument: (p: { arg: string }) => `unexpected argument ${p.arg}`,
    unexpectedArgumentHint: "a release id goes with --rollback-release",
    takesNo: (p: { mode: string; flag: string }) => `--${p.mode} takes no --${p.flag}`,
    rollbackTakesNoHint: "it goes back to a release's own tag and never runs migrations",
    badTag: (p: { tag: string }) => `--tag ${p.tag} is not a Docker image tag`,
    badTagHint: "letters, digits, _ . - (at most 128)",
    otherImage: (p: { id: string; image: string; configured: string }) => `release ${p.id} ran ${p.image}, but CLAW_AI_IMAGE is ${p.configured}`,
    otherImageHint: (p: { image: string }) => `set CLAW_AI_IMAGE=${p.image} in .env.prod to go back to it`,
    dryRunDone: "dry run: nothing was changed",
    confirm: (p: { ref: string }) => `Deploy ${p.ref} as shown?`,
    confirmWhat: "deploy",
    served: (p: { id: string; tag: string; secs: string }) => `release ${p.id} (${p.tag}) serves; deployed in ${p.secs}s`,
    skippedLines: (p: { n: number }) => `${p.n} unreadable line(s) in releases/ledger.jsonl were skipped (a deploy killed while writing?)`,
    /** --status */
    release: (p: { id: string; ref: string; at: string }) => `release: ${p.id} ${p.ref} (deployed ${p.at})`,
    releaseNone: "release: none deployed by deploy.mts yet",
    envTag: (p: { tag: string | null }) => `.env.prod CLAW_AI_TAG: ${p.tag ?? "(unset)"}`,
    nginxServes: (p: { target: string | undefined; backends: string }) =>
      `nginx serves: ${p.target ?? "(live/backend.conf missing)"}${p.backends ? `  (backend containers: ${p.backends})` : ""}`,
    lastDeploy: (p: { id: string; kind: string; tag: string; result: string; phase: string | undefined; error: string | undefined }) =>
      `last deploy: ${p.id} ${p.kind} ${p.tag}: ${p.result}${p.phase ? ` (in ${p.phase})` : ""}${p.error ? `: ${p.error}` : ""}`,
    lastDeployNone: "last deploy: none",
    serviceOk: "ok",
    serviceDown: "DOWN",
    noContainer: "no container",
  },
  flowerAuth: {
    step: "Flower's basic auth (nginx/.htpasswd from FLOWER_USER / FLOWER_PASSWORD)",
    notAFile: (p: { file: string }) => `${p.file} is not a regular file: nginx reads Flower's basic-auth users from it`,
    notAFileHint: (p: { file: string }) => `move ${p.file} away; the next deploy writes it from FLOWER_USER / FLOWER_PASSWORD in .env.prod`,
    noWorkerGroup: (p: { image: string; user: string }) =>
      `the nginx image ${p.image} has no user ${p.user} (nginx.conf runs its workers as ${p.user}; the official nginx image has it)`,
    notPermitted: (p: { file: string; gid: number }) =>
      `cannot give ${p.file} to group ${p.gid} (nginx's workers): run deploy.mts as root, or chgrp ${p.gid} ${p.file}`,
    dropped: (p: { users: string }) =>
      `nginx/.htpasswd now holds FLOWER_USER only; these users of the old file are gone: ${p.users} (Flower has one user, from .env.prod)`,
  },
};
