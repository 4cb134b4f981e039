/**
 * A restore's steps that ask every component in the plan the same thing, through the
 * registry: which keep their snapshot in place, which have nothing to restore, their own
 * checks, their prepares, and which an unfinished snapshot still holds.
 */
import type { ComponentContext, PreparedRestore } from "../backup/components/component.ts";
import type { OpenedBackup } from "../backup/encryption.ts";
import { type ComponentName, KEPT_COMPONENTS } from "../backup/manifest.ts";
import { REGISTRY } from "../backup/registry.ts";
import { settleAll } from "../core/async.ts";
import { localized, msg } from "../core/i18n/index.ts";
import type { RestorePlan } from "./plan.ts";
import type { RestoreOutcome } from "./restore-outcome.ts";
import type { Registry, Unfinished } from "./restore-ports.ts";

/** The components whose pre-restore snapshot is kept in place (renamed, not copied) on this set-up. */
export function keptInPlace(here: ComponentContext, components: readonly ComponentName[], registry: Registry = REGISTRY): ComponentName[] {
  if (!here.project.config.snapshotInPlace()) return [];
  return components.filter((c) => KEPT_COMPONENTS.includes(c) && registry[c].freeze && (registry[c].canKeep?.(here) ?? true));
}

/**
 * An in-place snapshot whose restore died before replacing a component holds that
 * component's state in the live data itself: nothing to restore for it ("skipped", said).
 */
export async function withoutUnmoved(
  ctx: ComponentContext,
  registry: Registry,
  plan: RestorePlan,
  opened: OpenedBackup,
  results: RestoreOutcome["results"],
): Promise<RestorePlan> {
  const unmoved = new Set<ComponentName>();
  await settleAll(
    plan.components.map(async (c) => {
      const rec = opened.manifest.components[c]!;
      if (rec.kept && (await registry[c].unmoved?.(ctx, rec))) unmoved.add(c);
    }),
  );
  for (const c of unmoved) {
    results[c] = "skipped";
    ctx.out.info(msg.restore.apply.unmoved({ component: c, why: msg.components.common.unmoved }));
  }
  return unmoved.size ? { ...plan, components: plan.components.filter((c) => !unmoved.has(c)) } : plan;
}

/** Each component's own pre-restore check of its (decrypted) artifacts and of the live side: nothing touched yet. */
export async function checkComponents(ctx: ComponentContext, registry: Registry, plan: RestorePlan, opened: OpenedBackup): Promise<void> {
  for (const c of plan.components) await registry[c].check?.(ctx, opened.manifest.components[c]!);
}

/** The components this run keeps in an unfinished snapshot: in place there, and never moved aside. */
export async function adoptable(
  here: ComponentContext,
  registry: Registry,
  inPlace: readonly ComponentName[],
  adopt: Unfinished | undefined,
): Promise<Set<ComponentName>> {
  const got = new Set<ComponentName>();
  if (!adopt) return got;
  const ctx: ComponentContext = { ...here, dir: adopt.dir };
  for (const c of inPlace) {
    const rec = adopt.manifest.components[c];
    if (rec?.kept && (await registry[c].unmoved?.(ctx, rec).catch(() => false))) got.add(c);
  }
  if (got.size) here.out.info(msg.restore.apply.adopted({ components: [...got].join(", "), id: adopt.manifest.id }));
  return got;
}

/** Each component's prepare (what touches no live data), at the same time; a failure is that component's. */
export async function prepareComponents(
  ctx: ComponentContext,
  registry: Registry,
  plan: RestorePlan,
  opened: OpenedBackup,
  results: RestoreOutcome["results"],
  prepared: Map<ComponentName, PreparedRestore>,
  tagOf: (c: ComponentName) => string,
): Promise<void> {
  await settleAll(
    plan.components.flatMap((c) => {
      const prepare = registry[c].prepare;
      if (!prepare) return [];
      return [
        ctx.out
          .step(
            localized((t) => t.restore.apply.prepareStep({ component: c })),
            () => prepare(ctx, opened.manifest.components[c]!, tagOf(c)),
          )
          .then(
            (p) => void prepared.set(c, p),
            (e: unknown) => {
              results[c] = "failed";
              throw e;
            },
          ),
      ];
    }),
  );
}
