/**
 * GET /admin/v1/reconciler: the group-id mapping reconciler's latest passes on every broker (each
 * reconciles the groups it coordinates), newest last.
 */
import type { HttpRoutes, HostContext } from '../../../src/api/index.js';
import type { GroupIdLifecyclePolicy } from '../group-mapping/group-mapping.js';
import type { MappingReconciler, ReconcileRun } from '../group-mapping/reconciler.js';
import { iso, scopeOf, type BrokerError } from './answers.js';
import { askEveryBroker } from './fan-out.js';

/** A pass as the reconciler records it, with its start as an ISO string. */
export type ReconcilerRunEntry = Omit<ReconcileRun, 'startedAt'> & { startedAt: string };

/** One broker's reconciler (`?scope=local`). */
export interface LocalReconcilerAnswer {
  brokerId: number;
  policy: GroupIdLifecyclePolicy;
  /** False under the kop policy, or with groupIdReconcileIntervalMs -1. */
  enabled: boolean;
  /** groupIdReconcileIntervalMs */
  intervalMs: number;
  /** Its latest passes, oldest first. */
  runs: ReconcilerRunEntry[];
}

export interface ReconcilerAnswer {
  answeredBy: number;
  brokers: LocalReconcilerAnswer[];
  errors: BrokerError[];
}

export function addReconcilerRoutes(
  routes: HttpRoutes,
  host: HostContext,
  options: {
    policy: GroupIdLifecyclePolicy;
    intervalMs: number;
    reconciler: MappingReconciler | undefined;
  },
): void {
  const local = async (): Promise<LocalReconcilerAnswer> => ({
    brokerId: host.brokerId,
    policy: options.policy,
    enabled: options.reconciler !== undefined,
    intervalMs: options.intervalMs,
    runs: (options.reconciler?.recentRuns() ?? []).map((run) => ({
      ...run,
      startedAt: iso(run.startedAt)!,
    })),
  });

  routes.get(
    '/admin/v1/reconciler',
    async (request): Promise<LocalReconcilerAnswer | ReconcilerAnswer> => {
      if (scopeOf(request) === 'local') return local();
      const { answers, errors } = await askEveryBroker(
        host,
        '/admin/v1/reconciler?scope=local',
        local,
      );
      return { answeredBy: host.brokerId, brokers: answers.map((a) => a.answer), errors };
    },
  );
}
