/** A broker in its own process, started from source, that tests can stop, kill -9 and restart. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export class BrokerProcess {
  private child?: ChildProcess;
  output = '';

  constructor(private readonly args: string[]) {}

  /** Starts the broker and resolves once it prints that it listens. */
  async start(timeoutMs = 20_000): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/helpers/broker-main.ts', ...this.args],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Logs stay in `output` for the test to read; nothing is printed.
        env: { ...process.env, KOPPA_LOG_LEVEL: 'info' },
      },
    );
    this.child = child;
    await new Promise<void>((resolveStart, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`broker did not start:\n${this.output}`)),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (this.output.includes('listening on')) {
          clearTimeout(timer);
          resolveStart();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`broker exited with ${code}:\n${this.output}`));
      });
    });
  }

  /** SIGSTOP / SIGCONT: the broker freezes (keeping its sockets open) and thaws. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Sends a signal and waits for the process to end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolveExit) =>
      child.once('exit', (code) => resolveExit(code)),
    );
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}
