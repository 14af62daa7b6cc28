import { defineConfig } from 'vitest/config';

/** Settings both projects share. */
const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks',
} as const;

export default defineConfig({
  test: {
    projects: [
      // Every test, the client tests against one broker.
      { test: { ...shared, name: 'koppa', include: ['test/**/*.test.ts'] } },
      // The client tests again against the three-broker standalone (`npm start`'s default).
      {
        test: {
          ...shared,
          name: 'clients-standalone',
          include: ['test/clients/**/*.test.ts'],
          // Already runs its own three brokers.
          exclude: ['test/clients/cluster-kafkajs.test.ts'],
          env: { KOPPA_TEST_BROKERS: '3' },
        },
      },
    ],
  },
});
