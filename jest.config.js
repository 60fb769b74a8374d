/** Jest runs the TypeScript sources through ts-jest. Kysely >= 0.29 ships ESM only,
 * so it was transformed too; 0.28, pinned for Node.js 20, ships CommonJS, and the pattern stays harmless. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/connectors', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  transformIgnorePatterns: ['/node_modules/(?!kysely/)'],
  testTimeout: 60000,
};
