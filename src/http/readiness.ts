/**
 * `/readyz`: whether the broker serves what it owns, for load balancers and orchestrators
 * (`/healthz` only says the process is alive). Ready once it has joined its cluster, with its
 * metadata session connected, not shutting down, and every protocol handler serving what it
 * owns (see ProtocolHandler.readiness).
 */

export interface ReadinessSources {
  shuttingDown(): boolean;
  /** The broker registered in its cluster and follows ownership. */
  joined(): boolean;
  /** The metadata store's session is connected (see ClusterView.connected). */
  metadataConnected(): boolean;
  handlers(): readonly {
    readonly protocolName: string;
    readiness?(): Promise<string[]>;
  }[];
}

export type ReadinessAnswer = { status: 'ready' } | { status: 'not ready'; reasons: string[] };

/**
 * The broker's own conditions come first: while one of them fails, what the handlers would say
 * is beside the point (they own nothing before joining, and are closing while shutting down).
 */
export async function checkReadiness(sources: ReadinessSources): Promise<ReadinessAnswer> {
  const reasons: string[] = [];
  if (sources.shuttingDown()) reasons.push('the broker is shutting down');
  else if (!sources.joined()) reasons.push('the broker has not joined its cluster yet');
  else if (!sources.metadataConnected()) {
    reasons.push('the metadata store session is disconnected');
  } else {
    for (const handler of sources.handlers()) {
      if (!handler.readiness) continue;
      try {
        for (const reason of await handler.readiness()) {
          reasons.push(`${handler.protocolName}: ${reason}`);
        }
      } catch (err) {
        reasons.push(`${handler.protocolName}: readiness check failed: ${(err as Error).message}`);
      }
    }
  }
  return reasons.length === 0 ? { status: 'ready' } : { status: 'not ready', reasons };
}
