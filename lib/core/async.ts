/** Small promise helpers shared by the engine and components. */

/**
 * Like Promise.all, but waits for every task before failing with the first error: a failed
 * task must not end the run while another still has a service stopped or a volume open.
 */
export async function settleAll<T>(tasks: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
