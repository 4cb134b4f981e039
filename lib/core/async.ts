/** Small promise helpers shared by the engine and components. */
import { joinErrors } from "./errors.ts";

/**
 * Like Promise.all, but waits for every task before failing: a failed task must not end the
 * run while another still has a service stopped or a volume open. The first failure is the
 * error; the others are joined to it, never dropped.
 */
export async function settleAll<T>(tasks: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
  if (failed.length) throw joinErrors(failed[0], failed.slice(1));
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
