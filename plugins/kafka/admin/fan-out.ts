/**
 * Answers that span the cluster: every live broker is asked for its own part (this one directly,
 * the others on their HTTP ports with `?scope=local`), and a broker that fails to answer is
 * reported rather than failing the whole answer.
 */
import type { HostContext } from '../../../src/api/index.js';
import type { BrokerError } from './answers.js';

/** A peer's part must come quickly: one slow broker delays the whole answer by this much. */
const PEER_TIMEOUT_MS = 5000;

export interface FannedOut<T> {
  /** By broker id, ascending. */
  answers: { brokerId: number; answer: T }[];
  errors: BrokerError[];
}

/**
 * `local` answers for this broker; `path` (with `?scope=local`) is asked of every other live
 * broker. This broker answers even before it shows in the live list (it is joining).
 */
export async function askEveryBroker<T>(
  host: HostContext,
  path: string,
  local: () => Promise<T>,
): Promise<FannedOut<T>> {
  const ids = new Set(host.cluster.liveBrokers().map((b) => b.brokerId)).add(host.brokerId);
  const result: FannedOut<T> = { answers: [], errors: [] };
  await Promise.all(
    [...ids].map(async (brokerId) => {
      try {
        const answer =
          brokerId === host.brokerId
            ? await local()
            : await host.peers.request<T>(brokerId, path, { timeoutMs: PEER_TIMEOUT_MS });
        result.answers.push({ brokerId, answer });
      } catch (err) {
        result.errors.push({ brokerId, error: (err as Error).message });
      }
    }),
  );
  result.answers.sort((a, b) => a.brokerId - b.brokerId);
  result.errors.sort((a, b) => a.brokerId - b.brokerId);
  return result;
}
