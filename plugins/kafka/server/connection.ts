/**
 * One client connection: cuts frames, decodes headers, runs requests concurrently and writes
 * responses strictly in request order, as Kafka clients require. A malformed frame closes this
 * connection (with a logged reason) and nothing else.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../../src/api/index.js';
import type { ApiHandler, RequestContext } from '../apis/api-handler.js';
import {
  ApiKey,
  apiKeyNames,
  apis,
  decodeRequestHeader,
  encodeResponseHeader,
  Reader,
  Writer,
} from '../protocol/index.js';
import { FrameDecoder } from './frame-decoder.js';
import { encodeApiVersionsFallback } from '../apis/api-versions.js';

export interface ConnectionOptions {
  maxFrameSize: number;
  maxQueuedRequests: number;
  connectionMaxIdleMs: number;
  handlers: ReadonlyMap<number, ApiHandler>;
  logger: Logger;
  logRequests: boolean;
  /** Aborted when the broker begins to stop, so that long polls answer at once. */
  stopSignal: AbortSignal;
}

interface Slot {
  /** Encoded response, null for no response; undefined while still running. */
  response?: Buffer[] | null;
}

export class KafkaConnection {
  private readonly decoder: FrameDecoder;
  private readonly queue: Slot[] = [];
  private readonly closed = new AbortController();
  /** Given to requests: aborted by connection close or broker stop. */
  private readonly requestSignal: AbortSignal;
  private readonly clientHost: string;
  private readonly logger: Logger;
  private idleTimer?: NodeJS.Timeout;
  private paused = false;

  constructor(
    private readonly socket: Socket,
    readonly id: number,
    private readonly options: ConnectionOptions,
  ) {
    this.decoder = new FrameDecoder(options.maxFrameSize);
    this.requestSignal = AbortSignal.any([this.closed.signal, options.stopSignal]);
    this.clientHost = normalizeHost(socket.remoteAddress ?? '');
    this.logger = options.logger.child({
      connection: id,
      client: `${this.clientHost}:${socket.remotePort}`,
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.logger.debug({ err }, 'socket error'));
    socket.on('close', () => this.onClose());
    this.touch();
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.queue.length;
  }

  /** Closes this connection, logging why. */
  close(reason: string, details: Record<string, unknown> = {}): void {
    if (this.socket.destroyed) return;
    this.logger.warn({ ...details, reason }, 'closing connection');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.touch();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.close('bad frame', { err: (err as Error).message });
      return;
    }
    for (const frame of frames) {
      if (this.socket.destroyed) return;
      this.onFrame(frame);
    }
    if (this.queue.length >= this.options.maxQueuedRequests && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private onFrame(frame: Buffer): void {
    const reader = new Reader(frame);
    if (frame.length < 4) {
      this.close('malformed request header', { bytes: frame.length });
      return;
    }
    // Key and version come first in every header version: check them before the rest.
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const handler = this.options.handlers.get(apiKey);
    if (!handler) {
      this.close('unknown or unsupported api key', { apiKey, apiVersion });
      return;
    }
    const versionServed = apiVersion >= handler.minVersion && apiVersion <= handler.maxVersion;
    if (!versionServed && apiKey !== ApiKey.ApiVersions) {
      this.close('unsupported api version', { api: apiKeyNames[apiKey], apiVersion });
      return;
    }
    let header;
    try {
      header = decodeRequestHeader(reader);
    } catch (err) {
      this.close('malformed request header', { err: (err as Error).message });
      return;
    }
    const { correlationId } = header;
    if (!versionServed) {
      // ApiVersions: answer in v0 format with UNSUPPORTED_VERSION so the client can downgrade.
      this.enqueue(
        Promise.resolve(encodeApiVersionsFallback(correlationId, this.options.handlers)),
      );
      return;
    }
    const api = apis[apiKey as keyof typeof apis];
    let request: unknown;
    try {
      request = api.decodeRequest(reader, apiVersion);
    } catch (err) {
      this.close('malformed request', {
        api: apiKeyNames[apiKey],
        apiVersion,
        err: (err as Error).message,
      });
      return;
    }
    const context: RequestContext = {
      apiKey,
      apiVersion,
      correlationId,
      clientId: header.clientId,
      clientHost: this.clientHost,
      connectionId: this.id,
      signal: this.requestSignal,
      logger: this.logger,
    };
    if (this.options.logRequests) {
      this.logger.debug({ api: apiKeyNames[apiKey], apiVersion, correlationId }, 'request');
    }
    const work = (handler.handle as (r: unknown, c: RequestContext) => Promise<unknown>)(
      request,
      context,
    ).then((response) => {
      if (response === null) return null;
      const w = new Writer();
      encodeResponseHeader(w, apiKey, apiVersion, correlationId);
      (api.encodeResponse as (w: Writer, v: number, m: unknown) => void)(w, apiVersion, response);
      return w.finish();
    });
    this.enqueue(work, apiKey);
  }

  private enqueue(work: Promise<Buffer[] | null>, apiKey?: number): void {
    const slot: Slot = {};
    this.queue.push(slot);
    work.then(
      (response) => {
        slot.response = response;
        this.flush();
      },
      (err: unknown) => {
        // A handler failure we cannot express as a Kafka error: the client reconnects and retries.
        this.logger.error(
          { err, api: apiKey === undefined ? undefined : apiKeyNames[apiKey] },
          'request failed',
        );
        this.close('request failed');
      },
    );
  }

  /** Writes every finished response at the head of the queue, keeping request order. */
  private flush(): void {
    if (this.socket.destroyed) return;
    this.socket.cork();
    while (this.queue.length > 0 && this.queue[0].response !== undefined) {
      const chunks = this.queue.shift()!.response;
      if (!chunks) continue;
      let size = 0;
      for (const c of chunks) size += c.length;
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeInt32BE(size);
      this.socket.write(prefix);
      for (const c of chunks) this.socket.write(c);
    }
    this.socket.uncork();
    if (this.paused && this.queue.length < this.options.maxQueuedRequests) {
      this.paused = false;
      this.socket.resume();
    }
    this.touch();
  }

  private touch(): void {
    if (this.options.connectionMaxIdleMs < 0) return;
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => {
      if (this.queue.length === 0) this.close('idle', { idleMs: this.options.connectionMaxIdleMs });
      else this.touch();
    }, this.options.connectionMaxIdleMs);
    this.idleTimer.unref();
  }

  private onClose(): void {
    clearTimeout(this.idleTimer);
    this.closed.abort();
  }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`: the host as the client would name it. */
function normalizeHost(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
