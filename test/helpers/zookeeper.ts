/**
 * A real ZooKeeper 3.8 (Debian's `zookeeper` package) for tests: a standalone server as a plain
 * Java process on a free loopback port, with its own data directory, ready when `srvr` answers.
 *
 *   java -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
 *     org.apache.zookeeper.server.ZooKeeperServerMain zoo.cfg
 *
 * (zookeeper.jar's manifest names its dependency jars under /usr/share/java.) A short tick
 * (100 ms by default) lets sessions expire within a second or two when a test asks for a short
 * session timeout; the maximum session timeout stays at 60 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit, removed, removeOnExit } from './exit-cleanup.js';
import type { ZooKeeperMetadataStore } from '../../src/metadata/zk-store.js';

export const ZOOKEEPER_CLASSPATH = [
  '/usr/share/java/zookeeper.jar',
  '/usr/share/java/slf4j-simple.jar',
].join(':');

export interface ZooKeeperServer {
  /** `127.0.0.1:PORT`, for `zk:` urls and clients. */
  connectString: string;
  port: number;
  dataDir: string;
  /** Kills the server and removes its data directory. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server keeps its connections open but answers nothing. */
  pause(): void;
  resume(): void;
  /** The last lines the server logged, for failure messages. */
  logTail(): string;
}

export interface StartZooKeeperOptions {
  /** ZooKeeper's tick; sessions time out between 2 ticks and 60 s. Default 100 ms. */
  tickTimeMs?: number;
  /** How long to wait for `srvr` to answer. Default 30 s. */
  startTimeoutMs?: number;
}

export async function startZooKeeper(
  options: StartZooKeeperOptions = {},
): Promise<ZooKeeperServer> {
  if (!existsSync('/usr/share/java/zookeeper.jar')) {
    throw new Error('ZooKeeper is not installed: apt-get install zookeeper');
  }
  const tickTime = options.tickTimeMs ?? 100;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const dataDir = await mkdtemp(join(tmpdir(), 'koppa-zk-'));
  removeOnExit(dataDir);
  const port = await freePort();
  const configPath = join(dataDir, 'zoo.cfg');
  await writeFile(
    configPath,
    [
      `tickTime=${tickTime}`,
      `dataDir=${join(dataDir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr,stat,ruok',
      `minSessionTimeout=${2 * tickTime}`,
      'maxSessionTimeout=60000',
      'maxClientCnxns=0',
      // Test data: no 64 MB log preallocation, no fsync (a killed process loses nothing).
      'preAllocSize=1024',
      'forceSync=no',
      'autopurge.purgeInterval=0',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let log: string[] = [];
  let stopped = false;

  const launch = async (): Promise<void> => {
    log = [];
    const proc = spawn(
      'java',
      [
        '-Xms32m',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Djava.awt.headless=true',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-cp',
        ZOOKEEPER_CLASSPATH,
        'org.apache.zookeeper.server.ZooKeeperServerMain',
        configPath,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    killOnExit(proc);
    const collect = (chunk: Buffer): void => {
      log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (log.length > 200) log = log.slice(-200);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`ZooKeeper exited while starting:\n${log.join('\n')}`);
      }
      const answer = await fourLetterWord(port, 'srvr').catch(() => '');
      if (answer.includes('Mode: standalone')) return;
      if (Date.now() > deadline) {
        await kill();
        throw new Error(
          `ZooKeeper did not answer srvr within ${startTimeoutMs} ms:\n${log.join('\n')}`,
        );
      }
      await sleep(100);
    }
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await launch();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    removed(dataDir);
    throw err;
  }

  return {
    connectString: `127.0.0.1:${port}`,
    port,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      await rm(dataDir, { recursive: true, force: true });
      removed(dataDir);
    },
    async restart() {
      if (stopped) throw new Error('ZooKeeper was stopped');
      await kill();
      await launch();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    logTail: () => log.join('\n'),
  };
}

/** Sends a four-letter word (`srvr`, `ruok`, `stat`) and returns the answer. */
export function fourLetterWord(port: number, word: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`${word}: no answer`)));
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * Expires a store's ZooKeeper session now and waits until the store runs on a new one. The
 * session is closed on the server through its own connection (`killSession`), which is what
 * the server does when a session times out: its ephemeral nodes go and its connection drops;
 * the store reconnects, is told the session expired, and recovers.
 *
 * (A second client joining the session with its id and password and closing it races with the
 * store, which takes its session back at once; ZooKeeper 3.8 then sometimes keeps the store on
 * a connection to the closed session that never answers. To expire the session of a broker in
 * another process, pause that process past its session timeout instead.)
 */
export async function expireSession(
  store: ZooKeeperMetadataStore,
  timeoutMs = 10_000,
): Promise<void> {
  const before = store.sessionInfo().sessionId;
  store.killSession();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = store.sessionInfo();
    if (now.sessionId !== before && now.connected) return;
    if (Date.now() > deadline) {
      throw new Error(`the store did not open a new ZooKeeper session within ${timeoutMs} ms`);
    }
    await sleep(10);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
