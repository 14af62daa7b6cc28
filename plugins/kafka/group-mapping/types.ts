/**
 * The contract between the group-id mapping (who writes and reads `clientHost-clientId -> group`
 * in the metadata store) and the fetch path that labels consumption with the group. The fetch
 * path never waits: it asks, and is told later when an answer it could not have yet arrives.
 */

/** A client as a broker sees it: its IP address without the port, and its client id. */
export interface ClientKey {
  readonly clientHost: string;
  /** '' for a client that sent none. */
  readonly clientId: string;
}

export interface GroupResolver {
  /**
   * The group whose consumption a fetch of `topic`/`partition` by `client` is: a group id; null
   * for a client that belongs to no group (a consumer using assign()); undefined while the
   * answer is not known yet (it is being looked up, or the mapping is missing for a client
   * known to belong to a group): the caller keeps the count aside and asks again on `onChange`.
   * Synchronous and cheap: called for every fetched partition.
   */
  groupOf(
    client: ClientKey,
    connectionId: number,
    topic: string,
    partition: number,
  ): string | null | undefined;
  /** Called when answers for `client` may have changed (a lookup completed, a node changed). */
  onChange(listener: (client: ClientKey) => void): () => void;
  /** A connection closed (the `kop` policy forgets what it cached for it, and may delete). */
  connectionClosed(client: ClientKey, connectionId: number): void;
}

/** Until the mapping is built: every fetch is a consumer without a group. */
export const NO_GROUPS: GroupResolver = {
  groupOf: () => null,
  onChange: () => () => undefined,
  connectionClosed: () => undefined,
};
