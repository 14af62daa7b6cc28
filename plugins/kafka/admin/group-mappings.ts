/**
 * GET /admin/v1/group-mappings[?group=<group>]: the group-id mapping as the metadata store holds
 * it (`<groupIdZooKeeperPath>/<clientHost>-<clientId>`): per client, each group's entry with the
 * broker that wrote it, when, its token and the assignment its coordinator published. Read from
 * the store (not a broker's cache), a bounded number of nodes at a time, without watches.
 */
import type { HttpRoutes, MetadataStore } from '../../../src/api/index.js';
import { decodeNode } from '../group-mapping/node-codec.js';
import { clientOfNodeName, nodePath } from '../group-mapping/node-name.js';
import type { TopicNamer } from '../topics/topic-names.js';
import { iso, topicNames } from './answers.js';
import type { AssignedTopic } from './groups.js';

/** Node reads in flight at once: a large mapping must not flood the store. */
const READ_CONCURRENCY = 16;

export interface MappingGroupEntry {
  groupId: string;
  /** The broker that wrote the entry (a FindCoordinator it answered, or a repair); -1 for KoP's. */
  writerBrokerId: number;
  /** When, by the writer's clock; null for KoP's plain-text values. */
  writtenAt: string | null;
  token: string;
  /** What the group's current assignment gives this client; null until published. */
  assigned: AssignedTopic[] | null;
}

export interface MappingNodeEntry {
  /** The node's name under the root. */
  node: string;
  /** Null for a name this encoding did not write. */
  clientHost: string | null;
  clientId: string | null;
  groups: MappingGroupEntry[];
}

export interface GroupMappingsAnswer {
  answeredBy: number;
  /** groupIdZooKeeperPath */
  root: string;
  nodes: MappingNodeEntry[];
}

export function addGroupMappingRoutes(
  routes: HttpRoutes,
  options: { brokerId: number; store: MetadataStore; root: string; namer: TopicNamer },
): void {
  const { brokerId, store, root, namer } = options;

  async function readNode(name: string, group: string | undefined) {
    const read = await store.get(nodePath(root, name), { watch: false });
    if (read === null) return null;
    const client = clientOfNodeName(name);
    const groups: MappingGroupEntry[] = [];
    for (const [groupId, entry] of decodeNode(read.value).groups) {
      if (group !== undefined && groupId !== group) continue;
      groups.push({
        groupId,
        writerBrokerId: entry.broker,
        writtenAt: entry.at > 0 ? iso(entry.at) : null,
        token: entry.token,
        assigned:
          entry.assigned === null
            ? null
            : [...entry.assigned].map(([topic, partitions]) => ({
                ...topicNames(namer, topic),
                partitions: [...partitions],
              })),
      });
    }
    if (group !== undefined && groups.length === 0) return null;
    return {
      node: name,
      clientHost: client?.clientHost ?? null,
      clientId: client?.clientId ?? null,
      groups,
    };
  }

  routes.get('/admin/v1/group-mappings', async (request): Promise<GroupMappingsAnswer> => {
    const group = request.query.group;
    const names = await store.children(root, { watch: false });
    const nodes: MappingNodeEntry[] = [];
    for (let i = 0; i < names.length; i += READ_CONCURRENCY) {
      const read = await Promise.all(
        names.slice(i, i + READ_CONCURRENCY).map((name) => readNode(name, group)),
      );
      for (const node of read) if (node) nodes.push(node);
    }
    return { answeredBy: brokerId, root, nodes };
  });
}
