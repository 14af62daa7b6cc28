/**
 * GET /admin/v1/reconciler: the group-id mapping reconciler's latest passes on every broker (each
 * reconciles the groups it coordinates), newest last.
 */
import type { HttpRoutes, HostContext } from '../../../src/api/index.js';
import type { GroupIdLifecyclePolicy } from '../group-mapping/group-mapping.js';
import type { MappingReconciler } from '../group-mapping/reconciler.js';
import { iso, scopeOf, type BrokerError } from './answers.js';
import { askEveryBroker } from './fan-out.js';

export interface ReconcilerRunEntry {
  startedAt: string;
  durationMs: number;
  repairs: number;
  corrections: number;
  orphansRemoved: number;
  /** The pass ran out of its budget of store operations (or the broker began shutting down). */
  stoppedEarly: boolean;
  errors: string[];
}

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
      startedAt: iso(run.startedAt)!,
      durationMs: run.durationMs,
      repairs: run.repairs,
      corrections: run.corrections,
      orphansRemoved: run.orphansRemoved,
      stoppedEarly: run.stoppedEarly,
      errors: [...run.errors],
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
