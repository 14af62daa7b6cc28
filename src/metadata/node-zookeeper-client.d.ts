/**
 * Types for the parts of node-zookeeper-client 1.1.3 (which ships none) that Koppa uses.
 * Longs (zxids, times, session ids) come back as 8-byte big-endian Buffers.
 */
declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  namespace zookeeper {
    interface Stat {
      czxid: Buffer;
      mzxid: Buffer;
      ctime: Buffer;
      mtime: Buffer;
      version: number;
      cversion: number;
      aversion: number;
      ephemeralOwner: Buffer;
      dataLength: number;
      numChildren: number;
      pzxid: Buffer;
    }

    interface Exception extends Error {
      code: number;
      getCode(): number;
      getName(): string;
      getPath(): string | undefined;
    }

    interface Event {
      type: number;
      name: string;
      path: string;
      getType(): number;
      getPath(): string;
    }

    interface State {
      name: string;
      code: number;
      getName(): string;
      getCode(): number;
    }

    type Watcher = (event: Event) => void;

    interface ClientOptions {
      sessionTimeout?: number;
      spinDelay?: number;
      retries?: number;
      sessionId?: Buffer;
      sessionPassword?: Buffer;
    }

    interface Client extends EventEmitter {
      connect(): void;
      close(): void;
      getState(): State;
      getSessionId(): Buffer;
      getSessionPassword(): Buffer;
      getSessionTimeout(): number;
      create(
        path: string,
        data: Buffer,
        mode: number,
        callback: (error: Exception | null, path: string) => void,
      ): void;
      remove(path: string, version: number, callback: (error: Exception | null) => void): void;
      exists(
        path: string,
        watcher: Watcher | undefined,
        callback: (error: Exception | null, stat: Stat | null) => void,
      ): void;
      getData(
        path: string,
        watcher: Watcher | undefined,
        callback: (error: Exception | null, data: Buffer | undefined, stat: Stat) => void,
      ): void;
      setData(
        path: string,
        data: Buffer,
        version: number,
        callback: (error: Exception | null, stat: Stat) => void,
      ): void;
      getChildren(
        path: string,
        watcher: Watcher | undefined,
        callback: (error: Exception | null, children: string[], stat: Stat) => void,
      ): void;
      /**
       * Internal: the connection manager, whose socket Koppa drops when the server goes silent,
       * and its watcher manager, whose dispatch Koppa guards.
       */
      connectionManager: {
        socket?: Socket;
        watcherManager: { emit(event: unknown): void };
      };
    }
  }

  const zookeeper: {
    createClient(connectionString: string, options?: zookeeper.ClientOptions): zookeeper.Client;
    CreateMode: {
      PERSISTENT: number;
      EPHEMERAL: number;
      PERSISTENT_SEQUENTIAL: number;
      EPHEMERAL_SEQUENTIAL: number;
    };
    State: {
      DISCONNECTED: zookeeper.State;
      SYNC_CONNECTED: zookeeper.State;
      AUTH_FAILED: zookeeper.State;
      CONNECTED_READ_ONLY: zookeeper.State;
      SASL_AUTHENTICATED: zookeeper.State;
      EXPIRED: zookeeper.State;
    };
    Event: {
      NODE_CREATED: number;
      NODE_DELETED: number;
      NODE_DATA_CHANGED: number;
      NODE_CHILDREN_CHANGED: number;
    };
    Exception: {
      /** Builds the error for a server error code; throws on codes newer than the library. */
      create(code: number, path?: string): zookeeper.Exception;
      OK: number;
      SYSTEM_ERROR: number;
      CONNECTION_LOSS: number;
      OPERATION_TIMEOUT: number;
      NO_NODE: number;
      BAD_VERSION: number;
      NO_CHILDREN_FOR_EPHEMERALS: number;
      NODE_EXISTS: number;
      NOT_EMPTY: number;
      SESSION_EXPIRED: number;
    };
  };

  export = zookeeper;
}
