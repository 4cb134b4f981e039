/**
 * Builds the local test images (no registry is reachable): a Debian bookworm minbase root
 * file system from debootstrap, `docker import`ed, then one image per role from
 * tests/stack/images/<role>/Dockerfile. Each image carries a hash of its recipe (its files
 * plus its parent's hash) in the label `claw.recipe`; an image is rebuilt only when that
 * hash changes.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { run } from "../../lib/core/exec.ts";

export const IMAGES_DIR = join(import.meta.dirname, "images");
export const REPO = "claw-test";
export const TAG = "local";
const ROOTFS_RECIPE = "debootstrap --variant=minbase bookworm http://deb.debian.org/debian v1";
/** Role images, all FROM base. */
export const ROLES = ["postgres", "redis", "etcd", "app", "nginx", "prometheus", "exporters"] as const;

export const imageRef = (name: string) => `${REPO}/${name}:${TAG}`;

function hashDir(dir: string, parent: string): string {
  const h = createHash("sha256").update(parent);
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(relative(dir, p)).update("\0").update(readFileSync(p)).update("\0");
    }
  };
  walk(dir);
  return h.digest("hex").slice(0, 16);
}

export function recipeHashes(): Record<string, string> {
  const rootfs = createHash("sha256").update(ROOTFS_RECIPE).digest("hex").slice(0, 16);
  const base = hashDir(join(IMAGES_DIR, "base"), rootfs);
  return { rootfs, base, ...Object.fromEntries(ROLES.map((r) => [r, hashDir(join(IMAGES_DIR, r), base)])) };
}

async function currentHash(name: string): Promise<string | undefined> {
  const r = await run(
    { argv: ["docker", "image", "inspect", "--format", '{{index .Config.Labels "claw.recipe"}}', imageRef(name)] },
    { allowFailure: true },
  );
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function buildRootfs(hash: string, log: (m: string) => void): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "claw-rootfs-"));
  try {
    log("debootstrap --variant=minbase bookworm (about 30 s) …");
    await run({ argv: ["debootstrap", "--variant=minbase", "bookworm", join(work, "root"), "http://deb.debian.org/debian"] }, { timeoutMs: 900_000 });
    const tarball = join(work, "rootfs.tar");
    await run({ argv: ["tar", "-C", join(work, "root"), "-c", "."] }, { stdoutFile: tarball, timeoutMs: 300_000 });
    await run(
      { argv: ["docker", "import", "--change", `LABEL claw.recipe=${hash}`, "-", imageRef("rootfs")] },
      { stdinFile: tarball, timeoutMs: 300_000 },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function buildRole(name: string, hash: string, parentArg: Record<string, string>): Promise<void> {
  const args = Object.entries(parentArg).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
  await run(
    { argv: ["docker", "build", "-q", "--label", `claw.recipe=${hash}`, ...args, "-t", imageRef(name), join(IMAGES_DIR, name)] },
    { timeoutMs: 1_200_000, hint: `rebuild by hand: docker build ${join(IMAGES_DIR, name)}` },
  );
}

/** Build what is missing or stale. Returns the names that were (re)built. */
export async function ensureImages(log: (m: string) => void = () => {}): Promise<string[]> {
  const hashes = recipeHashes();
  const built: string[] = [];
  if ((await currentHash("rootfs")) !== hashes.rootfs) {
    await buildRootfs(hashes.rootfs!, log);
    built.push("rootfs");
  }
  if ((await currentHash("base")) !== hashes.base) {
    log("building base …");
    await buildRole("base", hashes.base!, { ROOTFS: imageRef("rootfs") });
    built.push("base");
  }
  const stale: string[] = [];
  for (const r of ROLES) if ((await currentHash(r)) !== hashes[r]) stale.push(r);
  // Two builds at a time: each is mostly apt downloads and unpacking.
  const queue = [...stale];
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      log(`building ${r} …`);
      await buildRole(r, hashes[r]!, { BASE: imageRef("base") });
      built.push(r);
    }
  };
  await Promise.all([worker(), worker()]);
  return built;
}

/** Another release of the backend stand-in: the same image under another tag (APP_VERSION comes from the tag). */
export async function tagAppRelease(tag: string): Promise<string> {
  await run({ argv: ["docker", "tag", imageRef("app"), `${REPO}/app:${tag}`] });
  return `${REPO}/app:${tag}`;
}

/** A release whose /health answers 503 (its container never becomes healthy). */
export async function buildBrokenRelease(tag = "broken"): Promise<string> {
  const ref = `${REPO}/app:${tag}`;
  await run(
    { argv: ["docker", "build", "-q", "-t", ref, "-"] },
    { input: `FROM ${imageRef("app")}\nENV CLAW_TEST_BROKEN_HEALTH=1\n`, timeoutMs: 300_000 },
  );
  return ref;
}

/** The backend stand-in with extra Alembic revisions (file name → Python source): a new release's migrations. */
export async function buildAppWithRevisions(tag: string, revisions: Readonly<Record<string, string>>, from = imageRef("app")): Promise<string> {
  const ref = `${REPO}/app:${tag}`;
  const dir = mkdtempSync(join(tmpdir(), "claw-revisions-"));
  try {
    mkdirSync(join(dir, "versions"));
    for (const [name, text] of Object.entries(revisions)) writeFileSync(join(dir, "versions", name), text);
    writeFileSync(join(dir, "Dockerfile"), `FROM ${from}\nCOPY versions/ /app/alembic/versions/\n`);
    await run({ argv: ["docker", "build", "-q", "-t", ref, dir] }, { timeoutMs: 300_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return ref;
}
