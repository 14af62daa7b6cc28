/**
 * One client connection: cuts frames, decodes headers, runs requests concurrently and writes
 * responses strictly in request order, as Kafka clients require. A malformed frame closes this
 * connection (with a logged reason) and nothing else. Reading pauses while too many requests,
 * or too many bytes of them, wait for their answers.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../../src/api/index.js';
import { CLOSE_CONNECTION, type ApiHandler, type RequestContext } from '../apis/api-handler.js';
import { encodeApiVersionsFallback } from '../apis/api-versions.js';
import {
  ApiKey,
  apiKeyNames,
  ErrorCode,
  apis,
  decodeRequestHeader,
  encodeResponseHeader,
  Reader,
  Writer,
} from '../protocol/index.js';
import { FrameDecoder } from './frame-decoder.js';
import type { RequestMetrics } from './request-metrics.js';

export interface ConnectionOptions {
  maxFrameSize: number;
  maxQueuedRequests: number;
  /** Request bytes held for unanswered requests before reading pauses. */
  maxQueuedBytes: number;
  connectionMaxIdleMs: number;
  handlers: ReadonlyMap<number, ApiHandler>;
  logger: Logger;
  logRequests: boolean;
  /** Aborted when the broker begins to stop, so that long polls answer at once. */
  stopSignal: AbortSignal;
  /** Told once when the connection has closed, for whatever reason (the group-id mapping). */
  onClose?: (closed: ClosedConnection) => void;
  /** Request durations and response error codes (connections are counted by the server). */
  metrics: RequestMetrics;
}

/** A connection that closed: who the client was, as its last request said. */
export interface ClosedConnection {
  connectionId: number;
  /** The client's IP address, without the port. */
  clientHost: string;
  /** The client id of its last request; '' when it sent none (or no request). */
  clientId: string;
}

/** A response still being computed (undefined), written bytes, nothing (null), or a close. */
type Answer = Buffer[] | null | typeof CLOSE_CONNECTION;

interface Slot {
  answer?: Answer;
  /** Size of the request frame, held until the answer is written. */
  requestBytes: number;
  apiKey: number;
  /** performance.now() when the request's frame was read: its duration ends with the write. */
  startedAt: number;
}

/** Largest response a Kafka size prefix can describe. */
const MAX_RESPONSE_BYTES = 0x7fffffff;

export class KafkaConnection {
  private readonly decoder: FrameDecoder;
  private readonly queue: Slot[] = [];
  /** Aborted when the connection closes or the broker stops; handed to requests. */
  private readonly requests = new AbortController();
  private readonly clientHost: string;
  private readonly logger: Logger;
  private readonly onStop = () => this.requests.abort();
  private idleTimer?: NodeJS.Timeout;
  private queuedBytes = 0;
  private paused = false;
  private lastClientId = '';

