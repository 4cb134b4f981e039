/** English messages of lib/project, lib/infra and lib/commands (see ../index.ts for the rules). */
export const project = {
  /** lib/project/env.ts: `.env.prod` loaded and checked (keys named, never values). */
  env: {
    notFound: (p: { file: string }) => `${p.file} not found`,
    notFoundHint: "create it: cp templates/.env.prod.example .env.prod && chmod 600 .env.prod, then fill in every value",
    readableByOthers: (p: { file: string; mode: string }) => `${p.file} is readable by group or others (mode ${p.mode}); it holds secrets`,
    /** The first problem, by key (`problem` is one of the fragments below), and the keys of the others. */
    invalid: (p: { file: string; key: string; problem: string; more: readonly string[] }) =>
      `${p.file}: ${p.key} ${p.problem}${p.more.length > 0 ? ` (and ${p.more.length} more: ${p.more.join(", ")})` : ""}`,
    invalidHint: "set real values (secrets: openssl rand -hex 32) and run again",
    notPlainAssignment: (p: { key: string }) => `not a plain env assignment: ${p.key}`,
    /** lib/project/env-file.ts: a given value init-env cannot write. */
    unwritableValue: (p: { key: string }) => `${p.key}: a value with a quote or a line break cannot be written to .env.prod`,
    /** What is wrong with a key's value: said after the key's name (`SECRET_KEY is missing or empty`). */
    problems: {
      missing: "is missing or empty",
      placeholder: "still holds the template's placeholder",
      tooShort: (p: { min: number }) => `is shorter than ${p.min} characters`,
      badFormat: "has an invalid format",
      backslashInDoubleQuotes: "holds a `\\` in double quotes, which Docker Compose decodes and dotenv does not: put the value in single quotes",
      dollar: "holds a `$` that Docker Compose would expand as a variable: put the value in single quotes",
      hash: "holds a `#` that Docker Compose keeps but dotenv reads as a comment: put the value in single quotes",
    },
  },
  /** lib/project/config.ts: the typed settings read from `.env.prod`. */
  config: {
    /** A key's problem (`problem`: one of `problems`), prefixed with the file. */
    keyProblem: (p: { key: string; problem: string }) => `.env.prod: ${p.key} ${p.problem}`,
    problems: {
      yesOrNo: (p: { value: string }) => `must be yes or no, not ${p.value}`,
      unknownComponent: (p: { name: string }) => `names an unknown component ${p.name}`,
      namesNothing: "names nothing",
      /** An enum's or a strict yes/no's words: `must be warn or strict`. */
      oneOf: (p: { values: readonly string[] }) => `must be ${p.values.join(" or ")}`,
      wholeNumber: (p: { min: number }) => (p.min > 0 ? `must be a whole number of at least ${p.min}` : "must be a whole number"),
      missing: "is missing",
      zlibLevel: "must be a zlib level 0-9",
    },
    yesNoHint: (p: { key: string; dflt: string }) => `set ${p.key}=${p.dflt}, or remove it for the default`,
    componentsHint: (p: { names: string }) => `use some of ${p.names}`,
    zlibLevelHint: "remove it to use zstd",
    positiveWhole: (p: { key: string; unit: string }) => `${p.key} must be a positive whole number of ${p.unit}`,
    /** The units of positiveWhole. */
    units: { days: "days", snapshots: "snapshots", backups: "backups" },
    defaultHint: (p: { key: string; n: number }) => `set ${p.key}=${p.n} in .env.prod, or remove it for the default`,
    tierHint: (p: { key: string; n: number }) => `set ${p.key}=${p.n} in .env.prod, or remove it to use BACKUP_SNAPSHOT_KEEP`,
    notRecipient: (p: { start: string }) => `.env.prod: BACKUP_AGE_RECIPIENTS holds ${p.start}, which is not an age recipient (age1…)`,
    notRecipientHint: "generate a key pair with age-keygen; the recipient is its public key",
    notAgeKey: "the backup encryption key is not an age secret key (AGE-SECRET-KEY-1…)",
    notAgeKeyHint: "generate one with age-keygen",
    offsiteNeeds: (p: { key: string }) => `.env.prod: ${p.key} is needed when OFFSITE_S3_BUCKET is set`,
    partMb: ".env.prod: OFFSITE_S3_PART_MB must be a whole number of at least 5 (S3's smallest part)",
    bucket: ".env.prod: OFFSITE_S3_BUCKET is not a valid bucket name (3-63 lower-case letters, digits, dots and hyphens)",
    prefix: ".env.prod: OFFSITE_S3_PREFIX must be path segments of letters, digits, '.', '_' and '-' (no '..', no empty segment)",
    endpointNotUrl: ".env.prod: OFFSITE_S3_ENDPOINT is not a URL",
    endpointOrigin: ".env.prod: OFFSITE_S3_ENDPOINT must be an http(s) origin such as https://s3.amazonaws.com (no user, path, query or #)",
  },
  /** lib/project/stack.ts: the compose file(s). */
  stack: {
    unreadableVolume: (p: { entry: string }) => `unreadable volume entry in the compose file: ${p.entry}`,
    notMapping: "the compose file is not a YAML mapping",
    fileNotFound: (p: { file: string }) => `compose file ${p.file} not found`,
    noRole: (p: { label: string; role: string }) => `no service with label ${p.label}=${p.role} in the compose file`,
  },
  /** lib/project/release.ts: what runs now. */
  release: {
    notRunning: (p: { service: string }) => `service ${p.service} is not running`,
    notRunningHint: (p: { service: string }) => `start it: docker compose -f docker-compose.prod.yml up -d ${p.service}`,
    leftStopped: (p: { services: readonly string[] }) =>
      `${p.services.join(", ")} ${p.services.length === 1 ? "was" : "were"} not running (left stopped by a run that died?): starting ${p.services.length === 1 ? "it" : "them"} first`,
  },
  /** lib/project/serving.ts: which backend nginx sends requests to. */
  serving: {
    nginxRefuses: (p: { file: string; host: string; reason: string | undefined }) =>
      `nginx refuses its configuration with ${p.file} naming ${p.host}: ${p.reason}`,
    nginxRefusesHint:
      "the previous file was put back; check nginx/nginx.conf and the nginx service's mounts (nginx/live must be mounted at /etc/nginx/live)",
    reconciled: (p: { container: string; service: string }) =>
      `nginx named backend container ${p.container}, which does not run: pointed back at the ${p.service} service`,
  },
  /** lib/project/health.ts: the steps that prove the stack healthy. */
  health: {
    everyServiceUp: "every service up and healthy",
    throughNginx: "GET /health through nginx",
  },
  infra: {
    /** lib/infra/compose-client.ts */
    compose: {
      dockerUnreachable: "the Docker engine is not reachable",
      dockerUnreachableHint: "start it (systemctl start docker) and check `docker info`",
      composeMissing: "Docker Compose was not found (neither `docker compose` nor `docker-compose`)",
      composeMissingHint: "install the Compose v2 plugin (package docker-compose-plugin or docker-compose ≥ 2)",
      logsHint: (p: { services: string }) => `see \`docker compose logs ${p.services}\` for the cause`,
      logsHintAny: "see `docker compose logs <service>` for the cause",
      notHealthyIn: (p: { service: string; secs: number }) => `service ${p.service} did not become healthy in ${p.secs} s`,
      inspectHint: (p: { service: string }) => `inspect with \`docker compose logs ${p.service}\``,
      servicesNotRunning: (p: { services: string }) => `services not running: ${p.services}`,
      servicesNotHealthy: (p: { services: string }) => `services not healthy: ${p.services}`,
      notRunning: (p: { service: string }) => `service ${p.service} is not running`,
      noContainer: (p: { service: string }) => `service ${p.service} has no container`,
      startHint: (p: { service: string }) => `start it: docker compose up -d ${p.service}`,
    },
    /** lib/infra/notify.ts */
    notify: {
      webhookStatus: (p: { status: number }) => `webhook answered HTTP ${p.status}`,
      webhookUnreachable: (p: { reason: string }) => `webhook could not be reached: ${p.reason}`,
    },
    /** lib/infra/s3.ts */
    s3: {
      timedOut: (p: { method: string }) => `S3 ${p.method} timed out`,
      put: (p: { key: string; reason: string }) => `PUT ${p.key}: ${p.reason}`,
      head: (p: { key: string; status: number }) => `HEAD ${p.key}: HTTP ${p.status}`,
      tooLarge: (p: { size: number; parts: number }) => `a file of ${p.size} bytes does not fit in ${p.parts} parts of at most 5 GiB`,
      createMultipart: (p: { key: string; reason: string }) => `POST ${p.key}?uploads: ${p.reason}`,
      putPart: (p: { key: string; part: number; reason: string }) => `PUT ${p.key} part ${p.part}: ${p.reason}`,
      complete: (p: { key: string; reason: string }) => `complete ${p.key}: ${p.reason}`,
    },
  },
  /** lib/commands: refusals of the pure command builders. */
  commands: {
    docker: { inspectNoContainer: "docker inspect returned no container" },
    htpasswd: { badUser: (p: { user: string }) => `not a basic-auth user name: ${p.user}` },
    nginx: { notContainerName: (p: { host: string }) => `not a container name: ${p.host}` },
    postgres: {
      notSnapshotTag: (p: { tag: string }) => `internal: ${p.tag} is not a snapshot tag`,
      collidesRestore: (p: { db: string }) => `the database name ${p.db} collides with a restore's working name`,
      collidesSnapshot: (p: { db: string }) => `the database name ${p.db} collides with an in-place snapshot's name`,
    },
    redis: { unexpectedFileName: (p: { name: string }) => `redis: unexpected file name ${p.name} in the server's configuration` },
    volume: {
      notSnapshotTag: (p: { tag: string }) => `internal: ${p.tag} is not a snapshot tag`,
      noFingerprint: (p: { output: string }) => `could not read the data's fingerprint: ${p.output}`,
      noStats: (p: { output: string }) => `could not read volume statistics: ${p.output}`,
    },
  },
};
