/**
 * Every interactive question lives here. Prompts appear only on a TTY; without one a
 * destructive command refuses unless -y was given. Cancelling is an error with its own
 * exit code (130), thrown so that cleanups still run.
 */
import * as clack from "@clack/prompts";
import { CancelledError, UsageError } from "./errors.ts";
import { msg } from "./i18n/index.ts";

export const isInteractive = () => Boolean(process.stdin.isTTY && process.stdout.isTTY);

export async function confirmOrRefuse(question: string, o: { yes: boolean; what: string }): Promise<void> {
  if (o.yes) return;
  if (!isInteractive()) {
    throw new UsageError(msg.core.prompts.refuseNoTty({ what: o.what }), msg.core.prompts.refuseNoTtyHint);
  }
  const answer = await clack.confirm({ message: question, initialValue: false, active: msg.core.prompts.yes, inactive: msg.core.prompts.no });
  if (clack.isCancel(answer) || answer !== true) throw new CancelledError(msg.core.prompts.cancelledNothingChanged({ what: o.what }));
}

export async function choose<T extends string>(message: string, options: Array<{ value: T; label: string; hint?: string }>): Promise<T> {
  if (!isInteractive()) throw new UsageError(msg.core.prompts.noTtyToChoose, msg.core.prompts.noTtyToChooseHint);
  const picked = await clack.select({ message, options: options as Parameters<typeof clack.select<T>>[0]["options"] });
  if (clack.isCancel(picked)) throw new CancelledError(msg.core.prompts.cancelledPlain);
  return picked as T;
}

/**
 * For what cannot be undone by a yes: -y is required, and on a TTY the operator also types
 * `expected` (a database name). Without a TTY, -y alone is the confirmation.
 */
export async function typeToConfirm(question: string, expected: string, o: { yes: boolean; what: string }): Promise<void> {
  if (!o.yes)
    throw new UsageError(msg.core.prompts.refuseWithoutYes({ what: o.what }), msg.core.prompts.refuseWithoutYesHint({ tty: isInteractive() }));
  if (!isInteractive()) return;
  const answer = await clack.text({ message: msg.core.prompts.typeToGoOn({ question, expected }) });
  if (clack.isCancel(answer) || answer !== expected) throw new CancelledError(msg.core.prompts.cancelledNothingChanged({ what: o.what }));
}

/**
 * One value typed by the operator (a secret is read without echo). Only on a TTY: callers
 * decide what to do without one. Empty is allowed only when `optional`.
 */
export async function ask(question: string, o: { secret?: boolean; optional?: boolean; initial?: string } = {}): Promise<string> {
  if (!isInteractive()) throw new UsageError(msg.core.prompts.noTtyToAsk({ question }));
  const validate = (v: string | undefined) => (o.optional || (v ?? "").trim() !== "" ? undefined : msg.core.prompts.required);
  const answer = o.secret
    ? await clack.password({ message: question, validate })
    : await clack.text({ message: question, validate, ...(o.initial ? { initialValue: o.initial } : {}) });
  if (clack.isCancel(answer)) throw new CancelledError(msg.core.prompts.cancelledPlain);
  return String(answer ?? "").trim();
}
