/**
 * Servers and directories a test helper starts must not outlive the test process, even when it
 * ends abruptly (a failed hook, a timeout): children are killed and directories removed on exit.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let hookInstalled = false;

function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Kills `child` if it still runs when the process exits. */
export function killOnExit(child: ChildProcess): void {
  installHook();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Removes `dir` when the process exits (unless `removed` says it is gone already). */
export function removeOnExit(dir: string): void {
  installHook();
  dirs.add(dir);
}

/** The directory was removed already: nothing to do at exit. */
export function removed(dir: string): void {
  dirs.delete(dir);
}
