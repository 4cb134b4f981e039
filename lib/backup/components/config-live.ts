/**
 * The project tree a config restore writes into, checked before anything is written
 * (checkLiveTree): never through a directory link that leads out of the project.
 */
import { lstatSync, realpathSync, type Stats, statSync } from "node:fs";
import { join, sep } from "node:path";
import { PreconditionError } from "../../core/errors.ts";
import { msg } from "../../core/i18n/index.ts";
import { errorCode } from "./archive-rules.ts";

/** Pure: a real path is the directory itself or below it. */
const within = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);

/**
 * The live side of a restore: from the project root down to each file, every directory on
 * the way is a directory, or a symlink whose real path stays inside the project (else a
 * write would land outside it); the file itself is not a directory (a symlink there is
 * replaced, not followed). PreconditionError naming the path; nothing is touched.
 */
export function checkLiveTree(root: string, rels: readonly string[]): void {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (e) {
    throw new PreconditionError(msg.components.config.rootUnresolved({ root, code: errorCode(e) }));
  }
  const checked = new Set<string>();
  for (const rel of rels) {
    const segs = rel.split("/");
    for (let i = 1; i <= segs.length; i++) {
      const sub = segs.slice(0, i).join("/");
      const leaf = i === segs.length;
      if (!leaf && checked.has(sub)) continue;
      let st: Stats;
      try {
        st = lstatSync(join(root, sub));
      } catch (e) {
        if (errorCode(e) === "ENOENT") break; // created by the restore, as is everything below it
        throw new PreconditionError(msg.components.config.cannotInspect({ sub, code: errorCode(e), rel }));
      }
      if (leaf) {
        if (st.isDirectory()) throw new PreconditionError(msg.components.config.isDirectory({ rel }));
        break;
      }
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = realpathSync(join(root, sub));
        } catch (e) {
          throw new PreconditionError(msg.components.config.danglingLink({ sub, code: errorCode(e) }), msg.components.config.linkHint);
        }
        if (!within(real, realRoot))
          throw new PreconditionError(msg.components.config.linkOutside({ sub, real, root: realRoot }), msg.components.config.linkHint);
        st = statSync(real);
      }
      if (!st.isDirectory()) throw new PreconditionError(msg.components.config.notDirectory({ sub, rel }));
      checked.add(sub);
    }
  }
}