  constructor(
    private readonly socket: Socket,
    readonly id: number,
    private readonly listenerIndex: number,
    private readonly options: ConnectionOptions,
  ) {
    this.decoder = new FrameDecoder(options.maxFrameSize);
    this.clientHost = normalizeHost(socket.remoteAddress ?? '');
    this.logger = options.logger.child({
      connection: id,
      client: `${this.clientHost}:${socket.remotePort}`,
    });
    options.stopSignal.addEventListener('abort', this.onStop, { once: true });
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
    if (
      !this.paused &&
      (this.queue.length >= this.options.maxQueuedRequests ||
        this.queuedBytes >= this.options.maxQueuedBytes)
    ) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private onFrame(frame: Buffer): void {
    const startedAt = performance.now();
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
    const reader = new Reader(frame);
    let header;
    try {
      header = decodeRequestHeader(reader);
    } catch (err) {
      this.close('malformed request header', { err: (err as Error).message });
      return;
    }
    const { correlationId } = header;
    this.lastClientId = header.clientId ?? '';
    if (!versionServed) {
      // ApiVersions: answer in v0 format with UNSUPPORTED_VERSION so the client can downgrade.
      this.options.metrics.countError(apiKey, ErrorCode.UNSUPPORTED_VERSION);
      this.enqueue(
        Promise.resolve(encodeApiVersionsFallback(correlationId, this.options.handlers)),
        frame.length,
        apiKey,
        startedAt,
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
      listenerIndex: this.listenerIndex,
      signal: this.requests.signal,
      logger: this.logger,
    };
    if (this.options.logRequests) {
      this.logger.debug({ api: apiKeyNames[apiKey], apiVersion, correlationId }, 'request');
    }
    const handle = handler.handle as (r: unknown, c: RequestContext) => Promise<unknown>;
    const work = handle(request, context).then((response): Answer => {
      if (response === null || response === CLOSE_CONNECTION) return response;
      this.options.metrics.countResponseErrors(apiKey, response);
      const w = new Writer();
      encodeResponseHeader(w, apiKey, apiVersion, correlationId);
      (api.encodeResponse as (w: Writer, v: number, m: unknown) => void)(w, apiVersion, response);
      return w.finish();
    });
    this.enqueue(work, frame.length, apiKey, startedAt);
  }

  private enqueue(
    work: Promise<Answer>,
    requestBytes: number,
    apiKey: number,
    startedAt: number,
  ): void {
    const slot: Slot = { requestBytes, apiKey, startedAt };
    this.queue.push(slot);
    this.queuedBytes += requestBytes;
    work.then(
      (answer) => {
        slot.answer = answer;
        this.flush();
      },
      (err: unknown) => {
        // A handler failure we cannot express as a Kafka error: the client reconnects and retries.
        this.logger.error({ err, api: apiKeyNames[apiKey] }, 'request failed');
        this.close('request failed');
      },
    );
  }

  /** Writes every finished answer at the head of the queue, keeping request order. */
  private flush(): void {
    if (this.socket.destroyed) return;
    this.socket.cork();
    try {
      while (this.queue.length > 0 && this.queue[0].answer !== undefined) {
        const slot = this.queue.shift()!;
        this.queuedBytes -= slot.requestBytes;
        const answer = slot.answer;
        if (answer === CLOSE_CONNECTION) {
          this.options.metrics.requestDone(slot.apiKey, slot.startedAt);
          this.logger.info('closing connection after a failed acks=0 produce');
          this.socket.end();
          return;
        }
        if (answer) this.writeFrame(answer);
        // Written (or nothing to write, acks=0): the request's time ends here.
        this.options.metrics.requestDone(slot.apiKey, slot.startedAt);
      }
    } finally {
      this.socket.uncork();
    }
    if (
      this.paused &&
      this.queue.length < this.options.maxQueuedRequests &&
      this.queuedBytes < this.options.maxQueuedBytes
    ) {
      this.paused = false;
      this.socket.resume();
    }
    this.touch();
  }

  private writeFrame(chunks: Buffer[]): void {
    let size = 0;
    for (const c of chunks) size += c.length;
    if (size > MAX_RESPONSE_BYTES) {
      this.close('response too large for a Kafka frame', { bytes: size });
      return;
    }
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeInt32BE(size);
    this.socket.write(prefix);
    for (const c of chunks) this.socket.write(c);
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
    this.options.stopSignal.removeEventListener('abort', this.onStop);
    this.requests.abort();
    // Requests the close cut short (a long poll the client left, one whose handler failed) end
    // here: counted, so the request rate leaves none out.
    for (const slot of this.queue.splice(0)) {
      this.options.metrics.requestDone(slot.apiKey, slot.startedAt);
    }
    this.queuedBytes = 0;
    try {
      this.options.onClose?.({
        connectionId: this.id,
        clientHost: this.clientHost,
        clientId: this.lastClientId,
      });
    } catch (err) {
      this.logger.error({ err }, 'connection close listener failed');
    }
  }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`: the host as the client would name it. */
function normalizeHost(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
