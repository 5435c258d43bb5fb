/**
 * How a long-running task (gateway:start, index:sync --follow) waits: until SIGINT or SIGTERM, or until
 * `requestShutdown()` (tests, or a program that runs the task in-process).
 */
const waiting = new Set<() => void>();

export function waitForShutdown(): Promise<string> {
  return new Promise((resolve) => {
    const done = (reason: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      waiting.delete(onRequest);
      resolve(reason);
    };
    const onInt = () => done("SIGINT");
    const onTerm = () => done("SIGTERM");
    const onRequest = () => done("requested");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
    waiting.add(onRequest);
  });
}

/** Ends every task waiting in `waitForShutdown`. */
export function requestShutdown(): void {
  for (const stop of [...waiting]) stop();
}
