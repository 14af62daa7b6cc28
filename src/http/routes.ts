/**
 * What protocol handlers may add to the broker's HTTP port: JSON routes for the admin API. A
 * narrow surface over fastify, so handlers depend on the host's contract and not on fastify.
 */

export interface HttpRequest {
  /** Path parameters (`/admin/v1/groups/:group` gives `{ group }`), already URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** Query parameters; a repeated one keeps its last value. */
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The parsed JSON body of a POST; undefined for GET. */
  readonly body: unknown;
}

/** A JSON route: what it resolves to is sent as the JSON body with status 200. */
export type JsonHandler = (request: HttpRequest) => Promise<unknown>;

export interface HttpRoutes {
  get(path: string, handler: JsonHandler): void;
  post(path: string, handler: JsonHandler): void;
}

/** Thrown by a handler for an answer other than 200: `{ error: message }` with that status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
