// Whether a process still runs, for the files that name one: the engine installer's lock and a
// training's heartbeat.

/** Signal 0 checks without sending anything; EPERM means it runs under another user. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
