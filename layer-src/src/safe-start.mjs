/**
 * Runs the tracing set-up so that it can never stop the function: any error is reported in one
 * line on stderr (the function's log) and the handler then runs untraced.
 * @param {() => Promise<unknown>} start
 * @param {(line: string) => void} [report]
 * @returns {Promise<boolean>} whether tracing started
 */
export async function safeStart(start, report = (line) => process.stderr.write(`${line}\n`)) {
  try {
    await start();
    return true;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    report(`[otel-preload] tracing disabled, the function runs untraced: ${reason}`);
    return false;
  }
}
